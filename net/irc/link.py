"""One IRC connection's bytes: bounded non-blocking reads, sends that never block.

The queue, its budgets, TLS and the graceful close are ``net.outbox``'s, as
for a chat peer; what is IRC's own is the read with a timeout that a
session's loop wants, and the nick its log lines name.
"""

from __future__ import annotations

import logging
import socket

from net.outbox import Flusher, Outbox
from net.sockutil import wait_readable
from net.tls import TlsChannel

log = logging.getLogger("netdesk.irc")

RECV_SIZE = 4096  # one read; a line is at most 8703 bytes with its tags


class Link(Outbox):
    def __init__(self, sock: socket.socket, backlog_limit: int, flusher: Flusher,
                 tls: TlsChannel | None = None):
        super().__init__(sock, backlog_limit, flusher, log, "irc")
        self.tls = tls
        self.who = "-"  # for log lines: the nick, once known
        sock.setblocking(False)

    def describe(self) -> str:
        return self.who

    def read(self, timeout: float) -> bytes | None:
        """At most RECV_SIZE bytes (over TLS, the plaintext they complete);
        b"" at end of stream; None when nothing came within ``timeout``.
        Raises OSError when the connection broke. The connection's own
        thread only."""
        if not wait_readable(self.sock, max(timeout, 0.0)):
            return None
        try:
            return self.recv(RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return None
