"""Chat clients: the session thread behind a chat window.

``ChatSession`` owns one connection (``net.chat.connection.ChatConnection``,
re-exported here with ``ChatError`` and ``code_text``) on a thread of its
own: it takes commands from a queue, reports typed events
(``net.chat.client_events``) through ``emit``, and when the connection
drops after login it reconnects with the session token and says so.
Closing a session never waits for it: its thread ends by itself.

The reasons the events carry are for people, in the user's language
(``net.i18n``); the server's own words never reach them.
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
import time
from collections.abc import Callable

from net.chat import client_events as ev
from net.chat.connection import (
    CLIENT_MAX_PAYLOAD,
    CODE_TEXTS,
    ChatConnection,
    ChatError,
    code_text,
)
from net.chat.framing import FrameError
from net.chat.trust import CertificateChanged, MemoryPins, Pins
from net.i18n import _
from net.sockutil import describe_error, ready, wait_readable
from net.tls import TlsInfo

log = logging.getLogger("netdesk.chatclient")

__all__ = ["CLIENT_MAX_PAYLOAD", "CODE_TEXTS", "ChatConnection", "ChatError", "ChatSession",
           "code_text"]


# -- the session thread behind a chat window --------------------------------------
RECONNECT_DELAYS = (0.5, 1, 2, 3, 5, 5, 5, 10, 10, 10, 15, 15, 15, 30, 30)
# How long a closing session waits for the server's bye after its logout.
FAREWELL_SECONDS = 0.3
# A resume refused with these will never work: log in with the password.
TOKEN_REFUSED = frozenset({"bad_token", "too_many_attempts"})


class ChatSession:
    """One chat connection on its own thread.

    Commands (any thread; none of them waits): ``connect(host, port)``,
    ``login(name, password)``, ``say(text, to, epoch)``, ``history(before,
    limit)``, ``reconnect()`` (resume with the token after the session gave
    up or was kicked), ``retry_now()`` (skip the wait before the next
    reconnect attempt) and ``close()``.

    Events: the dataclasses of ``net.chat.client_events``, in order, through
    ``emit`` (called on the session's thread: a window hands them to a queue).
    """

    def __init__(self, emit: Callable[[ev.ChatEvent], None], timeout: float = 10.0,
                 reconnect_delays: tuple[float, ...] = RECONNECT_DELAYS,
                 pins: Pins | None = None):
        self._emit = emit
        self.timeout = timeout
        self.pins = pins if pins is not None else MemoryPins()
        self.tls = True
        self.security: TlsInfo | None = None  # of the connection now, or the last one
        self.reconnect_delays = tuple(reconnect_delays)
        self._commands: queue.Queue = queue.Queue()
        # Two self-pipes: a command is waiting; close() wants every wait to end.
        self._wake_r, self._wake_w = socket.socketpair()
        self._abort_r, self._abort_w = socket.socketpair()
        for sock in (self._wake_w, self._abort_w):
            sock.setblocking(False)  # a full pipe already says "wake up"
        self._pipes_lock = threading.Lock()
        self._pipes_open = True
        self._stop = threading.Event()
        self._nudge = threading.Event()  # ends a wait between reconnect attempts
        self._conn: ChatConnection | None = None
        self.token: str | None = None
        self.name: str | None = None
        self.epoch = 0
        self._address: tuple[str, int] | None = None
        self._thread = threading.Thread(target=self._run, name="chat-session", daemon=True)
        self._thread.start()

    # -- commands ----------------------------------------------------------------
    def _poke(self, sock: socket.socket) -> None:
        with self._pipes_lock:
            if self._pipes_open:
                try:
                    sock.send(b"\0")
                except OSError:
                    pass

    def _command(self, *command) -> None:
        self._commands.put(command)
        self._poke(self._wake_w)

    def connect(self, host: str, port: int, tls: bool = True) -> None:
        """Connect over TLS (trusted by a CA or by the pins), or plain."""
        self._command("connect", host, port, tls)

    def login(self, name: str, password: str) -> None:
        self._command("send", {"type": "login", "name": name, "password": password})

    def say(self, text: str, to: str | None = None, epoch: int | None = None) -> None:
        """Send ``text`` (to ``to`` only, if given). With ``epoch`` (a
        ``Welcome.epoch``), it is sent only on that login's connection: a say
        left over from a connection that dropped is not sent on the next one,
        where the window, which knows what arrived, sends it again."""
        msg = {"type": "say", "text": text}
        if to:
            msg["to"] = to
        self._command("say", msg, epoch)

    def history(self, before: int | None, limit: int = 50) -> None:
        msg = {"type": "history", "limit": limit}
        if before is not None:
            msg["before"] = before
        self._command("send", msg)

    def reconnect(self) -> None:
        """Resume the last session with its token, now."""
        self._command("reconnect")

    def retry_now(self) -> None:
        self._nudge.set()

    def close(self) -> None:
        """Stop without waiting: the thread logs out (if logged in), waits at
        most ``FAREWELL_SECONDS`` for the server's bye, and ends by itself;
        a connect or reconnect in progress is abandoned at once."""
        self._stop.set()  # first: every loop checks it after any wake-up
        self._nudge.set()
        self._poke(self._abort_w)
        self._poke(self._wake_w)

    def join(self, timeout: float | None = None) -> bool:
        """For tests and scripts (never on a Tk thread): True once the thread ended."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

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
            self._emit(ev.Closed(_("internal error: {error}").format(error=e),
                                 ev.Ended.FAILED))
        finally:
            self._farewell()
            with self._pipes_lock:
                self._pipes_open = False
                for sock in (self._wake_r, self._wake_w, self._abort_r, self._abort_w):
                    sock.close()

    def _idle(self) -> None:
        """Not connected: wait for a command."""
        wait_readable(self._wake_r, 0.5)
        self._drain_wake()
        while not self._stop.is_set():
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return
            kind = command[0]
            if kind == "connect":
                self._connect(*command[1:])
                return
            if kind == "reconnect":
                if self.token is None or self._address is None:
                    self._emit(ev.Closed(_("log in again with your password"),
                                         ev.Ended.EXPIRED))
                else:
                    self._resume((0.0, *self.reconnect_delays[1:]), _("reconnecting"))
                return
            if kind == "send" and command[1].get("type") == "login":
                self._emit(ev.ConnectFailed(_("not connected"), None))
            elif kind not in ("send", "say"):
                raise ValueError(f"unknown chat session command {kind!r}")
            # A say or history request while offline is dropped here: the
            # window keeps unsent lines and sends them after the next welcome.

    def _connect(self, host: str, port: int, tls: bool = True) -> None:
        self._address = (host, port)
        self.tls = tls
        self.token = None
        conn = ChatConnection(self.timeout, tls, self.pins)
        try:
            hello = conn.connect(host, port, abort=self._abort_r)
        except CertificateChanged as e:
            conn.close()
            self._emit(ev.CertificateChanged(e.pinned, e.offered, (host, port), False))
            return
        except (OSError, FrameError, UnicodeError) as e:
            conn.close()
            if not self._stop.is_set():
                self._emit(ev.ConnectFailed(_("cannot reach {host}:{port}: {reason}").format(
                    host=host, port=port, reason=describe_error(e)), (host, port)))
            return
        conn.sock.setblocking(False)
        self._conn = conn
        self.security = conn.security
        self._emit(ev.Hello(hello.get("known_name") or None, str(hello.get("server", "")),
                            (host, port), conn.security, hello.get("tls_required") is True))

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _farewell(self) -> None:
        """Closing: send what was said, then log out, so the token is revoked
        and the others see us leave."""
        conn = self._conn
        if conn is not None and self.token is not None:
            try:
                conn.sock.setblocking(True)
                conn.timeout = FAREWELL_SECONDS
                # Lines handed over before close() still go out, ahead of the logout.
                while True:
                    try:
                        command = self._commands.get_nowait()
                    except queue.Empty:
                        break
                    if command[0] == "say" and command[2] in (None, self.epoch):
                        conn.send(command[1])
                conn.send({"type": "logout"})
                deadline = time.monotonic() + FAREWELL_SECONDS
                while (left := deadline - time.monotonic()) > 0:
                    msg = conn.reader.read(left)
                    if msg is None or msg.get("type") == "bye":
                        break
            except (OSError, FrameError):
                pass  # the server ends the session whether or not we stay for its bye
        self._drop()

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
        if self._stop.is_set():
            return
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
                        self._lost(_("the server closed the connection"))
                        return
                    self._handle(msg)
                    if self._conn is not conn:
                        return
            except TimeoutError:
                pass  # everything buffered has been handled
            except (OSError, FrameError) as e:
                self._lost(describe_error(e))

    def _do(self, command: tuple) -> bool:
        """Carry out one command; False when the connection changed."""
        kind = command[0]
        try:
            if kind == "send":
                self._conn.send(command[1])
            elif kind == "say":
                msg, epoch = command[1:]
                if epoch is None or epoch == self.epoch:
                    self._conn.send(msg)
                else:
                    log.debug("chat: a say made for login %s dropped on login %s",
                              epoch, self.epoch)
            elif kind == "connect":
                self._drop()
                self._connect(*command[1:])
                return False
            elif kind != "reconnect":  # already connected: nothing to do
                raise ValueError(f"unknown chat session command {kind!r}")
        except OSError as e:
            self._lost(describe_error(e))
            return False
        return True

    def _handle(self, msg: dict) -> None:
        kind = msg.get("type")
        if kind == "welcome":
            resumed = self.token is not None and self.token == msg.get("token")
            self.token, self.name = msg.get("token"), msg.get("name")
            self.epoch += 1
            self._emit(ev.Welcome(
                name=str(msg.get("name")), online=[str(n) for n in msg.get("online") or []],
                history=[m for m in msg.get("history") or [] if isinstance(m, dict)],
                new_account=bool(msg.get("new_account")), resumed=resumed, epoch=self.epoch,
                address=self._address or ("", 0)))
        elif kind == "message":
            self._emit(ev.Message(msg))
        elif kind == "joined":
            self._emit(ev.Joined(str(msg.get("name"))))
        elif kind == "left":
            self._emit(ev.Left(str(msg.get("name"))))
        elif kind == "history":
            self._emit(ev.History([m for m in msg.get("messages") or []
                                   if isinstance(m, dict)]))
        elif kind == "ping":
            self._conn.send({"type": "pong"})
        elif kind == "error":
            code, text = str(msg.get("code", "error")), str(msg.get("message", ""))
            if self.token is None:
                self._emit(ev.LoginFailed(code, text))
            else:
                self._emit(ev.ServerError(code, text))
        elif kind == "bye":
            reason = msg.get("reason")  # a code: shutdown, kicked
            if reason == "shutdown":
                self._lost(_("the server is shutting down"))
            elif reason == "kicked":  # the token still resumes, if the user wants
                self._drop()
                self._emit(ev.Closed(_("the server's operator disconnected you"),
                                     ev.Ended.KICKED))
            else:
                self._drop()
                self._emit(ev.Closed(
                    _("the server ended the session ({reason})").format(reason=reason)
                    if reason else code_text("closed"), ev.Ended.ENDED))

    def _lost(self, reason: str) -> None:
        """The connection dropped: resume with the token, or report the end."""
        self._drop()
        if self.token is None or self._address is None:
            self._emit(ev.Closed(_("connection lost: {reason}").format(reason=reason),
                                 ev.Ended.LOST))
            return
        self._resume(self.reconnect_delays, reason)

    def _resume(self, delays: tuple[float, ...], reason: str) -> None:
        """Try to resume the session with its token, after each delay in turn."""
        refused = False  # the last attempt found no server listening
        for attempt, delay in enumerate(delays, 1):
            self._emit(ev.Reconnecting(attempt, len(delays), delay, reason, refused))
            self._nudge.clear()
            if self._stop.is_set():  # close() sets it before the nudge
                return
            self._nudge.wait(delay)
            if self._stop.is_set():
                return
            conn = ChatConnection(self.timeout, self.tls, self.pins)
            try:
                conn.connect(*self._address, abort=self._abort_r)
                welcome = conn.resume(self.token)
            except CertificateChanged as e:
                # Never resumed behind the user's back: the token is kept for
                # reconnect() once the user has accepted the new certificate.
                conn.close()
                self._emit(ev.CertificateChanged(e.pinned, e.offered, self._address, True))
                return
            except ChatError as e:
                conn.close()
                if e.code in TOKEN_REFUSED:
                    self.token = None
                    self._emit(ev.Closed(code_text(e.code), ev.Ended.EXPIRED))
                    return
                # e.g. name_in_use: the server has not seen the drop yet
                reason, refused = code_text(e.code, e.message), False
                continue
            except (OSError, FrameError, UnicodeError) as e:
                conn.close()
                if self._stop.is_set():
                    return
                reason, refused = describe_error(e), isinstance(e, ConnectionRefusedError)
                continue
            conn.sock.setblocking(False)
            self._conn = conn
            self.security = conn.security
            self._handle(welcome)
            return
        # The token is kept: reconnect() may still resume later.
        self._emit(ev.Closed(_("could not reconnect: {reason}").format(reason=reason),
                             ev.Ended.GAVE_UP))
