"""The echo service (PROTOCOL.md section 1): bytes come back unchanged.

Every connection gets its own thread (from ``Listener``); reads are at most
1 KiB and each chunk is written back as it arrives.
"""

from __future__ import annotations

import logging
import socket

from net.budgets import Budgets
from net.listener import Listener, format_address
from net.sockutil import set_io_timeout

CHUNK = 1024
DEFAULT_PORT = 9090
# An echo client may sit quietly at a prompt; still, no read waits forever.
IDLE_TIMEOUT = 600.0

log = logging.getLogger("netdesk.echo")


class EchoServer:
    """Threaded echo server. ``start()`` returns the (host, port) it got."""

    def __init__(self, host: str = "127.0.0.1", port: int = DEFAULT_PORT, *,
                 idle_timeout: float = IDLE_TIMEOUT, port_tries: int = 20,
                 budgets: Budgets | None = None):
        self.idle_timeout = idle_timeout
        # The listener enforces the connection budgets (per service, per address).
        self.listener = Listener("echo", host, port, self._serve, logger=log,
                                 port_tries=port_tries, budgets=budgets)

    def start(self) -> tuple[str, int]:
        return self.listener.start()

    def stop(self) -> None:
        self.listener.stop()

    @property
    def address(self) -> tuple[str, int]:
        return self.listener.address

    def _serve(self, conn: socket.socket, addr: tuple) -> None:
        set_io_timeout(conn, self.idle_timeout)
        who = format_address(addr)
        debug = log.isEnabledFor(logging.DEBUG)
        received = 0
        try:
            while True:
                data = conn.recv(CHUNK)
                if not data:
                    break
                received += len(data)
                if debug:
                    log.debug("echo: received %d bytes from %s", len(data), who)
                conn.sendall(data)
                if debug:
                    log.debug("echo: sent %d bytes back to %s", len(data), who)
        except (TimeoutError, BlockingIOError):
            log.info("echo: %s idle for %.0f s, closing", who, self.idle_timeout)
        except OSError as e:
            log.info("echo: connection to %s ended: %s", who, e.strerror or e)
        log.info("echo: %s echoed %d bytes in all", who, received)
