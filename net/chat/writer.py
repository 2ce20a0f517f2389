"""Store, then deliver: the one thread that gives messages their ids.

Connection threads hand accepted ``say``s to the writer and go on reading;
they never wait on the disk, and neither does anyone holding the hub lock.
The writer takes what has queued up (up to ``BATCH`` at a time), numbers
it, commits it to the history with the next id in one transaction, and
only then hands the batch to ``deliver``. A batch that cannot be stored
(a full disk, a read-only or broken file) is handed to ``refuse`` instead:
it reaches nobody and uses up no id. One thread numbering and delivering
in turn is what gives every client one order.

Backpressure: each sender may have ``SAYS_IN_FLIGHT`` says waiting here;
the next one waits in ``submit`` on the sender's own connection thread,
which then reads nothing more from its socket, so the kernel's buffers
fill and TCP slows the sender down instead of lines piling up in memory.
What waits here is thus at most ``SAYS_IN_FLIGHT`` per connection (and
connections are budgeted), and a quiet client's say waits behind at most
that many of each flooder's, not behind everything they sent.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from net.chat.history import HistoryStore

log = logging.getLogger("netdesk.chat")

BATCH = 256
TRIM_EVERY = 64  # batches between retention trims
SAYS_IN_FLIGHT = 2  # says one sender may have waiting to be stored


@dataclass
class Pending:
    """A ``say`` accepted but not yet stored; ``sender`` is the server's peer."""

    sender: object
    name: str
    text: str
    to: str | None = None  # the recipient's name as registered, for a private one


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class MessageWriter:
    def __init__(self, history: HistoryStore,
                 deliver: Callable[[list[tuple[Pending, dict]]], None],
                 refuse: Callable[[list[Pending], str], None]):
        self.history = history
        self._deliver, self._refuse = deliver, refuse
        self.next_id = history.next_id()
        # Trimming otherwise waits for TRIM_EVERY batches, which a quiet
        # server restarted often (or given a lower retention) might never see.
        self._trim()
        self._queue: queue.SimpleQueue[Pending | None] = queue.SimpleQueue()
        self._batches = 0
        self.failing = False
        # Says waiting per sender (by identity: a sender with says here is alive).
        self._slots = threading.Condition()
        self._in_flight: dict[int, int] = {}
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="chat-writer", daemon=True)
        self._thread.start()

    def submit(self, pending: Pending) -> None:
        """Queue ``pending``; while its sender has ``SAYS_IN_FLIGHT`` waiting
        already, wait (on the sender's own thread) until one is stored."""
        key = id(pending.sender)
        with self._slots:
            # Each round ends when the writer settles a batch (or stops).
            while self._in_flight.get(key, 0) >= SAYS_IN_FLIGHT and not self._stopping:
                self._slots.wait(1.0)
            self._in_flight[key] = self._in_flight.get(key, 0) + 1
        self._queue.put(pending)

    def waiting(self) -> int:
        """Says submitted and not yet stored or refused."""
        with self._slots:
            return sum(self._in_flight.values())

    def stop(self) -> None:
        """Store and deliver what was submitted, then end the thread."""
        with self._slots:
            self._stopping = True
            self._slots.notify_all()
        self._queue.put(None)
        self._thread.join()

    def _settled(self, batch: list[Pending]) -> None:
        """``batch`` was stored and handed on, or refused: its senders may say more."""
        with self._slots:
            for p in batch:
                key = id(p.sender)
                left = self._in_flight.get(key, 1) - 1
                if left > 0:
                    self._in_flight[key] = left
                else:
                    self._in_flight.pop(key, None)
            self._slots.notify_all()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            try:
                self._write(batch)
            finally:
                self._settled(batch)
            if stop:
                return

    def _write(self, batch: list[Pending]) -> None:
        ts = now_iso()
        messages = []
        for n, p in enumerate(batch):
            msg = {"type": "message", "id": self.next_id + n, "from": p.name, "text": p.text,
                   "ts": ts}
            if p.to is not None:
                msg["to"] = p.to
            messages.append(msg)
        try:
            self.history.append(messages, self.next_id + len(batch))
        except sqlite3.Error as e:
            if not self.failing:
                log.error("chat: cannot store messages in %s (%s); says are refused with "
                          "server_error until it can", self.history.path, e)
            self.failing = True
            self._refuse(batch, str(e))
            return
        except Exception as e:  # a bug must cost this batch, never the writer thread
            log.exception("chat: storing %d message(s) failed", len(batch))
            self._refuse(batch, str(e))
            return
        if self.failing:
            log.warning("chat: the history can be written again; says are accepted")
            self.failing = False
        self.next_id += len(batch)
        self._deliver(list(zip(batch, messages, strict=True)))
        self._batches += 1
        if self._batches % TRIM_EVERY == 0:
            self._trim()

    def _trim(self) -> None:
        try:
            self.history.trim()
        except sqlite3.Error as e:  # a trim can wait for the next round
            log.warning("chat: history trim failed: %s", e)
