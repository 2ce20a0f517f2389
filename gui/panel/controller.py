"""The server controller as the control panel drives it: ``ServerController``
plus what a window needs to ask before a destructive command (how much it
would take away) and answers that name what they did.

Runs on the panel's control thread like every controller command, and
touches no widget. It sits in gui/ only because the layers put net.control
above every other net module; these methods belong in ``ServerController``
itself when that module next changes.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from net import datadir
from net.chat.server import USERS_FILE
from net.control.controller import ServerController


@dataclass(frozen=True)
class Impact:
    """What the destructive commands would take away right now.

    A count is None when it could not be read; the question then says
    "every" instead of a number."""

    running: bool
    online: int  # chat users logged in
    connections: int  # every open connection, echo included
    accounts: int | None  # in the identification file
    log_lines: int | None  # in the current log file


class PanelController(ServerController):
    def impact(self) -> Impact:
        with self._lock:
            status = self.status()
            return Impact(running=status.running, online=status.online,
                          connections=status.connections, accounts=self.account_count(),
                          log_lines=self.log_line_count())

    def account_count(self) -> int | None:
        """Accounts in the identification file, read without creating it."""
        path = self.data_dir / USERS_FILE
        if not path.exists():
            return 0
        try:
            db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        except sqlite3.Error:
            return None
        try:
            return int(db.execute("SELECT COUNT(*) FROM users").fetchone()[0])
        except sqlite3.Error:
            return None
        finally:
            db.close()

    def log_line_count(self) -> int | None:
        """Lines in the current log file (rotated older files are not cleared)."""
        try:
            with open(datadir.log_path(self.data_dir), "rb") as f:
                return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 16), b""))
        except FileNotFoundError:
            return 0
        except OSError:
            return None

    def kick_user(self, name: str) -> tuple[str, bool]:
        """``kick`` that answers with the name, so the window can say who went."""
        return name, self.kick(name)
