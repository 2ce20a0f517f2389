"""A connection's outgoing bytes, for the chat port and the IRC gateway alike.

Sending never blocks: what the kernel can't take at once is queued on the
connection (``Outbox``), one ``Flusher`` thread per service drains the
queues, and a connection whose unsent output would pass its budget, or
stops moving for the stall timeout, is cut off. So a slow or stalled
client never delays the others.

Over TLS (``net.tls``), data is encrypted as it is queued, under the same
lock, so the queue holds ciphertext and what TLS itself must send goes out
in order; what comes in is decrypted under that lock too.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable

from net.sockutil import ready, shutdown, wait_readable
from net.tls import TlsChannel


class Outbox:
    """One connection's socket: bounded reads, and sends that never block."""

    def __init__(self, sock: socket.socket, backlog_limit: int, flusher: Flusher,
                 log: logging.Logger, service: str):
        self.sock = sock
        self.backlog_limit = backlog_limit
        self._flusher = flusher
        self._log = log
        self._service = service  # for log lines: "chat", "irc"
        self.lock = threading.Lock()  # the send queue, the TLS state and the socket's life
        self.backlog = bytearray()
        self.last_progress = time.monotonic()
        self.closed = False
        self.killed = False
        self.tls: TlsChannel | None = None  # set once a TLS handshake is done
        self._corked: list[bytes] | None = None  # sends gathered into one write

    def describe(self) -> str:
        """Who this is, for log lines."""
        return "-"

    # -- reading (the connection's own thread only) -----------------------------
    def recv(self, size: int) -> bytes:
        """At most ``size`` bytes from the socket (b"" at its end); over TLS,
        the plaintext they complete. Raises BlockingIOError while there is
        nothing to give yet (a TLS record not complete), as a socket does,
        and OSError (``ssl.SSLError`` among them) when the connection broke."""
        raw = self.sock.recv(size)
        if self.tls is None or not raw:
            return raw
        with self.lock:
            plain, reply = self.tls.decrypt(raw)
            if reply:  # e.g. a TLS 1.3 key update, before any later data
                self._send_locked(reply, encrypted=True)
        if not plain and not self.tls.eof:
            raise BlockingIOError("a TLS record is not complete yet")
        return plain

    # -- sending (any thread) ------------------------------------------------------
    def send(self, data: bytes) -> None:
        """Queue ``data`` without ever blocking; the kernel takes what it can now.

        Every write counts against the output budget: a connection already
        that far behind is cut off instead.
        """
        with self.lock:
            if self.closed or self.killed:
                return
            if self._corked is not None:
                self._corked.append(data)
                return
            queued = self._queued_locked()
            if queued and queued + len(data) > self.backlog_limit:
                self._kill_locked(f"its unsent output would pass {self.backlog_limit} bytes")
            else:
                self._queue_locked(data)

    def cork(self) -> None:
        """Gather what is sent from now on (by any thread, in order) until
        ``uncork``: a fan-out batch becomes one write (over TLS, one
        encryption), where the output budget judges it whole."""
        with self.lock:
            if self._corked is None:
                self._corked = []

    def uncork(self) -> None:
        with self.lock:
            parts, self._corked = self._corked, None
        if parts:
            self.send(b"".join(parts))

    def _queued_locked(self) -> int:
        return len(self.backlog)

    def _queue_locked(self, data: bytes) -> None:
        self._send_locked(data)

    def _send_locked(self, data: bytes, encrypted: bool = False) -> None:
        if self.closed or self.killed:
            return
        if self.tls is not None and not encrypted:
            try:
                data = self.tls.encrypt(data)
            except OSError:
                self._kill_locked(None)
                return
        if self.backlog:
            self.backlog += data
            return
        try:
            sent = self.sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self._kill_locked(None)
            return
        if sent < len(data):
            self.backlog += data[sent:]
            self.last_progress = time.monotonic()
            self._flusher.want(self)

    def flush(self) -> bool:
        """Send what the kernel takes now; True when nothing is left."""
        with self.lock:
            if self.closed or not self.backlog:
                self.backlog.clear()
                return True
            try:
                sent = self.sock.send(self.backlog)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                self._kill_locked(None)
                return True
            if sent:
                del self.backlog[:sent]
                self.last_progress = time.monotonic()
            return not self.backlog

    def stalled(self, limit: float) -> bool:
        with self.lock:
            return bool(self.backlog) and time.monotonic() - self.last_progress > limit

    # -- ending ----------------------------------------------------------------------
    def kill(self, reason: str | None) -> None:
        with self.lock:
            self._kill_locked(reason)

    def _kill_locked(self, reason: str | None) -> None:
        """End the connection: its reading thread wakes and cleans up."""
        if self.closed or self.killed:
            return
        self.killed = True
        if reason:
            self._log.warning("%s: disconnecting %s: %s", self._service, self.describe(),
                              reason)
        self.backlog.clear()
        shutdown(self.sock)

    def close(self) -> None:
        with self.lock:
            self.closed = True
            self.backlog.clear()
            self.sock.close()

    def close_gracefully(self, limit: int = 1 << 20, seconds: float = 0.5) -> None:
        """Close so that what was sent last (an error, a bye) reaches the client.

        Closing with unread input makes the kernel send a reset, which can
        destroy the last words before the client reads them; so send TLS's
        close_notify, flush, send FIN, then read and discard (bounded in
        bytes and time) until the client closes.
        """
        deadline = time.monotonic() + seconds
        with self.lock:
            if self.tls is not None and not (self.closed or self.killed):
                self._send_locked(self.tls.close_notify(), encrypted=True)
        while not self.flush() and time.monotonic() < deadline:
            ready([self.sock], True, 0.05)
        try:
            self.sock.shutdown(socket.SHUT_WR)
            drained = 0
            while drained < limit and wait_readable(self.sock,
                                                    max(0.0, deadline - time.monotonic())):
                data = self.sock.recv(65536)
                if not data:
                    break
                drained += len(data)
        except OSError:
            pass
        self.close()


class Flusher:
    """The one thread of a service that drains its connections' queues and
    cuts off those whose writes stall; ``tick`` runs on it every round (at
    least once a second), for other housekeeping."""

    def __init__(self, name: str, stall_timeout: float,
                 tick: Callable[[], None] | None = None):
        self.stall_timeout = stall_timeout
        self._tick = tick
        self._lock = threading.Lock()
        self._waiting: set[Outbox] = set()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join()

    def want(self, outbox: Outbox) -> None:
        with self._lock:
            self._waiting.add(outbox)
        self._wake.set()

    def discard(self, outbox: Outbox) -> None:
        with self._lock:
            self._waiting.discard(outbox)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            if self._tick is not None:
                self._tick()
            with self._lock:
                waiting = [o for o in self._waiting if not o.closed]
                self._waiting.intersection_update(waiting)
            if not waiting:
                self._wake.wait(1.0)
                continue
            by_sock = {o.sock: o for o in waiting}
            try:
                writable = ready(list(by_sock), True, 0.1)
            except (OSError, ValueError):  # a socket closed meanwhile: next round
                writable = []
            for sock in writable:
                if by_sock[sock].flush():
                    self.discard(by_sock[sock])
            for outbox in waiting:
                if outbox.stalled(self.stall_timeout):
                    outbox.kill(f"its writes stalled for {self.stall_timeout:g} s")
                    self.discard(outbox)
