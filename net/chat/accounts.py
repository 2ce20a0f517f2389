"""The identification file: users known by name and IP address, their
salted slow password hashes, and session tokens.

A SQLite database in the data directory, owner-only. Passwords are stored
only as argon2id hashes (OWASP's parameters: 19 MiB, t=2, p=1), tokens
only as SHA-256 digests. Neither ever reaches a log. At most two hashes run
at once, so a burst of logins cannot eat the machine's memory.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import sqlite3
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from net.chat.protocol import name_key
from net.datadir import open_database

log = logging.getLogger("netdesk.accounts")

TOKEN_TTL = 7 * 24 * 3600
MAX_FAILURES, FAILURE_WINDOW = 5, 60.0
HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
_HASH_SLOTS = threading.BoundedSemaphore(2)

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,      -- casefolded: Alice and alice are one name
    password_hash TEXT NOT NULL,
    created TEXT NOT NULL,
    last_login TEXT
);
CREATE TABLE IF NOT EXISTS addresses (
    ip TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    last_seen REAL NOT NULL,
    PRIMARY KEY (ip, user_id)
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires REAL NOT NULL
);
"""


def hash_password(password: str) -> str:
    with _HASH_SLOTS:
        return HASHER.hash(password)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class BadPassword(Exception):
    pass


@dataclass(frozen=True)
class Login:
    name: str  # as registered
    new_account: bool


class Accounts:
    """The identification file. Safe to call from any thread."""

    def __init__(self, path: Path, token_ttl: float = TOKEN_TTL):
        self.path = Path(path)
        self.token_ttl = token_ttl
        self._db = open_database(self.path, SCHEMA, "foreign_keys=ON")
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- identification ------------------------------------------------------
    def known_name(self, ip: str) -> str | None:
        """The name last logged in from ``ip``, if any."""
        with self._lock:
            row = self._db.execute(
                "SELECT u.name FROM addresses a JOIN users u ON u.id = a.user_id "
                "WHERE a.ip = ? ORDER BY a.last_seen DESC LIMIT 1", (ip,)).fetchone()
        return row[0] if row else None

    def login(self, name: str, password: str, ip: str) -> Login:
        """Check a known name's password, or register an unknown name.

        Raises ``BadPassword``. The slow hash runs outside the database lock.
        """
        key = name_key(name)
        for _ in range(2):  # a second round only if someone registered meanwhile
            with self._lock:
                row = self._db.execute("SELECT id, name, password_hash FROM users "
                                       "WHERE name_key = ?", (key,)).fetchone()
            if row is None:
                new_hash = hash_password(password)
                try:
                    with self._lock:
                        cur = self._db.execute(
                            "INSERT INTO users (name, name_key, password_hash, created) "
                            "VALUES (?, ?, ?, ?)", (name, key, new_hash, _now_iso()))
                        user_id = cur.lastrowid
                except sqlite3.IntegrityError:
                    continue
                self._seen(user_id, ip)
                return Login(name, True)
            user_id, stored_name, stored_hash = row
            try:
                with _HASH_SLOTS:
                    HASHER.verify(stored_hash, password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                raise BadPassword from None
            if HASHER.check_needs_rehash(stored_hash):
                new_hash = hash_password(password)
                with self._lock:
                    self._db.execute("UPDATE users SET password_hash = ? WHERE id = ?",
                                     (new_hash, user_id))
            self._seen(user_id, ip)
            return Login(stored_name, False)
        raise BadPassword  # pragma: no cover - two races in a row

    def _seen(self, user_id: int, ip: str) -> None:
        with self._lock:
            self._db.execute("UPDATE users SET last_login = ? WHERE id = ?",
                             (_now_iso(), user_id))
            self._db.execute("INSERT INTO addresses (ip, user_id, last_seen) VALUES (?, ?, ?) "
                             "ON CONFLICT (ip, user_id) "
                             "DO UPDATE SET last_seen = excluded.last_seen",
                             (ip, user_id, time.time()))

    # -- sessions ------------------------------------------------------------------
    def new_token(self, name: str) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._db.execute(
                "INSERT INTO sessions (token_hash, user_id, expires) "
                "SELECT ?, id, ? FROM users WHERE name_key = ?",
                (_token_hash(token), time.time() + self.token_ttl, name_key(name)))
            self._db.execute("DELETE FROM sessions WHERE expires < ?", (time.time(),))
        return token

    def resume(self, token: str, ip: str) -> str | None:
        """The user a valid token belongs to, or None. No password hash."""
        with self._lock:
            row = self._db.execute(
                "SELECT u.id, u.name FROM sessions s JOIN users u ON u.id = s.user_id "
                "WHERE s.token_hash = ? AND s.expires > ?",
                (_token_hash(token), time.time())).fetchone()
        if row is None:
            return None
        self._seen(row[0], ip)
        return row[1]

    # -- administration -------------------------------------------------------------
    def clear(self) -> int:
        """Forget every account, address and token. Returns how many users went."""
        with self._lock:
            count = self._db.execute("SELECT COUNT(*) FROM users").fetchone()[0]
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM sessions")
            self._db.execute("DELETE FROM addresses")
            self._db.execute("DELETE FROM users")
            self._db.execute("COMMIT")
        return count


class AttemptLimiter:
    """Failed logins per name and per address in a sliding window (in memory)."""

    def __init__(self, limit: int = MAX_FAILURES, window: float = FAILURE_WINDOW):
        self.limit, self.window = limit, window
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._failures[key]
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def blocked(self, *keys: str) -> bool:
        now = time.monotonic()
        with self._lock:
            return any(len(self._recent(k, now)) >= self.limit for k in keys)

    def fail(self, *keys: str) -> bool:
        """Count a failure; True if that reaches the limit."""
        now = time.monotonic()
        with self._lock:
            hit = False
            for k in keys:
                q = self._recent(k, now)
                q.append(now)
                hit |= len(q) >= self.limit
            if len(self._failures) > 10_000:  # forget stale keys
                for k in [k for k, q in self._failures.items() if not self._recent(k, now)]:
                    del self._failures[k]
            return hit

    def succeed(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)
