"""A blocking chat connection (``ChatConnection``), and what its errors mean.

``ChatConnection`` speaks the protocol one call at a time (tests,
benchmarks, scripts, and each connection of a ``net.chat.client.ChatSession``).
The reasons it gives are for people, in the user's language (``net.i18n``):
the protocol's error codes are translated here (``code_text``); only a code
this client does not know shows what the server said with it.
"""

from __future__ import annotations

import errno
import logging
import os
import selectors
import socket
import time

from net.chat.framing import FrameError, FrameReader, decode_payload, encode, send_bytes
from net.chat.trust import MemoryPins, Pins, secure
from net.i18n import N_, _
from net.sockutil import ready, shutdown, wait_readable
from net.tls import HandshakeError, TlsChannel, TlsInfo, plain_frame_prefix

log = logging.getLogger("netdesk.chatclient")

# What a client accepts from the server: a welcome or history page can be
# far larger than the server's own limit on what it accepts.
CLIENT_MAX_PAYLOAD = 32 * 1024 * 1024
_IN_PROGRESS = {errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY,
                getattr(errno, "WSAEWOULDBLOCK", errno.EWOULDBLOCK)}


# What each of the protocol's error codes means, as a reason ("... : {reason}").
# The window words the login errors in full sentences of its own.
CODE_TEXTS = {
    "too_many_connections": N_("too many connections from this computer at once"),
    "name_in_use": N_("the name is still logged in on the old connection (the server "
                      "has not noticed the drop yet)"),
    "bad_token": N_("the server no longer knows this session (it expired, or its accounts "
                    "were cleared)"),
    "too_many_attempts": N_("too many failed attempts from here; wait a minute"),
    "server_error": N_("the server could not store it (its disk may be full)"),
    "login_timeout": N_("the login took too long"),
    "tls_required": N_("the server accepts logins only over an encrypted (TLS) connection"),
    "rate_limited": N_("you are sending faster than the server allows; wait a moment"),
    "not_logged_in": N_("you were not logged in"),
    "no_such_user": N_("the recipient is not online"),
    "bad_text": N_("a message is 1 to {max} characters"),
    "bad_request": N_("the server did not understand a request of this window ({code})"),
    "bad_frame": N_("the server could not read what this window sent ({code})"),
    "unknown_type": N_("the server does not know a request of this window ({code})"),
    "closed": N_("the server ended the session"),
}


def code_text(code: str, message: str = "") -> str:
    """A protocol error ``code`` as a reason in the user's language. A code
    this client does not know keeps the server's own words, the only
    explanation there is."""
    from net.chat.protocol import TEXT_MAX
    text = CODE_TEXTS.get(code)
    if text is None:
        return _("the server said: {message} ({code})").format(message=message or code,
                                                               code=code)
    return _(text).format(max=TEXT_MAX, code=code)


class ChatError(Exception):
    def __init__(self, code: str, message: str = ""):
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message or code


