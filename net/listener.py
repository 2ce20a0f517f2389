"""A TCP listener that serves every connection on a thread of its own.

The accept loop runs on its own thread and can be paused (the listening
socket is closed, so new connections are refused, while the sessions already
open go on) and resumed on the same port. Stopping it wakes and joins every
thread it started and closes every socket it owns.

It enforces the connection budgets of ``net.budgets`` for every service
on it: so many connections in all, and, unless the address is in the
trusted networks, so many at once and so many new ones a second from
one address. A refused connection costs no thread.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import selectors
import socket
import threading
import time
from collections.abc import Callable

from net.budgets import Budgets, address_key
from net.i18n import _
from net.ratelimit import TokenBuckets
from net.sockutil import shutdown

Handler = Callable[[socket.socket, tuple], None]
# Told about a connection refused by a budget (the socket is closed after):
# the chat service says why in its own protocol.
Refusal = Callable[[socket.socket, str], None]

_ADDR_IN_USE = {errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", errno.EADDRINUSE)}


class ListenError(OSError):
    """The service could not listen; the message says why in plain words."""


def validate_port(port: int) -> int:
    if not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(_("port must be a number from 0 to 65535, not {port}").format(
            port=repr(port)))
    return port


def bind_listener(host: str, port: int, tries: int = 20, backlog: int = 128) -> socket.socket:
    """Listen on host:port; if that port is busy, on the next free one.

    Port 0 asks the system for any free port. Up to ``tries`` ports are
    tried, never past 65535.
    """
    validate_port(port)
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise ListenError(_("cannot listen on {host}: {reason}").format(
            host=repr(host), reason=e.strerror)) from None
    family = infos[0][0]
    bind_host = infos[0][4][0]
    last: OSError | None = None
    candidates = [0] if port == 0 else range(port, min(port + max(tries, 1), 65536))
    for candidate in candidates:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            if hasattr(socket, "SO_EXCLUSIVEADDRUSE"):  # Windows: never share a busy port
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
            else:  # POSIX: rebind at once after a restart despite TIME_WAIT
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((bind_host, candidate))
            sock.listen(backlog)
            return sock
        except OSError as e:
            sock.close()
            last = e
            if e.errno not in _ADDR_IN_USE:
                raise ListenError(_("cannot listen on {host}:{port}: {reason}").format(
                    host=host or "*", port=candidate, reason=e.strerror or e)) from None
    raise ListenError(_("ports {first}-{last} on {host} are all busy ({reason})").format(
        first=port, last=candidates[-1], host=host or "*",
        reason=last.strerror if last and last.strerror else _("in use")))


class Listener:
    """Accept loop on its own thread; one thread per connection."""

    def __init__(self, name: str, host: str, port: int, handler: Handler, *,
                 logger: logging.Logger, port_tries: int = 20, budgets: Budgets | None = None,
                 on_refused: Refusal | None = None, counts_with: Listener | None = None):
        self.name = name
        self.host = host
        self.requested_port = validate_port(port)
        self._handler = handler
        self._log = logger
        self._port_tries = port_tries
        self.budgets = budgets or Budgets()
        self._on_refused = on_refused
        self._lock = threading.Lock()
        self._conns: dict[int, tuple[socket.socket, threading.Thread]] = {}
        self._per_address: dict[str, int] = {}
        b = self.budgets
        self._connects = TokenBuckets(b.connect_burst, b.connect_rate, b.table_entries)
        if counts_with is not None:
            # Two ports of one service (chat and its IRC gateway): an address's
            # connections and new connections are counted once, across both.
            self._lock = counts_with._lock
            self._per_address = counts_with._per_address
            self._connects = counts_with._connects
        self.refused = 0
        self._sock: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._next_id = 0
        self.port: int | None = None
        self.stopped = False

    # -- life cycle -------------------------------------------------------
    def start(self) -> tuple[str, int]:
        """Bind (moving past busy ports) and start accepting. Returns (host, port)."""
        self._log.info("%s server starting (asked for %s:%d)", self.name,
                       self.host or "*", self.requested_port)
        sock = bind_listener(self.host, self.requested_port, self._port_tries)
        self.port = sock.getsockname()[1]
        if self.requested_port and self.port != self.requested_port:
            self._log.warning("%s: port %d was busy, moved to port %d", self.name,
                              self.requested_port, self.port)
        self._run_acceptor(sock)
        return self.address

    @property
    def address(self) -> tuple[str, int]:
        return (self.host or "0.0.0.0", self.port or 0)

    @property
    def listening(self) -> bool:
        return self._sock is not None

    def pause(self) -> None:
        """Stop listening: new connections are refused, open ones go on."""
        if self._sock is None:
            return
        self._stop_acceptor()
        self._log.info("%s paused: no longer listening on port %s "
                       "(current sessions go on)", self.name, self.port)

    def resume(self) -> None:
        """Listen again on the same port as before."""
        if self._sock is not None or self.stopped:
            return
        sock = bind_listener(self.host, self.port or self.requested_port, tries=1)
        self._run_acceptor(sock)
        self._log.info("%s resumed: listening on %s:%d again", self.name, *self.address)

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop listening, end every connection and join every thread.

        True when every connection thread ended within ``timeout``; a caller
        must not close what those threads use otherwise.
        """
        if self.stopped:
            return True
        self.stopped = True
        self._stop_acceptor()
        with self._lock:
            conns = list(self._conns.values())
        for sock, _thread in conns:
            shutdown(sock)  # wakes a thread blocked in recv
        deadline = time.monotonic() + timeout
        for _sock, thread in conns:
            thread.join(max(0.0, deadline - time.monotonic()))
        left = [t.name for _, t in conns if t.is_alive()]
        if left:
            self._log.error("%s: %d connection thread(s) did not end in %g s: %s", self.name,
                            len(left), timeout, ", ".join(left[:5]))
        self._log.info("%s server stopped", self.name)
        return not left

    def connection_count(self) -> int:
        with self._lock:
            return len(self._conns)

    # -- accept loop ------------------------------------------------------
    def _run_acceptor(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self._sock = sock
        self._wake_r, self._wake_w = socket.socketpair()
        self._accept_thread = threading.Thread(
            target=self._accept_loop, args=(sock, self._wake_r),
            name=f"{self.name}-accept", daemon=True)
        self._accept_thread.start()
        self._log.info("%s listening on %s:%d", self.name, *self.address)

    def _stop_acceptor(self) -> None:
        if self._sock is None:
            return
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass
        self._accept_thread.join()
        for s in (self._sock, self._wake_r, self._wake_w):
            s.close()
        self._sock = self._wake_r = self._wake_w = None
        self._accept_thread = None

    def _accept_loop(self, sock: socket.socket, wake: socket.socket) -> None:
        with selectors.DefaultSelector() as sel:
            sel.register(sock, selectors.EVENT_READ)
            sel.register(wake, selectors.EVENT_READ)
            while True:
                for key, _ in sel.select():
                    if key.fileobj is wake:
                        return
                    self._accept_one(sock)

    def _accept_one(self, sock: socket.socket) -> None:
        try:
            conn, addr = sock.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return
        except OSError as e:  # e.g. out of file descriptors: keep listening
            self._log.error("%s: accept failed: %s", self.name, e)
            return
        conn.setblocking(True)
        ip, budgets = address_key(addr[0]), self.budgets
        with self._lock:
            if self.stopped:
                why = "stopping"
            elif len(self._conns) >= budgets.max_connections:
                why = f"{budgets.max_connections} connections already"
            elif budgets.is_trusted(addr[0]):
                why = None
            elif self._per_address.get(ip, 0) >= budgets.per_address_connections:
                why = f"{budgets.per_address_connections} connections from that address already"
            elif not self._connects.take(ip):
                why = f"more than {budgets.connect_rate:g} new connections a second from there"
            else:
                why = None
            if why is None:
                self._next_id += 1
                cid = self._next_id
                thread = threading.Thread(target=self._serve, args=(cid, conn, addr),
                                          name=f"{self.name}-client-{cid}", daemon=True)
                self._conns[cid] = (conn, thread)
                self._per_address[ip] = self._per_address.get(ip, 0) + 1
            if why:
                self.refused += 1
                # One line per refusal would let a flood of connects flood the log too.
                quiet = self.refused > 10 and self.refused % 1000
        if why:
            if not quiet:
                self._log.warning("%s: refused %s: %s (%d refused in all)", self.name,
                                  format_address(addr), why, self.refused)
            if self._on_refused is not None:
                with contextlib.suppress(OSError):
                    self._on_refused(conn, why)
            conn.close()
            return
        self._log.info("%s: client %s connected", self.name, format_address(addr))
        thread.start()

    def _serve(self, cid: int, conn: socket.socket, addr: tuple) -> None:
        try:
            self._handler(conn, addr)
        except Exception:
            self._log.exception("%s: error serving %s", self.name, format_address(addr))
        finally:
            conn.close()
            with self._lock:
                self._conns.pop(cid, None)
                key = address_key(addr[0])
                left = self._per_address.pop(key) - 1
                if left:
                    self._per_address[key] = left
            self._log.info("%s: client %s disconnected", self.name, format_address(addr))


def format_address(addr: tuple) -> str:
    host, port = addr[0], addr[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


