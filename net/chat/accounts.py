"""The identification file: users known by name and IP address, their
salted slow password hashes, and session tokens.

A SQLite database in the data directory, owner-only. Passwords are stored
only as argon2id hashes (OWASP's parameters: 19 MiB, t=2, p=1), tokens
only as SHA-256 digests. Neither ever reaches a log. Hashes run on the
server's ``HashQueue`` (a few at once, fair between addresses), never
under the database lock. What one account can make the file keep is
bounded: its newest sessions and addresses only.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from net.chat.hashing import HashQueue
from net.chat.names import skeleton
from net.chat.protocol import name_key
from net.datadir import Store

log = logging.getLogger("netdesk.accounts")

TOKEN_TTL = 7 * 24 * 3600
HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)

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
CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions (user_id, expires);
CREATE INDEX IF NOT EXISTS addresses_by_user ON addresses (user_id, last_seen);
"""


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class BadPassword(Exception):
    pass


class Refused(Exception):
    """A new account was not made; ``code`` is the protocol's error code."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Login:
    name: str  # as registered
    new_account: bool


class Accounts:
    """The identification file. Safe to call from any thread.

    Database errors (a full disk, a read-only folder) come out as
    ``sqlite3.Error``; the server answers them with ``server_error``.
    """

    def __init__(self, path: Path, token_ttl: float = TOKEN_TTL,
                 hashes: HashQueue | None = None, sessions_per_account: int = 20,
                 addresses_per_account: int = 50):
        self.path = Path(path)
        self.token_ttl = token_ttl
        self.hashes = hashes
        self.sessions_per_account = sessions_per_account
        self.addresses_per_account = addresses_per_account
        self._store = Store(self.path, SCHEMA, "foreign_keys=ON")
        self._migrate()

    def _migrate(self) -> None:
        """Files from before v1.1 lack the skeleton column: add and fill it."""
        with self._store.read() as db:
            columns = {row[1] for row in db.execute("PRAGMA table_info(users)")}
        if "skeleton" in columns:
            return
        with self._store.write() as db:
            db.execute("ALTER TABLE users ADD COLUMN skeleton TEXT")
            for user_id, name in db.execute("SELECT id, name FROM users").fetchall():
                db.execute("UPDATE users SET skeleton = ? WHERE id = ?", (skeleton(name), user_id))
            db.execute("CREATE INDEX IF NOT EXISTS users_by_skeleton ON users (skeleton)")

    def close(self) -> None:
        self._store.close()

    def check_file(self) -> bool:
        """Write the file back if it was deleted; False if that failed."""
        return self._store.check()

    def _hash(self, ip: str, fn: Callable[[], object]):
        return self.hashes.run(ip, fn) if self.hashes is not None else fn()

    # -- identification ------------------------------------------------------
    def known_name(self, ip: str) -> str | None:
        """The name last logged in from ``ip``, if any."""
        with self._store.read() as db:
            row = db.execute(
                "SELECT u.name FROM addresses a JOIN users u ON u.id = a.user_id "
                "WHERE a.ip = ? ORDER BY a.last_seen DESC LIMIT 1", (ip,)).fetchone()
        return row[0] if row else None

    def has_logged_in_from(self, name: str, ip: str) -> bool:
        """Has ``name`` logged in from ``ip`` before? (its owner's address)"""
        with self._store.read() as db:
            row = db.execute(
                "SELECT 1 FROM addresses a JOIN users u ON u.id = a.user_id "
                "WHERE u.name_key = ? AND a.ip = ?", (name_key(name), ip)).fetchone()
        return row is not None

    def login(self, name: str, password: str, ip: str,
              may_register: Callable[[str], str | None] = lambda name: None) -> Login:
        """Check a known name's password, or register an unknown name.

        ``name`` is already canonical (NFKC) and valid. ``may_register(name)``
        is asked before a new account is made and returns an error code to
        refuse it. Raises ``BadPassword`` or ``Refused``.
        """
        key = name_key(name)
        for _ in range(2):  # again only if someone registered, or cleared the file, meanwhile
            with self._store.read() as db:
                row = db.execute("SELECT id, name, password_hash FROM users "
                                 "WHERE name_key = ?", (key,)).fetchone()
            if row is None:
                self._may_create(name, may_register)
                new_hash = self._hash(ip, lambda: HASHER.hash(password))
                try:
                    with self._store.write() as db:
                        cur = db.execute(
                            "INSERT INTO users (name, name_key, password_hash, created, skeleton) "
                            "VALUES (?, ?, ?, ?, ?)",
                            (name, key, new_hash, _now_iso(), skeleton(name)))
                        self._seen(db, cur.lastrowid, ip)
                except sqlite3.IntegrityError:
                    continue
                return Login(name, True)
            user_id, stored_name, stored_hash = row
            if not self._hash(ip, lambda h=stored_hash: _verify(h, password)):
                raise BadPassword
            rehash = HASHER.check_needs_rehash(stored_hash)
            new_hash = self._hash(ip, lambda: HASHER.hash(password)) if rehash else None
            with self._store.write() as db:
                if db.execute("SELECT 1 FROM users WHERE id = ?", (user_id,)).fetchone() is None:
                    continue  # the file was cleared while we hashed: the name is free again
                if new_hash is not None:
                    db.execute("UPDATE users SET password_hash = ? WHERE id = ?",
                               (new_hash, user_id))
                self._seen(db, user_id, ip)
            return Login(stored_name, False)
        raise BadPassword  # pragma: no cover - two races in a row

    def taken(self, name: str) -> bool:
        """Is ``name``, or a name that looks like it (its skeleton), an account?"""
        with self._store.read() as db:
            return db.execute("SELECT 1 FROM users WHERE skeleton = ? LIMIT 1",
                              (skeleton(name),)).fetchone() is not None

    def _may_create(self, name: str, may_register: Callable[[str], str | None]) -> None:
        with self._store.read() as db:
            similar = db.execute("SELECT name FROM users WHERE skeleton = ? LIMIT 1",
                                 (skeleton(name),)).fetchone()
        if similar is not None:
            raise Refused("name_too_similar")
        code = may_register(name)
        if code:
            raise Refused(code)

    def _seen(self, db: sqlite3.Connection, user_id: int, ip: str) -> None:
        db.execute("UPDATE users SET last_login = ? WHERE id = ?", (_now_iso(), user_id))
        db.execute("INSERT INTO addresses (ip, user_id, last_seen) VALUES (?, ?, ?) "
                   "ON CONFLICT (ip, user_id) DO UPDATE SET last_seen = excluded.last_seen",
                   (ip, user_id, time.time()))
        db.execute("DELETE FROM addresses WHERE user_id = ? AND ip NOT IN (SELECT ip FROM "
                   "addresses WHERE user_id = ? ORDER BY last_seen DESC LIMIT ?)",
                   (user_id, user_id, self.addresses_per_account))

    # -- sessions ------------------------------------------------------------------
    def new_token(self, name: str) -> str:
        token = secrets.token_urlsafe(32)
        now = time.time()
        with self._store.write() as db:
            row = db.execute("SELECT id FROM users WHERE name_key = ?",
                             (name_key(name),)).fetchone()
            if row is None:  # cleared meanwhile: a token for nobody is no token
                return token
            db.execute("INSERT INTO sessions (token_hash, user_id, expires) VALUES (?, ?, ?)",
                       (_token_hash(token), row[0], now + self.token_ttl))
            db.execute("DELETE FROM sessions WHERE expires < ?", (now,))
            db.execute("DELETE FROM sessions WHERE user_id = ? AND token_hash NOT IN (SELECT "
                       "token_hash FROM sessions WHERE user_id = ? ORDER BY expires DESC "
                       "LIMIT ?)", (row[0], row[0], self.sessions_per_account))
        return token

    def token_user(self, token: str) -> str | None:
        """The user a valid token belongs to, or None. No password hash."""
        with self._store.read() as db:
            row = db.execute(
                "SELECT u.name FROM sessions s JOIN users u ON u.id = s.user_id "
                "WHERE s.token_hash = ? AND s.expires > ?",
                (_token_hash(token), time.time())).fetchone()
        return row[0] if row else None

    def seen(self, name: str, ip: str) -> bool:
        """Note that ``name`` logged in from ``ip``; False if the account is gone."""
        with self._store.write() as db:
            row = db.execute("SELECT id FROM users WHERE name_key = ?",
                             (name_key(name),)).fetchone()
            if row is not None:
                self._seen(db, row[0], ip)
        return row is not None

    def revoke(self, token: str) -> None:
        """``logout``: the token is no longer valid."""
        with self._store.write() as db:
            db.execute("DELETE FROM sessions WHERE token_hash = ?", (_token_hash(token),))

    # -- administration -------------------------------------------------------------
    def clear(self) -> int:
        """Forget every account, address and token. Returns how many users went."""
        with self._store.write() as db:
            count = db.execute("SELECT COUNT(*) FROM users").fetchone()[0]
            db.execute("DELETE FROM sessions")
            db.execute("DELETE FROM addresses")
            db.execute("DELETE FROM users")
        return count


def _verify(stored_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