class ChatConnection:
    """A blocking chat connection. ``connect`` returns the ``hello``.

    TLS by default (PROTOCOL.md section 3), trusted as ``net.chat.trust``
    decides with ``pins``; ``tls=False`` speaks plain, for lab exercises
    with hand-written servers. ``security`` tells what the handshake gave.
    """

    def __init__(self, timeout: float = 10.0, tls: bool = True, pins: Pins | None = None):
        self.timeout = timeout
        self.tls = tls
        self.pins = pins if pins is not None else MemoryPins()
        self.sock: socket.socket | None = None
        self.reader: FrameReader | None = None
        self.hello: dict | None = None
        self.security: TlsInfo | None = None
        self._channel: TlsChannel | None = None
        self._abort: socket.socket | None = None

    def connect(self, host: str, port: int, source: str | None = None,
                abort: socket.socket | None = None, accept: str | None = None) -> dict:
        """Connect (from the local address ``source``, if given) and read ``hello``.

        With ``abort``, a socket that becomes readable when the caller wants
        to give up, another thread can cut short the connect and every later
        wait in ``recv`` (a window closing while its server does not answer):
        they raise ``ConnectionAbortedError``. ``accept`` is a certificate
        fingerprint the user accepted in place of the pinned one.
        Raises ``CertificateChanged`` when the server's certificate is not
        the pinned one.
        """
        self._abort = abort
        if self.tls:
            self._secure(host, port, source, abort, accept)
        else:
            self.sock = self._open(host, port, source, abort)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        self.reader = FrameReader(self.sock, CLIENT_MAX_PAYLOAD,
                                  self._recv_tls if self._channel else None)
        hello = self.recv()
        if hello is not None and hello.get("type") == "error":  # e.g. too_many_connections
            raise ConnectionError(_("the server refused the connection: {reason}").format(
                reason=code_text(str(hello.get("code") or "error"),
                                 str(hello.get("message") or "")[:200])))
        if hello is None or hello.get("type") != "hello":
            raise ConnectionError(_("not a netdesk chat server (it said {reply})").format(
                reply=f"{hello!r:.80}"))
        self.hello = hello
        return hello

    def _secure(self, host: str, port: int, source: str | None,
                abort: socket.socket | None, accept: str | None) -> None:
        def wait(sock: socket.socket, seconds: float) -> bool:
            if abort is None:
                return wait_readable(sock, seconds)
            woken = ready([sock, abort], False, seconds)
            if abort in woken:
                raise ConnectionAbortedError("cancelled")
            return bool(woken)
        try:
            self.sock, self._channel, self.security = secure(
                lambda: self._open(host, port, source, abort), host, port, self.pins,
                self.timeout, accept, wait)
        except HandshakeError as e:
            raise ConnectionError(_handshake_failure(e)) from None

    def _recv_tls(self, size: int) -> bytes:
        raw = self.sock.recv(size)
        if not raw:
            return raw
        plain, reply = self._channel.decrypt(raw)
        if reply:
            send_bytes(self.sock, reply, self.timeout)
        if not plain and not self._channel.eof:
            raise BlockingIOError("a TLS record is not complete yet")
        return plain

    def _open(self, host: str, port: int, source: str | None,
              abort: socket.socket | None) -> socket.socket:
        if abort is None:
            return socket.create_connection((host, port), timeout=self.timeout,
                                            source_address=(source, 0) if source else None)
        # create_connection, but waiting on ``abort`` too: a blocked connect
        # cannot be woken by closing its socket from another thread everywhere.
        deadline = time.monotonic() + self.timeout
        error: OSError | None = None
        for family, kind, proto, _name, address in socket.getaddrinfo(host, port,
                                                                      type=socket.SOCK_STREAM):
            sock = socket.socket(family, kind, proto)
            try:
                if source:
                    sock.bind((source, 0))
                sock.setblocking(False)
                code = sock.connect_ex(address)
                if code in _IN_PROGRESS:
                    with selectors.DefaultSelector() as waiting:
                        waiting.register(sock, selectors.EVENT_WRITE)
                        waiting.register(abort, selectors.EVENT_READ)
                        woken = waiting.select(max(0.0, deadline - time.monotonic()))
                    if any(key.fileobj is abort for key, _ in woken):
                        raise ConnectionAbortedError("cancelled")
                    if not woken:
                        raise TimeoutError("timed out")
                    code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if code:
                    raise OSError(code, os.strerror(code))
                sock.settimeout(self.timeout)
                return sock
            except ConnectionAbortedError:
                sock.close()
                raise
            except OSError as e:
                sock.close()
                error = e
        raise error or OSError(_("no address for {host}").format(host=host))

    def send(self, obj: dict) -> None:
        data = encode(obj)
        if self._channel is not None:
            data = self._channel.encrypt(data)
        send_bytes(self.sock, data, self.timeout)

    def recv(self, timeout: float | None = -1) -> dict | None:
        """The next message; None when the server closed the connection."""
        timeout = self.timeout if timeout == -1 else timeout
        if self._abort is None:
            return self.reader.read(timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                return self.reader.read(0)  # a frame already buffered or arrived
            except TimeoutError:
                pass
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError("no complete frame in time")
            if self._abort in ready([self.sock, self._abort], False, left):
                raise ConnectionAbortedError("cancelled")

    def recv_until(self, *types: str, timeout: float | None = -1) -> dict:
        """Read until a message of one of ``types`` (others are dropped)."""
        while True:
            msg = self.recv(timeout)
            if msg is None:
                raise ConnectionError(_("the server closed the connection"))
            if msg.get("type") in types:
                return msg

    def _authenticate(self, request: dict) -> dict:
        self.send(request)
        reply = self.recv_until("welcome", "error", "bye")
        if reply["type"] == "error":
            raise ChatError(reply.get("code", "error"), reply.get("message", ""))
        if reply["type"] == "bye":
            raise ChatError("closed", code_text("closed"))
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


def _handshake_failure(e: HandshakeError) -> str:
    """Why TLS failed, in words a user can act on: a server that answered in
    the clear is an old or hand-written one (or refused us in the clear)."""
    raw = bytes(getattr(getattr(e, "channel", None), "raw_seen", b""))
    if plain_frame_prefix(raw):
        length = int.from_bytes(raw[:4], "big")
        try:
            frame = decode_payload(raw[4:4 + length]) if len(raw) >= 4 + length else {}
        except FrameError:
            frame = {}
        if frame.get("type") == "error":
            return _("the server refused the connection: {reason}").format(
                reason=code_text(str(frame.get("code") or "error"),
                                 str(frame.get("message") or "")[:200]))
        return _("the server does not offer TLS (an older or a hand-written server); "
                 "choose \"plain (no TLS)\" to connect without encryption")
    return _("the encrypted (TLS) connection failed: {reason}").format(reason=str(e))
