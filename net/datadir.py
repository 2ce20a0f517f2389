"""Where netdesk keeps its files, and how they are created: owner-only.

One data directory holds the log, the identification database and the
window settings. It defaults to the platform's user data directory and
``--data-dir`` overrides it everywhere.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sqlite3
from pathlib import Path

import platformdirs

LOG_NAME = "netdesk.log"
LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
LOGGER = "netdesk"


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("netdesk", appauthor=False))


def ensure_data_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """Create the data directory (mode 0700) if needed and return it."""
    directory = Path(path) if path else default_data_dir()
    directory = directory.expanduser().resolve()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    # mkdir's mode is filtered by the umask and ignored for an existing
    # directory: make sure other users can't list our files either way.
    if os.name == "posix":
        os.chmod(directory, 0o700)
    return directory


def create_private(path: Path) -> None:
    """Create ``path`` empty and owner-only if it does not exist yet."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.close(fd)


def open_private(path: Path, mode: str = "a", encoding: str = "utf-8"):
    """open() that creates the file readable by its owner only."""
    flags = os.O_WRONLY | os.O_CREAT
    flags |= os.O_APPEND if "a" in mode else os.O_TRUNC
    return open(os.open(path, flags, 0o600), mode, encoding=encoding)  # noqa: SIM115


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log whose files, rotated ones included, are owner-only."""

    def _open(self):  # noqa: ANN202 - logging's own hook
        return open_private(Path(self.baseFilename), self.mode, self.encoding or "utf-8")

    def clear(self) -> None:
        """Empty the log file; the handler keeps writing to it.

        Reopened rather than truncated in place, so a log file someone
        deleted is created anew instead of being written into the void.
        """
        self.acquire()
        try:
            if self.stream is not None:
                self.stream.close()
            open_private(Path(self.baseFilename), "w").close()
            self.stream = self._open()
        finally:
            self.release()


def open_database(path: Path, schema: str, *pragmas: str) -> sqlite3.Connection:
    """An owner-only SQLite file in WAL mode, usable from any thread (the
    caller serialises access with a lock of its own), with ``schema`` applied."""
    create_private(path)
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
    db.execute("PRAGMA journal_mode=WAL")
    for pragma in pragmas:
        db.execute(f"PRAGMA {pragma}")
    db.executescript(schema)
    return db


def log_path(data_dir: Path) -> Path:
    return data_dir / LOG_NAME


def setup_logging(data_dir: Path, level: int | str = logging.INFO) -> PrivateRotatingFileHandler:
    """Send netdesk's log to a rotating file in the data directory.

    Returns the file handler so a caller can clear the log. Calling it again
    for the same directory reuses the handler instead of duplicating lines.
    """
    logger = logging.getLogger(LOGGER)
    path = str(log_path(data_dir))
    for handler in logger.handlers:
        if isinstance(handler, PrivateRotatingFileHandler) and handler.baseFilename == path:
            logger.setLevel(level)
            return handler
    handler = PrivateRotatingFileHandler(path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logger.addHandler(handler)
    logger.setLevel(level)
    return handler


def remove_logging(handler: logging.Handler) -> None:
    logging.getLogger(LOGGER).removeHandler(handler)
    handler.close()
