"""Echo client: one connection, round trips timed, and a session thread.

``EchoClient`` is the blocking client (used by ``netdesk echo``);
``EchoSession`` runs one on a thread of its own, takes commands from a
queue and reports typed events (the dataclasses below), so a window never
waits on the network and never mistakes one event for another. The reasons
and messages the events carry are for people, in the user's language.
"""

from __future__ import annotations

import queue
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from net.echo.server import CHUNK
from net.i18n import _, ngettext, number
from net.sockutil import describe_error, ready, shutdown


# -- what a session reports -----------------------------------------------------
@dataclass(frozen=True)
class Connected:
    host: str
    port: int


@dataclass(frozen=True)
class Sent:
    text: str


@dataclass(frozen=True)
class Echoed:
    """The reply to the last ``Sent`` line, and its round-trip time."""

    text: str
    rtt: float


@dataclass(frozen=True)
class Failed:
    """A connect that did not succeed; ``message`` is for people."""

    message: str


@dataclass(frozen=True)
class NotSent:
    """A line that found no connection: the window gives it back to the user."""

    text: str
    reason: str


@dataclass(frozen=True)
class Disconnected:
    reason: str
    by_server: bool  # the server closed or broke it (not the user)


Event = Connected | Sent | Echoed | Failed | NotSent | Disconnected
Emit = Callable[[Event], None]


class EchoClient:
    def __init__(self, timeout: float = 5.0):
        self.timeout = timeout
        self.sock: socket.socket | None = None

    def connect(self, host: str, port: int,
                before: Callable[[socket.socket], bool] | None = None) -> tuple[str, int]:
        """Connect to the first address of ``host`` that answers (as
        ``socket.create_connection``). ``before(sock)`` sees each socket
        before it connects, so another thread can shut it down to give up;
        it returns False to give up at once."""
        error: OSError | None = None
        for family, kind, proto, _name, address in socket.getaddrinfo(
                host, port, type=socket.SOCK_STREAM):
            sock = socket.socket(family, kind, proto)
            try:
                if before is not None and not before(sock):
                    raise ConnectionAbortedError("connect cancelled")
                sock.settimeout(self.timeout)
                sock.connect(address)
            except OSError as e:
                sock.close()
                if isinstance(e, ConnectionAbortedError):
                    raise
                error = e
                continue
            self.sock = sock
            return sock.getpeername()[:2]
        raise error or OSError(_("no address for {host}").format(host=host))

    def roundtrip(self, data: bytes) -> tuple[bytes, float]:
        """Send ``data``; wait (bounded by the timeout) for as many bytes back."""
        if self.sock is None:
            raise ConnectionError(_("not connected"))
        start = time.perf_counter()
        self.sock.sendall(data)
        deadline = start + self.timeout
        parts, got = [], 0
        while got < len(data):
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(ngettext(
                    "only {got} of {n} byte came back in {seconds} s",
                    "only {got} of {n} bytes came back in {seconds} s", len(data)).format(
                    got=number(got), n=number(len(data)), seconds=number(self.timeout)))
            self.sock.settimeout(left)
            chunk = self.sock.recv(min(CHUNK * 64, len(data) - got))
            if not chunk:
                raise ConnectionError(_("the server closed the connection"))
            parts.append(chunk)
            got += len(chunk)
        return b"".join(parts), time.perf_counter() - start

    def close(self) -> None:
        if self.sock is not None:
            shutdown(self.sock)
            self.sock.close()
            self.sock = None


COMMANDS = ("connect", "send", "disconnect")  # what EchoSession's queue carries


