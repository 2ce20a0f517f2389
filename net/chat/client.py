"""Chat clients: a blocking connection, and a session thread for windows.

``ChatConnection`` speaks the protocol one call at a time (tests,
benchmarks, scripts). ``ChatSession`` owns one connection on a thread of
its own: it takes commands from a queue, reports plain events through
``emit``, and when the connection drops after login it reconnects with the
session token and says so.
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
import time
from collections.abc import Callable

from net.chat.framing import FrameError, FrameReader, send_frame
from net.sockutil import describe_error, ready, shutdown, wait_readable

log = logging.getLogger("netdesk.chatclient")

# What a client accepts from the server: a welcome or history page can be
# far larger than the server's own limit on what it accepts.
CLIENT_MAX_PAYLOAD = 32 * 1024 * 1024


class ChatError(Exception):
    def __init__(self, code: str, message: str = ""):
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message or code


class ChatConnection:
    """A blocking chat connection. ``connect`` returns the ``hello``."""

    def __init__(self, timeout: float = 10.0):
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.reader: FrameReader | None = None
        self.hello: dict | None = None

    def connect(self, host: str, port: int, source: str | None = None) -> dict:
        """Connect (from the local address ``source``, if given) and read ``hello``."""
        self.sock = socket.create_connection((host, port), timeout=self.timeout,
                                             source_address=(source, 0) if source else None)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        self.reader = FrameReader(self.sock, CLIENT_MAX_PAYLOAD)
        hello = self.recv()
        if hello is not None and hello.get("type") == "error":  # e.g. too_many_connections
            raise ConnectionError(f"the server refused the connection: "
                                  f"{str(hello.get('message') or hello.get('code'))[:200]}")
        if hello is None or hello.get("type") != "hello":
            raise ConnectionError(f"not a netdesk chat server (it said {hello!r:.80})")
        self.hello = hello
        return hello

    def send(self, obj: dict) -> None:
        send_frame(self.sock, obj, self.timeout)

    def recv(self, timeout: float | None = -1) -> dict | None:
        """The next message; None when the server closed the connection."""
        return self.reader.read(self.timeout if timeout == -1 else timeout)

    def recv_until(self, *types: str, timeout: float | None = -1) -> dict:
        """Read until a message of one of ``types`` (others are dropped)."""
        while True:
            msg = self.recv(timeout)
            if msg is None:
                raise ConnectionError("the server closed the connection")
            if msg.get("type") in types:
                return msg

    def _authenticate(self, request: dict) -> dict:
        self.send(request)
        reply = self.recv_until("welcome", "error", "bye")
        if reply["type"] == "error":
            raise ChatError(reply.get("code", "error"), reply.get("message", ""))
        if reply["type"] == "bye":
            raise ChatError("closed", "the server ended the session")
        return reply

    def login(self, name: str, password: str) -> dict:
        return self._authenticate({"type": "login", "name": name, "password": password})

    def resume(self, token: str) -> dict:
        return self._authenticate({"type": "resume", "token": token})

    def close(self) -> None:
        if self.sock is not None:
            shutdown(self.sock)
            self.sock.close()
            self.sock = None


# -- the session thread behind a chat window --------------------------------------
RECONNECT_DELAYS = (0.5, 1, 2, 3, 5, 5, 5, 10, 10, 10, 15, 15, 15, 30, 30)


class ChatSession:
    """One chat connection on its own thread.

    Commands (any thread): ``connect(host, port)``, ``login(name, password)``,
    ``say(text, to=None)``, ``history(before, limit)``, ``close()``.

    Events, as tuples, in order:
    ``("hello", known_name, server, (host, port))``,
    ``("connect_failed", message, (host, port))``,
    ``("login_failed", code, message)``, ``("welcome", welcome, resumed)``,
    ``("message", msg)``, ``("joined", name)``, ``("left", name)``,
    ``("history", messages)``, ``("error", code, message)``,
    ``("reconnecting", attempt, delay, reason)``, ``("closed", reason)``.
    """

    def __init__(self, emit: Callable[[tuple], None], timeout: float = 10.0,
                 reconnect_delays: tuple[float, ...] = RECONNECT_DELAYS):
        self._emit = emit
        self.timeout = timeout
        self.reconnect_delays = reconnect_delays
        self._commands: queue.Queue = queue.Queue()
        self._wake_r, self._wake_w = socket.socketpair()
        self._stop = threading.Event()
        self._conn: ChatConnection | None = None
        self.token: str | None = None
        self.name: str | None = None
        self._address: tuple[str, int] | None = None
        self._thread = threading.Thread(target=self._run, name="chat-session", daemon=True)
        self._thread.start()

    # -- commands ----------------------------------------------------------------
    def _command(self, *command) -> None:
        self._commands.put(command)
        try:
            self._wake_w.send(b"\0")
        except OSError:
            pass

    def connect(self, host: str, port: int) -> None:
        self._command("connect", host, port)

    def login(self, name: str, password: str) -> None:
        self._command("send", {"type": "login", "name": name, "password": password})

    def say(self, text: str, to: str | None = None) -> None:
        msg = {"type": "say", "text": text}
        if to:
            msg["to"] = to
        self._command("send", msg)

    def history(self, before: int | None, limit: int = 50) -> None:
        msg = {"type": "history", "limit": limit}
        if before is not None:
            msg["before"] = before
        self._command("send", msg)

    def close(self, timeout: float = 3.0) -> None:
        """Log out (if logged in), close the connection and join the thread."""
        self._command("logout")
        self._thread.join(timeout)
        if self._thread.is_alive():  # a blocked connect: cut it short
            self._stop.set()
            conn = self._conn
            if conn is not None:
                shutdown(conn.sock)
            self._thread.join(timeout)
        self._wake_r.close()
        self._wake_w.close()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # -- the thread ------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                if self._conn is None:
                    self._idle()
                else:
                    self._pump()
        except Exception as e:  # reported, never swallowed
            log.exception("chat session failed")
            self._emit(("closed", f"internal error: {e}"))
        finally:
            self._drop()

    def _idle(self) -> None:
        """Not connected: wait for a command."""
        wait_readable(self._wake_r, 0.5)
        self._drain_wake()
        while not self._stop.is_set():
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return
            if command[0] == "connect":
                self._connect(*command[1:])
                return
            if command[0] == "logout":
                self._stop.set()
                return
            if command[0] == "send":
                self._emit(("connect_failed", "not connected", None))

    def _connect(self, host: str, port: int) -> None:
        self._address = (host, port)
        self.token = None
        conn = ChatConnection(self.timeout)
        self._conn = conn
        try:
            hello = conn.connect(host, port)
        except (OSError, FrameError, UnicodeError) as e:
            self._drop()
            self._emit(("connect_failed", f"cannot reach {host}:{port}: {describe_error(e)}",
                        (host, port)))
            return
        conn.sock.setblocking(False)
        self._emit(("hello", hello.get("known_name"), hello.get("server", ""), (host, port)))

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _drain_wake(self) -> None:
        try:
            self._wake_r.setblocking(False)
            while self._wake_r.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def _pump(self) -> None:
        """Connected: carry out commands and hand on what the server says."""
        conn = self._conn
        # Wait on the socket and the wake-up pipe together.
        ready_socks = ready([conn.sock, self._wake_r], False, 1.0)
        if self._wake_r in ready_socks or not self._commands.empty():
            self._drain_wake()
            while True:
                try:
                    command = self._commands.get_nowait()
                except queue.Empty:
                    break
                if not self._do(command):
                    return
        if conn.sock in ready_socks:
            try:
                while True:
                    msg = conn.reader.read(0)
                    if msg is None:
                        self._lost("the server closed the connection")
                        return
                    self._handle(msg)
                    if self._conn is not conn:
                        return
            except TimeoutError:
                pass  # everything buffered has been handled
            except (OSError, FrameError) as e:
                self._lost(describe_error(e))

    def _do(self, command: tuple) -> bool:
        kind = command[0]
        try:
            if kind == "send":
                self._conn.send(command[1])
            elif kind == "connect":
                self._drop()
                self._connect(*command[1:])
                return False
            elif kind == "logout":
                if self.token is not None:
                    self._conn.send({"type": "logout"})
                    self._wait_bye()
                self._drop()
                self._stop.set()
                self._emit(("closed", "logged out"))
                return False
        except OSError as e:
            self._lost(describe_error(e))
            return False
        return True

    def _wait_bye(self, seconds: float = 0.3) -> None:
        # Short: a window's close() joins this thread on the Tk thread. The
        # server ends the session whether or not we stay for its bye.
        deadline = time.monotonic() + seconds
        try:
            while (left := deadline - time.monotonic()) > 0:
                msg = self._conn.reader.read(left)
                if msg is None or msg.get("type") == "bye":
                    return
        except (OSError, FrameError):
            return

    def _handle(self, msg: dict) -> None:
        kind = msg.get("type")
        if kind == "welcome":
            resumed = self.token is not None and self.token == msg.get("token")
            self.token, self.name = msg.get("token"), msg.get("name")
            self._emit(("welcome", msg, resumed))
        elif kind == "message":
            self._emit(("message", msg))
        elif kind in ("joined", "left"):
            self._emit((kind, msg.get("name")))
        elif kind == "history":
            self._emit(("history", msg.get("messages", [])))
        elif kind == "ping":
            self._conn.send({"type": "pong"})
        elif kind == "error":
            code, text = msg.get("code", "error"), msg.get("message", "")
            if self.token is None:
                self._emit(("login_failed", code, text))
            else:
                self._emit(("error", code, text))
        elif kind == "bye":
            reason = msg.get("reason") or "the server ended the session"
            if reason == "shutdown":
                self._lost("the server is shutting down")
            else:
                self._drop()
                self.token = None
                self._emit(("closed", f"disconnected by the server ({reason})"))

    def _lost(self, reason: str) -> None:
        """The connection dropped: resume with the token, or report the end."""
        self._drop()
        if self.token is None or self._address is None:
            self._emit(("closed", f"connection lost: {reason}"))
            return
        for attempt, delay in enumerate(self.reconnect_delays, 1):
            self._emit(("reconnecting", attempt, delay, reason))
            if self._stop.wait(delay) or self._stop_requested():
                return
            conn = ChatConnection(self.timeout)
            try:
                conn.connect(*self._address)
                welcome = conn.resume(self.token)
            except ChatError as e:
                conn.close()
                if e.code in ("bad_token", "too_many_attempts"):
                    self.token = None
                    self._emit(("closed", "your session expired; log in again"))
                    return
                reason = e.message
                continue
            except (OSError, FrameError) as e:
                conn.close()
                reason = describe_error(e)
                continue
            conn.sock.setblocking(False)
            self._conn = conn
            self._handle(welcome)
            return
        self.token = None
        self._emit(("closed", f"could not reconnect: {reason}"))

    def _stop_requested(self) -> bool:
        """A logout queued while reconnecting ends the attempts."""
        return any(c[0] == "logout" for c in list(self._commands.queue))
