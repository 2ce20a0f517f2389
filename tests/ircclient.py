"""A bare IRC client for the tests (a socket, a line reader, deadlines) and
``said``, which waits for a chat window's connection to get a message:
shared by the IRC test modules, so none imports another."""

from __future__ import annotations

import socket
import time

from net.chat.client import ChatConnection
from net.irc.lines import LineSplitter, parse


class Irc:
    """A bare IRC client: send lines, read parsed messages with deadlines."""

    def __init__(self, port: int, wrap=None):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock = wrap(sock) if wrap else sock  # e.g. TLS, in test_irc_tls
        self.splitter = LineSplitter(1 << 20)
        self.lines: list[str] = []
        self.closed = False

    def send(self, text: str | bytes) -> None:
        self.sock.sendall((text.encode() if isinstance(text, str) else text) + b"\r\n")

    def _fill(self, timeout: float) -> None:
        self.sock.settimeout(max(timeout, 0.01))
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return
        except OSError:
            data = b""
        if not data:
            self.closed = True
            return
        for item in self.splitter.feed(data):
            self.lines.append(item.decode() if isinstance(item, bytes) else "")

    def expect(self, match, timeout: float = 5.0) -> str:
        """The first line (consumed, with those before it) for which ``match`` holds."""
        if isinstance(match, str):
            word = match
            match = lambda ln: parse(ln) is not None and parse(ln).command == word  # noqa: E731
        deadline = time.monotonic() + timeout
        while True:
            for i, ln in enumerate(self.lines):
                if match(ln):
                    del self.lines[:i + 1]
                    return ln
            if self.closed or time.monotonic() > deadline:
                raise AssertionError(f"no such line in {timeout} s; got {self.lines[-15:]}")
            self._fill(deadline - time.monotonic())

    def wait_closed(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.closed:
            assert time.monotonic() < deadline, "the server did not close"
            self._fill(deadline - time.monotonic())

    def register(self, nick: str, password: str | None = "pw-" + "x", caps: str = "") -> str:
        if caps:
            self.send("CAP LS 302")
            self.send(f"CAP REQ :{caps}")
        if password is not None:
            self.send(f"PASS {password}")
        self.send(f"NICK {nick}")
        self.send("USER u 0 * :Real Name")
        if caps:
            self.send("CAP END")
        return self.expect("001")

    def close(self) -> None:
        self.sock.close()


def said(conn: ChatConnection, text: str, timeout: float = 5.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            msg = conn.recv(max(0.05, deadline - time.monotonic()))
        except TimeoutError:
            continue
        if msg and msg.get("type") == "message" and msg["text"] == text:
            return msg
    raise AssertionError(f"the window never got {text!r}")
