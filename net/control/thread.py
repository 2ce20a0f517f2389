"""The control thread: carries out command objects on a controller, one at
a time, off the caller's thread, and reports typed events; and the log
feed that hands each log record to a window as a ``LogLine``.

Stopping signals and returns: ``stop()`` queues the end after the commands
already queued and never waits, so a Tk thread can call it; the thread's
owner joins it later, off the event loop (``join``).
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections.abc import Callable

from net import datadir
from net.control import commands
from net.control.controller import ServerController
from net.control.events import Done, Failed, LogLine, Snapshot

log = logging.getLogger("netdesk.control")

Emit = Callable[[object], None]
_END = object()  # the last item of the command queue


class ControlThread:
    """``submit(command)`` queues ``controller.perform(command)``; what
    happened comes back through ``emit`` as ``Done(command, result)`` or
    ``Failed(command, message)``. After each command, and every
    ``interval`` seconds while the services run, it also emits a
    ``Snapshot``."""

    def __init__(self, controller: ServerController, emit: Emit, interval: float = 1.0):
        self.controller = controller
        self._emit = emit
        self.interval = interval
        self._commands: queue.Queue = queue.Queue()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="control", daemon=True)
        self._thread.start()

    def submit(self, command: commands.Command) -> None:
        """Queue one command; anything that is not one raises TypeError here."""
        commands.check(command)
        if self._stopping:
            raise RuntimeError("the control thread is stopping")
        self._commands.put(command)

    def stop(self) -> None:
        """Finish the commands queued, then end. Returns at once."""
        if not self._stopping:
            self._stopping = True
            self._commands.put(_END)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end (not on a Tk thread); True if it did."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    def _run(self) -> None:
        while True:
            try:
                command = self._commands.get(timeout=self.interval)
            except queue.Empty:
                if self.controller.running:
                    self._snapshot()
                continue
            if command is _END:
                return
            try:
                result = self.controller.perform(command)
            except (OSError, ValueError, sqlite3.Error) as e:
                self._emit(Failed(command, str(e)))
            except Exception as e:  # shown to the user, never swallowed
                log.exception("control: %s failed", type(command).__name__)
                self._emit(Failed(command, f"{type(e).__name__}: {e}"))
            else:
                self._emit(Done(command, result))
            if self.controller.running or isinstance(command, commands.Shutdown):
                self._snapshot()

    def _snapshot(self) -> None:
        self._emit(Snapshot(self.controller.status(), self.controller.clients()))


class QueueLogHandler(logging.Handler):
    """Hands each log record, formatted, to ``emit`` as a ``LogLine``."""

    def __init__(self, emit: Emit, level: int = logging.DEBUG):
        super().__init__(level)
        self._emit = emit
        self.setFormatter(logging.Formatter(datadir.LOG_FORMAT))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._emit(LogLine(record.levelno, self.format(record)))
        except Exception:
            self.handleError(record)