class EchoSession:
    """An echo connection driven from a command queue on its own thread.

    Commands: ``connect(host, port)``, ``send(text)``, ``disconnect()``
    (which also cancels a connect in progress). Events, in order:
    ``Connected``, ``Sent`` then ``Echoed`` for each line, ``Failed``,
    ``NotSent`` (a line that found no connection; the window gives it back
    to the user) and ``Disconnected``.

    While idle and connected the thread waits on the socket as well as on
    its commands, so a server that goes away is noticed at once rather than
    at the next line. ``close()`` never waits for the network: it sets the
    stop flag, shuts down the socket being connected or used, and joins for
    at most ``timeout`` seconds (none by default, for a Tk thread).
    """

    def __init__(self, emit: Emit, timeout: float = 5.0):
        self._emit = emit
        self._client = EchoClient(timeout)
        self._commands: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        # The socket being connected or in use, reachable from close() and
        # disconnect() on another thread. Closed only under the lock, so a
        # shutdown() from elsewhere never reaches a recycled descriptor.
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._cancelled = False
        # Commands also write a byte here, waking the thread out of its
        # wait on the connected socket.
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._thread = threading.Thread(target=self._run, name="echo-session", daemon=True)
        self._thread.start()

    # -- commands (any thread) ------------------------------------------------
    def connect(self, host: str, port: int) -> None:
        self._put(("connect", host, port))

    def send(self, text: str) -> None:
        self._put(("send", text))

    def disconnect(self) -> None:
        with self._lock:
            if self._sock is not None and self._client.sock is None:
                self._cancelled = True  # a connect in progress: give it up now
                shutdown(self._sock)
        self._put(("disconnect",))

    def close(self, timeout: float = 0.0) -> None:
        """Stop the thread; it closes its socket and ends on its own."""
        self._stop.set()
        self._put(None)
        with self._lock:
            shutdown(self._sock)  # wakes a connect or a round trip in progress
        if timeout > 0:
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _put(self, command: tuple | None) -> None:
        # An unknown command is the caller's mistake: said here, at once,
        # rather than dropped on the session thread.
        if command is not None and (not isinstance(command, tuple) or not command
                                    or command[0] not in COMMANDS):
            raise TypeError(f"not an echo session command: {command!r}")
        self._commands.put(command)
        with self._lock:
            try:
                self._wake_w.send(b"\0")
            except OSError:  # full (the thread wakes anyway) or closed (the thread ended)
                pass

    # -- the session thread ---------------------------------------------------
    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._wait()
                while not self._stop.is_set():
                    try:
                        command = self._commands.get_nowait()
                    except queue.Empty:
                        break
                    if command is None:
                        return
                    self._do(command)
        finally:
            with self._lock:
                had = self._client.sock is not None
                self._client.close()
                self._sock = None
                self._wake_r.close()
                self._wake_w.close()
            if had and not self._stop.is_set():
                self._emit(Disconnected(_("closed"), by_server=False))

    def _wait(self) -> None:
        """Until a command comes; meanwhile notice a connection that ends."""
        sock = self._client.sock
        watched = [self._wake_r] if sock is None else [self._wake_r, sock]
        for s in ready(watched, False, None):
            if s is self._wake_r:
                try:
                    while self._wake_r.recv(4096):
                        pass
                except (BlockingIOError, InterruptedError):
                    pass
            else:
                self._check_closed(s)

    def _check_closed(self, sock: socket.socket) -> None:
        """The connected socket is readable while no round trip is waiting:
        the server closed it, reset it, or sent what it was not asked."""
        try:
            data = sock.recv(CHUNK, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            self._lost(describe_error(e))
            return
        if not data:
            self._lost(_("the server closed the connection"))
        # Bytes nobody asked for: an echo server never sends them; dropped.

    def _lost(self, reason: str) -> None:
        self._drop()
        if not self._stop.is_set():
            self._emit(Disconnected(reason, by_server=True))

    def _drop(self) -> None:
        with self._lock:
            self._client.close()
            self._sock = None

    def _do(self, command: tuple) -> None:
        kind, *args = command
        if kind == "connect":
            self._connect(*args)
        elif kind == "send":
            self._send(args[0])
        elif kind == "disconnect":
            if self._client.sock is not None:
                self._drop()
                self._emit(Disconnected(_("you disconnected"), by_server=False))
        else:  # _put lets none through; a new command must be handled here
            raise TypeError(f"not an echo session command: {command!r}")

    def _connect(self, host: str, port: int) -> None:
        if self._client.sock is not None:
            self._drop()
            self._emit(Disconnected(_("reconnecting"), by_server=False))
        with self._lock:
            self._cancelled = False
        try:
            peer = self._client.connect(host, port, self._connecting)
        except OSError as e:
            with self._lock:
                self._sock = None
                cancelled = self._cancelled
            if self._stop.is_set():
                return
            if cancelled:
                self._emit(Disconnected(_("you cancelled the connection"), by_server=False))
            else:
                self._emit(Failed(_("cannot reach {host}:{port}: {reason}").format(
                    host=host, port=port, reason=describe_error(e))))
            return
        if self._stop.is_set():
            self._drop()
            return
        self._emit(Connected(str(peer[0]), int(peer[1])))

    def _connecting(self, sock: socket.socket) -> bool:
        """Called with each socket before it connects: publish it so that
        close() and disconnect() can shut it down; False to give up."""
        with self._lock:
            if self._stop.is_set() or self._cancelled:
                return False
            self._sock = sock
            return True

    def _send(self, text: str) -> None:
        if self._client.sock is None:
            self._emit(NotSent(text, _("not connected")))
            return
        self._emit(Sent(text))
        try:
            reply, rtt = self._client.roundtrip((text + "\n").encode("utf-8"))
        except (OSError, UnicodeError) as e:
            self._lost(describe_error(e))
            return
        self._emit(Echoed(reply.decode("utf-8", "replace").rstrip("\n"), rtt))
