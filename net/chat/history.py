"""The chat's persistent message history: SQLite in WAL mode.

Public messages are served on ``welcome`` and in pages on request; private
ones are kept too (so ids stay strictly increasing across restarts) but
never appear in a public page. A retention cap bounds the file.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from net.datadir import open_database

log = logging.getLogger("netdesk.history")

DEFAULT_RETENTION = 100_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY,
    sender TEXT NOT NULL,
    text TEXT NOT NULL,
    ts TEXT NOT NULL,
    recipient TEXT            -- NULL for a public message
);
"""


class HistoryStore:
    def __init__(self, path: Path, retention: int = DEFAULT_RETENTION):
        self.path = Path(path)
        self.retention = max(1, retention)
        # WAL with synchronous=NORMAL: a crash may lose the last commits,
        # never corrupt the file; an fsync per chat line would cap the rate.
        self._db = open_database(self.path, SCHEMA, "synchronous=NORMAL")
        self._lock = threading.Lock()
        self._since_trim = 0

    def last_id(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COALESCE(MAX(id), 0) FROM messages").fetchone()[0]

    def append(self, msg: dict) -> None:
        """Store a ``message`` object (its ``to``, if any, marks it private)."""
        with self._lock:
            self._db.execute("INSERT INTO messages (id, sender, text, ts, recipient) "
                             "VALUES (?, ?, ?, ?, ?)",
                             (msg["id"], msg["from"], msg["text"], msg["ts"], msg.get("to")))
            self._since_trim += 1
            if self._since_trim >= 500:
                self._since_trim = 0
                self._db.execute(
                    "DELETE FROM messages WHERE id <= (SELECT id FROM messages "
                    "ORDER BY id DESC LIMIT 1 OFFSET ?)", (self.retention,))

    def page(self, limit: int, before: int | None = None) -> list[dict]:
        """The newest ``limit`` public messages below ``before``, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, sender, text, ts FROM messages WHERE recipient IS NULL "
                "AND id < ? ORDER BY id DESC LIMIT ?",
                (before if before is not None else 2**62, limit)).fetchall()
        return [{"type": "message", "id": i, "from": f, "text": t, "ts": ts}
                for i, f, t, ts in reversed(rows)]

    def count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()
