"""Where netdesk keeps its files, and how they are created: owner-only.

One data directory holds the log, the identification database and the
window settings. It defaults to the platform's user data directory and
``--data-dir`` overrides it everywhere.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import os
import sqlite3
import sys
import threading
from pathlib import Path

import platformdirs

LOG_NAME = "netdesk.log"
LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
LOGGER = "netdesk"
_log = logging.getLogger("netdesk.datadir")


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

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        # The file cannot be written (a full disk, a deleted folder): the
        # operator must still see the line, so it goes to stderr instead.
        with contextlib.suppress(Exception):
            sys.stderr.write(f"netdesk (log file not writable): {self.format(record)}\n")
            sys.stderr.flush()

    def close(self) -> None:
        # Lines the disk refused are still buffered, and closing would try
        # them again and raise: they were shown on stderr already.
        try:
            super().close()
        except OSError:
            self.stream = None

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


class StoreError(OSError):
    """A data file cannot be opened or used; the message says which and why."""


def open_database(path: Path, schema: str, *pragmas: str) -> sqlite3.Connection:
    """An owner-only SQLite file in WAL mode, usable from any thread (the
    caller serialises access with a lock of its own), with ``schema`` applied.

    Raises ``StoreError`` (an OSError) naming the file when it cannot be
    opened, e.g. when it is not a database at all.
    """
    try:
        create_private(path)
    except OSError as e:
        raise StoreError(f"cannot create {path}: {e.strerror or e}") from None
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        for pragma in pragmas:
            db.execute(f"PRAGMA {pragma}")
        db.executescript(schema)
    except sqlite3.Error as e:
        db.close()
        raise StoreError(f"cannot use {path}: {e} (if it is damaged, move it away "
                         f"and netdesk starts a new one)") from None
    return db


class Store:
    """One SQLite data file, and what keeps it there while netdesk runs.

    A file deleted or replaced under a running server would otherwise take
    every later write with it: SQLite goes on writing to the unlinked
    inode. Before each write ``write()`` checks that the path still names
    the file it opened; if not, it writes the open database back to its
    path (``VACUUM INTO``, then an atomic rename) and goes on there, and
    the log says so. Reads and writes are serialised by ``lock``.
    """

    def __init__(self, path: Path, schema: str, *pragmas: str):
        self.path = Path(path)
        self._schema, self._pragmas = schema, pragmas
        self.lock = threading.RLock()
        self.db = open_database(self.path, schema, *pragmas)
        self._inode = self._stat()
        self._restore_failed = False

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_dev, st.st_ino)

    @contextlib.contextmanager
    def read(self):
        """``with store.read() as db``: the connection, under the lock."""
        with self.lock:
            yield self.db

    @contextlib.contextmanager
    def write(self):
        """``with store.write() as db``: one transaction, rolled back on error."""
        with self.lock:
            self.check()
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    self.db.execute("ROLLBACK")
                raise
            try:
                self.db.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    self.db.execute("ROLLBACK")
                raise

    def check(self) -> bool:
        """Put the file back if it was deleted or replaced; True if it is in place."""
        with self.lock:
            if self._stat() == self._inode and self._inode is not None:
                return True
            return self._restore()

    def _restore(self) -> bool:
        tmp = self.path.with_name(self.path.name + ".restore")
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            create_private(tmp)
            os.unlink(tmp)  # VACUUM INTO wants no file there; the name was checked writable
            self.db.execute("VACUUM INTO ?", (str(tmp),))
            os.chmod(tmp, 0o600)
        except (OSError, sqlite3.Error) as e:
            if not self._restore_failed:
                _log.error("%s was deleted or replaced while in use, and cannot be written "
                           "back (%s); going on with the open copy until it can",
                           self.path, e)
            self._restore_failed = True
            return False
        # Close first: closing removes the old file's -wal, which must never
        # be read as the journal of the new file.
        self.db.close()
        try:
            os.replace(tmp, self.path)
            self.db = open_database(self.path, self._schema, *self._pragmas)
        except OSError as e:  # the copy is complete: keep using it where it is
            _log.error("cannot put %s back (%s); using %s", self.path, e, tmp)
            self.path = tmp
            self.db = open_database(tmp, self._schema, *self._pragmas)
        self._inode = self._stat()
        self._restore_failed = False
        _log.error("%s was deleted or replaced while in use; its contents were written "
                   "back to it", self.path)
        return True

    def close(self) -> None:
        with self.lock:
            self.db.close()


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
