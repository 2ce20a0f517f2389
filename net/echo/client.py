"""Echo client: one connection, round trips timed, and a session thread.

``EchoClient`` is the blocking client (used by ``netdesk echo``);
``EchoSession`` runs one on a thread of its own, takes commands from a
queue and reports plain events, so a window never waits on the network.
"""

from __future__ import annotations

import queue
import socket
import threading
import time
from collections.abc import Callable

from net.echo.server import CHUNK
from net.sockutil import describe_error, shutdown

Event = tuple
Emit = Callable[[Event], None]


class EchoClient:
    def __init__(self, timeout: float = 5.0):
        self.timeout = timeout
        self.sock: socket.socket | None = None

    def connect(self, host: str, port: int) -> tuple[str, int]:
        self.sock = socket.create_connection((host, port), timeout=self.timeout)
        return self.sock.getpeername()[:2]

    def roundtrip(self, data: bytes) -> tuple[bytes, float]:
        """Send ``data``; wait (bounded by the timeout) for as many bytes back."""
        if self.sock is None:
            raise ConnectionError("not connected")
        start = time.perf_counter()
        self.sock.sendall(data)
        deadline = start + self.timeout
        parts, got = [], 0
        while got < len(data):
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"only {got} of {len(data)} bytes came back in "
                                   f"{self.timeout:g} s")
            self.sock.settimeout(left)
            chunk = self.sock.recv(min(CHUNK * 64, len(data) - got))
            if not chunk:
                raise ConnectionError("the server closed the connection")
            parts.append(chunk)
            got += len(chunk)
        return b"".join(parts), time.perf_counter() - start

    def close(self) -> None:
        if self.sock is not None:
            shutdown(self.sock)
            self.sock.close()
            self.sock = None


class EchoSession:
    """An echo connection driven from a command queue on its own thread.

    Commands: ``connect(host, port)``, ``send(text)``, ``disconnect()``;
    events: ``("connected", host, port)``, ``("sent", text)``,
    ``("reply", text, rtt_seconds)``, ``("error", message)``,
    ``("disconnected", reason)``. ``close()`` stops and joins the thread.
    """

    def __init__(self, emit: Emit, timeout: float = 5.0):
        self._emit = emit
        self._client = EchoClient(timeout)
        self._commands: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="echo-session", daemon=True)
        self._thread.start()

    def connect(self, host: str, port: int) -> None:
        self._commands.put(("connect", host, port))

    def send(self, text: str) -> None:
        self._commands.put(("send", text))

    def disconnect(self) -> None:
        self._commands.put(("disconnect",))

    def close(self, timeout: float = 5.0) -> None:
        self._commands.put(None)
        shutdown(self._client.sock)  # wake a round trip in progress
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        try:
            while (command := self._commands.get()) is not None:
                try:
                    self._do(*command)
                except (OSError, UnicodeError) as e:
                    was_connected = self._client.sock is not None
                    self._client.close()
                    self._emit(("error", describe_error(e)))
                    if was_connected:
                        self._emit(("disconnected", "connection lost"))
        finally:
            if self._client.sock is not None:
                self._client.close()
                self._emit(("disconnected", "closed"))

    def _do(self, kind: str, *args) -> None:
        if kind == "connect":
            self._client.close()
            host, port = self._client.connect(*args)
            self._emit(("connected", host, port))
        elif kind == "send":
            if self._client.sock is None:
                self._emit(("error", "not connected"))
                return
            text = args[0]
            self._emit(("sent", text))
            reply, rtt = self._client.roundtrip((text + "\n").encode("utf-8"))
            self._emit(("reply", reply.decode("utf-8", "replace").rstrip("\n"), rtt))
        elif kind == "disconnect" and self._client.sock is not None:
            self._client.close()
            self._emit(("disconnected", "you disconnected"))
