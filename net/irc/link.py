"""One IRC connection's bytes: bounded non-blocking reads, sends that never block.

All of an IRC connection's socket I/O is here, as the chat port's ``Peer``
has it, TLS included: once the handshake is done (``net.tls``), lines are
encrypted as they are queued, so the backlog holds ciphertext, and what
comes in is decrypted under the same lock. Sending
queues what the kernel cannot take at once; the gateway's flusher thread
drains it. A connection whose unsent output would pass the backlog budget,
or whose writes stop moving for the stall timeout, is cut off.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable

from net.sockutil import shutdown, wait_readable
from net.tls import TlsChannel

log = logging.getLogger("netdesk.irc")

RECV_SIZE = 4096  # one read; a line is at most 8703 bytes with its tags


class Link:
    def __init__(self, sock: socket.socket, backlog_limit: int,
                 want_flush: Callable[[Link], None], tls: TlsChannel | None = None):
        self.sock = sock
        self.tls = tls
        self.backlog_limit = backlog_limit
        self._want_flush = want_flush
        self.lock = threading.Lock()  # the send queue and the socket's life
        self.backlog = bytearray()
        self.last_progress = time.monotonic()
        self.closed = False
        self.killed = False
        self.who = "-"  # for log lines: the nick, once known
        sock.setblocking(False)

    # -- reading (the connection's own thread only) -----------------------------
    def recv(self, timeout: float) -> bytes | None:
        """At most RECV_SIZE bytes; b"" at end of stream; None when nothing came
        within ``timeout``. Raises OSError when the connection broke."""
        if not wait_readable(self.sock, max(timeout, 0.0)):
            return None
        try:
            data = self.sock.recv(RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return None
        if self.tls is None or not data:
            return data
        with self.lock:  # an ssl.SSLError here is an OSError: the connection broke
            plain, reply = self.tls.decrypt(data)
            if reply:
                self._send_locked(reply, encrypted=True)
        if plain:
            return plain
        return b"" if self.tls.eof else None  # a record not complete yet

    # -- sending (any thread) ------------------------------------------------------
    def send(self, data: bytes) -> None:
        with self.lock:
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
        if self.backlog and len(self.backlog) + len(data) > self.backlog_limit:
            self._kill_locked(f"its unsent output would pass {self.backlog_limit} bytes")
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
            self._want_flush(self)

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

    def pending(self) -> bool:
        with self.lock:
            return bool(self.backlog) and not self.closed

    def stalled(self, limit: float) -> bool:
        with self.lock:
            return bool(self.backlog) and time.monotonic() - self.last_progress > limit

    def kill(self, reason: str | None) -> None:
        with self.lock:
            self._kill_locked(reason)

    def _kill_locked(self, reason: str | None) -> None:
        """End the connection: its reading thread wakes and cleans up."""
        if self.closed or self.killed:
            return
        self.killed = True
        if reason:
            log.warning("irc: disconnecting %s: %s", self.who, reason)
        self.backlog.clear()
        shutdown(self.sock)

    def close(self, linger: float = 0.5) -> None:
        """Flush what is queued (bounded in time), send FIN, drain what the
        client still sends (bounded), then close: a last ERROR line is not
        destroyed by a reset."""
        deadline = time.monotonic() + linger
        with self.lock:  # TLS's close_notify: a clean end, not a cut
            if self.tls is not None and not (self.closed or self.killed):
                self._send_locked(self.tls.close_notify(), encrypted=True)
        while not self.flush() and time.monotonic() < deadline:
            time.sleep(0.01)  # a bounded wait for the kernel to take the last lines
        try:
            self.sock.shutdown(socket.SHUT_WR)
            drained = 0
            while drained < (1 << 20) and wait_readable(
                    self.sock, max(0.0, deadline - time.monotonic())):
                data = self.sock.recv(65536)
                if not data:
                    break
                drained += len(data)
        except OSError:
            pass
        with self.lock:
            self.closed = True
            self.backlog.clear()
            self.sock.close()
