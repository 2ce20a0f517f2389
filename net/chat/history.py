"""The chat's persistent message history: SQLite in WAL mode.

Public messages are served on ``welcome`` and in pages on request; a
private one is served to its two participants only. The next message id
is kept in the same transaction as the messages, so ids are never given
twice, even after the newest messages were trimmed. A retention cap
bounds the file.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from net.chat.protocol import name_key
from net.datadir import Store

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
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""


class HistoryStore:
    def __init__(self, path: Path, retention: int = DEFAULT_RETENTION):
        self.path = Path(path)
        self.retention = max(1, retention)
        # WAL with synchronous=NORMAL: a crash of the machine may lose the
        # last commits, never corrupt the file; a crash of netdesk loses
        # nothing. An fsync per batch would cap the rate at the disk's.
        self._store = Store(self.path, SCHEMA, "synchronous=NORMAL")
        self._migrate()

    def _migrate(self) -> None:
        """Files from before v1.1 lack the participants' keys: add and fill them."""
        with self._store.read() as db:
            columns = {row[1] for row in db.execute("PRAGMA table_info(messages)")}
        if "sender_key" in columns:
            return
        with self._store.write() as db:
            db.execute("ALTER TABLE messages ADD COLUMN sender_key TEXT")
            db.execute("ALTER TABLE messages ADD COLUMN recipient_key TEXT")
            rows = db.execute("SELECT id, sender, recipient FROM messages "
                              "WHERE recipient IS NOT NULL").fetchall()
            for i, sender, recipient in rows:
                db.execute("UPDATE messages SET sender_key = ?, recipient_key = ? WHERE id = ?",
                           (name_key(sender), name_key(recipient), i))
            db.execute("CREATE INDEX IF NOT EXISTS private_by_sender "
                       "ON messages (sender_key) WHERE recipient IS NOT NULL")
            db.execute("CREATE INDEX IF NOT EXISTS private_by_recipient "
                       "ON messages (recipient_key) WHERE recipient IS NOT NULL")

    def next_id(self) -> int:
        """The id the next message gets: above every id ever given."""
        with self._store.read() as db:
            newest = db.execute("SELECT COALESCE(MAX(id), 0) FROM messages").fetchone()[0]
            kept = db.execute("SELECT value FROM meta WHERE key = 'next_id'").fetchone()
        return max(newest + 1, kept[0] if kept else 1)

    def append(self, messages: list[dict], next_id: int) -> None:
        """Store ``message`` objects and the next id in one transaction.

        Raises ``sqlite3.Error`` (a full disk, a read-only file): then
        nothing of it was stored.
        """
        with self._store.write() as db:
            db.executemany(
                "INSERT INTO messages (id, sender, text, ts, recipient, sender_key, "
                "recipient_key) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(m["id"], m["from"], m["text"], m["ts"], m.get("to"),
                  name_key(m["from"]) if "to" in m else None,
                  name_key(m["to"]) if "to" in m else None) for m in messages])
            db.execute("INSERT INTO meta (key, value) VALUES ('next_id', ?) "
                       "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (next_id,))

    def trim(self) -> int:
        """Delete all but the newest ``retention`` messages; how many went."""
        with self._store.write() as db:
            cur = db.execute("DELETE FROM messages WHERE id <= (SELECT id FROM messages "
                             "ORDER BY id DESC LIMIT 1 OFFSET ?)", (self.retention,))
            return cur.rowcount

    def page(self, limit: int, before: int | None = None, viewer: str | None = None,
             max_bytes: int | None = None) -> list[dict]:
        """The newest ``limit`` messages below ``before`` that ``viewer`` may see
        (public ones, and private ones they sent or got), oldest first; no more
        of them than fit in ``max_bytes`` as JSON, so a page of long messages
        full of escapes cannot make one reply many megabytes."""
        key = name_key(viewer) if viewer else ""
        with self._store.read() as db:
            rows = db.execute(
                "SELECT id, sender, text, ts, recipient FROM messages WHERE id < ? AND "
                "(recipient IS NULL OR sender_key = ? OR recipient_key = ?) "
                "ORDER BY id DESC LIMIT ?",
                (before if before is not None else 2**62, key, key, limit)).fetchall()
        page, size = [], 0
        for i, sender, text, ts, recipient in rows:  # newest first
            msg = {"type": "message", "id": i, "from": sender, "text": text, "ts": ts}
            if recipient is not None:
                msg["to"] = recipient
            if max_bytes is not None:
                size += len(json.dumps(msg, ensure_ascii=False).encode("utf-8", "replace")) + 1
                if size > max_bytes and page:
                    break
            page.append(msg)
        page.reverse()
        return page

    def count(self) -> int:
        with self._store.read() as db:
            return db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]

    def check_file(self) -> bool:
        return self._store.check()

    def close(self) -> None:
        self._store.close()
