"""The chat wire format (PROTOCOL.md section 2): length-prefixed JSON frames.

    4 bytes, unsigned big-endian payload length | payload: one UTF-8 JSON object

Written once and used by the server and every client. ``FrameDecoder`` is
pure (bytes in, objects out) so it can be fed any split of a stream;
``FrameReader`` reads frames from a socket with every read bounded in size
and time, checking the length in the header before it reads the body.
"""

from __future__ import annotations

import json
import socket
import struct
import time
from collections.abc import Callable

from net.chat.protocol import MAX_PAYLOAD
from net.sockutil import send_all, wait_readable

HEADER = struct.Struct(">I")
READ_SIZE = 65536


class FrameError(ValueError):
    """The peer broke the framing: answer ``bad_frame`` and close."""


def encode(obj: dict) -> bytes:
    payload = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return HEADER.pack(len(payload)) + payload


# Integers past this many digits are outside -2^53..2^53 anyway; they are
# decoded as infinity (not an int, so every field check refuses them with
# bad_request) instead of spending CPU on a 60,000-digit int().
_INT_DIGITS = 17


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _parse_int(text: str) -> int | float:
    if len(text.lstrip("-")) > _INT_DIGITS:
        return float("-inf") if text.startswith("-") else float("inf")
    return int(text)


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _DuplicateKey("an object has the same key twice")
    return obj


def decode_payload(payload: bytes) -> dict:
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise FrameError("payload is not valid UTF-8") from None
    try:
        obj = json.loads(text, parse_constant=_reject_constant, parse_int=_parse_int,
                         object_pairs_hook=_unique_keys)
    except _DuplicateKey as e:
        raise FrameError(f"payload is not valid: {e}") from None
    except (ValueError, RecursionError):
        raise FrameError("payload is not valid JSON") from None
    if not isinstance(obj, dict):
        raise FrameError("payload is not a JSON object")
    return obj


class FrameDecoder:
    """Incremental decoder: ``feed(bytes)`` returns the complete objects."""

    def __init__(self, max_payload: int = MAX_PAYLOAD):
        self.max_payload = max_payload
        self._buf = bytearray()
        self.error: FrameError | None = None

    def feed(self, data: bytes) -> list[dict]:
        """The objects completed by ``data``.

        A broken frame raises ``FrameError``, but only once the objects
        before it were returned: frames are handled in the order they
        arrived, so a valid frame sent in the same write as a bad one is
        carried out first, and the next call raises.
        """
        if self.error is not None:
            raise self.error
        self._buf += data
        out = []
        try:
            while True:
                length = self.pending_length()
                if length is None or len(self._buf) < HEADER.size + length:
                    return out
                payload = bytes(self._buf[HEADER.size:HEADER.size + length])
                del self._buf[:HEADER.size + length]
                out.append(decode_payload(payload))
        except FrameError as e:
            self.error = e
            self._buf.clear()
            if not out:
                raise
            return out

    def pending_length(self) -> int | None:
        """The announced length of the next frame, checked; None if unknown yet."""
        if len(self._buf) < HEADER.size:
            return None
        (length,) = HEADER.unpack_from(self._buf)
        if length == 0:
            raise FrameError("frame length 0 is invalid")
        if length > self.max_payload:
            raise FrameError(f"frame of {length} bytes is over the {self.max_payload} limit")
        return length

    @property
    def buffered(self) -> int:
        return len(self._buf)


class FrameReader:
    """Reads frames from a socket; at most one ``READ_SIZE`` recv at a time.

    ``read(timeout)`` returns the next object, or None when the peer closed
    cleanly between frames. It raises ``TimeoutError`` when nothing complete
    arrived in time, ``FrameError`` on a broken frame, and ``ConnectionError``
    when the peer vanished mid-frame. Works on blocking and non-blocking
    sockets alike (it waits for readability itself).
    """

    def __init__(self, sock: socket.socket, max_payload: int = MAX_PAYLOAD,
                 recv: Callable[[int], bytes] | None = None):
        self.sock = sock
        # Over TLS, ``recv`` decrypts what the raw socket gives: it raises
        # BlockingIOError while a record is incomplete, as the socket does.
        self.recv = recv or sock.recv
        self.decoder = FrameDecoder(max_payload)
        self._ready: list[dict] = []

    def read(self, timeout: float | None) -> dict | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._ready:
            if self.decoder.error is not None:
                raise self.decoder.error
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not wait_readable(self.sock, left):
                raise TimeoutError("no complete frame in time")
            try:
                data = self.recv(READ_SIZE)
            except (BlockingIOError, InterruptedError):
                continue
            if not data:
                if self.decoder.buffered:
                    raise ConnectionError("connection closed in the middle of a frame")
                return None
            self._ready.extend(self.decoder.feed(data))
        return self._ready.pop(0)


def send_frame(sock: socket.socket, obj: dict, timeout: float = 10.0) -> None:
    """Blocking send of one frame, bounded by ``timeout`` (client side)."""
    send_bytes(sock, encode(obj), timeout)


def send_bytes(sock: socket.socket, data: bytes, timeout: float = 10.0) -> None:
    """Blocking send of ``data``, bounded by ``timeout``, on any kind of socket."""
    send_all(sock, data, time.monotonic() + timeout)
