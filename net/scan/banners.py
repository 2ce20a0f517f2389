"""What an open port says first: the banners of ``netdesk scan --banners``.

Each open port is connected to once more and given a short while to
introduce itself: SSH, SMTP, FTP and POP3 servers speak first. Web servers
don't, so ports in ``HTTP_PORTS`` are asked ``HEAD /`` straight away. A port
still silent halfway through its time is sent ``PROBE``; one that sends it
straight back is an echo service. netdesk's own chat service is known by
its ``hello`` frame (PROTOCOL.md, section 2), parsed here rather than with
net.chat, which the scanner may not import.

Everything a port sends is hostile text until made printable: a banner
ends up in a terminal and in a window, where an ESC sequence or a bidi
override would do what its sender wants. ``printable`` is the only way out.

All probes share one selector on one thread, at most ``parallel`` at once.
Each is bounded in time (``timeout``, connect and read together) and in
bytes (``max_bytes``, never more read), and a network error only means no
banner.
"""

from __future__ import annotations

import errno
import json
import math
import selectors
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Collection, Iterable

BANNER_TIMEOUT = 2.0  # seconds per port, connect and read together
BANNER_BYTES = 1024  # the most read from one port
PRINTABLE_LIMIT = 160  # characters in a banner as shown
# Ports asked "HEAD /" at once, since a web server waits for a request: the
# usual plain-HTTP ports, development servers' defaults (Django, Flask,
# Node, Jupyter) and CUPS. No TLS ports: a plain request there only earns
# an alert.
HTTP_PORTS = frozenset({80, 591, 631, 3000, 5000, 8000, 8008, 8080, 8081, 8088, 8888})
HTTP_REQUEST = b"HEAD / HTTP/1.0\r\n\r\n"
# Sent to a port still silent halfway through: one line no service takes
# for a command (a line protocol answers "unknown command"), whose first
# byte is not 0x16 (the chat port would take it for a TLS ClientHello) and
# whose first four bytes, read as a chat frame length, are far over any
# limit (the chat server answers bad_frame and closes).
PROBE = b"netdesk-probe\r\n"
ECHO = "echo service"
# The largest chat frame believed: a hello is about 100 bytes.
CHAT_FRAME_MAX = 4096
_CHAT_SAYS = ("error", "bye")  # frames the chat service may send instead of hello
_TICK = 0.05  # the longest wait in select(): how late a cancel may be seen
# select() on Windows takes at most 512 sockets a set.
_PARALLEL_MAX = 500 if sys.platform == "win32" else 4096

_IN_PROGRESS = {errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY,
                getattr(errno, "WSAEWOULDBLOCK", errno.EWOULDBLOCK)}


def printable(data: bytes, limit: int = PRINTABLE_LIMIT) -> str:
    """``data`` as one line of printable text, at most ``limit`` characters.

    UTF-8 (invalid bytes become U+FFFD); whitespace of any kind, line breaks
    included, becomes one space; every other character Python does not call
    printable (C0 and C1 controls, ESC, DEL, bidi overrides and isolates,
    zero-width and other format characters, private use, unassigned) is
    written as an escape (``\\x1b``, ``\\u202e``). Stripped, and cut with
    "…" when longer than ``limit``.
    """
    return _clean(bytes(data).decode("utf-8", errors="replace"), limit)


def _clean(text: str, limit: int) -> str:
    limit = max(1, limit)
    out: list[str] = []
    size = 0
    space = False
    for ch in text:
        if ch.isspace():  # \t \n \r \v \f, NEL, no-break and other spaces, U+2028
            space = bool(out)  # leading spaces are dropped, runs become one
            continue
        if not ch.isprintable():
            code = ord(ch)
            ch = (f"\\x{code:02x}" if code < 0x100 else
                  f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        if space:
            out.append(" ")
            size += 1
            space = False
        out.append(ch)
        size += len(ch)
        if size > limit:  # already too long: no need to look further
            break
    line = "".join(out)
    return line if len(line) <= limit else line[:limit - 1] + "…"


def grab_banners(probes: Iterable[tuple[int, str, int]], *, timeout: float = BANNER_TIMEOUT,
                 max_bytes: int = BANNER_BYTES, parallel: int = 64,
                 cancel: threading.Event | None = None,
                 http_ports: Collection[int] = HTTP_PORTS) -> dict[tuple[str, int], str]:
    """Banners of the open ports in ``probes``: (family, address, port) each,
    the address numeric (IPv4, or IPv6 with an optional ``%scope``).

    Returns {(address, port): banner} for the ports that said something
    recognisable; the others are absent. Blocks until every probe is done
    (at most about ``timeout`` for each batch of ``parallel``) or ``cancel``
    is set, which ends it within a fraction of a second with the banners
    complete by then. Raises ValueError for bad arguments, never for a
    network error.
    """
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) \
            or not (math.isfinite(timeout) and timeout > 0):
        raise ValueError(f"banner timeout must be a positive number of seconds, not {timeout!r}")
    for name, value in (("max_bytes", max_bytes), ("parallel", parallel)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a whole number of at least 1, not {value!r}")
    grabber = _Grabber(_targets(probes, frozenset(http_ports)), float(timeout), max_bytes,
                       min(parallel, _PARALLEL_MAX),
                       cancel if cancel is not None else threading.Event())
    return grabber.run()


# -- what to connect to -------------------------------------------------------
_Target = tuple[int, tuple, tuple[str, int], bool]  # family, sockaddr, result key, HTTP?


def _targets(probes: Iterable[tuple[int, str, int]], http_ports: frozenset[int]
             ) -> deque[_Target]:
    """Checked up front, so a bad probe fails before any socket is opened;
    addresses must be numeric, so no name lookup ever blocks the loop."""
    resolved: dict[tuple[int, str], tuple[int, tuple]] = {}
    seen: set[tuple[str, int]] = set()
    out: deque[_Target] = deque()
    for family, address, port in probes:
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise ValueError(f"probe port must be from 1 to 65535, not {port!r}")
        if (address, port) in seen:
            continue
        seen.add((address, port))
        where = resolved.get((family, address))
        if where is None:
            try:
                infos = socket.getaddrinfo(address, None, family, socket.SOCK_STREAM, 0,
                                           socket.AI_NUMERICHOST)
            except (socket.gaierror, UnicodeError, TypeError, ValueError):
                raise ValueError(f"probe address {address!r} is not a numeric IP address "
                                 "of its family") from None
            where = resolved[(family, address)] = (infos[0][0], infos[0][4])
        real_family, sockaddr = where
        out.append((real_family, (sockaddr[0], port, *sockaddr[2:]), (address, port),
                    port in http_ports))
    return out


# -- the loop ----------------------------------------------------------------------
class _Conn:
    """One probe in flight."""

    __slots__ = ("sock", "fd", "key", "http", "deadline", "quiet_at", "connecting",
                 "sent", "buf")

    def __init__(self, sock: socket.socket, key: tuple[str, int], http: bool, deadline: float):
        self.sock = sock
        self.fd = sock.fileno()
        self.key = key
        self.http = http
        self.deadline = deadline
        self.quiet_at: float | None = None  # when to send PROBE if nothing came
        self.connecting = True
        self.sent = b""
        self.buf = bytearray()

    def wake_at(self) -> float:
        return self.deadline if self.quiet_at is None else min(self.quiet_at, self.deadline)


class _Grabber:
    def __init__(self, todo: deque[_Target], timeout: float, max_bytes: int, parallel: int,
                 cancel: threading.Event):
        self.todo = todo
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.parallel = parallel
        self.cancel = cancel
        self.sel = selectors.DefaultSelector()
        self.active: dict[int, _Conn] = {}
        self.results: dict[tuple[str, int], str] = {}

    def run(self) -> dict[tuple[str, int], str]:
        try:
            while (self.todo or self.active) and not self.cancel.is_set():
                self._start_some()
                if not self.active:
                    continue
                now = time.monotonic()
                wake = min(conn.wake_at() for conn in self.active.values())
                for key, _ in self.sel.select(min(max(wake - now, 0.0), _TICK)):
                    conn = key.data
                    if self.active.get(conn.fd) is not conn:
                        continue
                    if conn.connecting:
                        self._connected(conn)
                    else:
                        self._read(conn)
                now = time.monotonic()
                for conn in list(self.active.values()):
                    if now >= conn.deadline:
                        self._finish(conn)
                    elif conn.quiet_at is not None and now >= conn.quiet_at:
                        self._send(conn, PROBE)
        finally:
            for conn in list(self.active.values()):
                self._close(conn)
            self.sel.close()
        return self.results

    def _start_some(self) -> None:
        while self.todo and len(self.active) < self.parallel:
            family, sockaddr, key, http = self.todo.popleft()
            try:
                sock = socket.socket(family, socket.SOCK_STREAM)
            except OSError:
                # Out of file descriptors (or buffers): wait for a slot to
                # free up, unless nothing is in flight to free one.
                if self.active:
                    self.todo.appendleft((family, sockaddr, key, http))
                    return
                continue
            try:
                sock.setblocking(False)
                err = sock.connect_ex(sockaddr)
            except OSError as e:
                err = e.errno or -1
            if err != 0 and err not in _IN_PROGRESS:
                sock.close()  # refused, unreachable: nothing to say
                continue
            conn = _Conn(sock, key, http, time.monotonic() + self.timeout)
            self.sel.register(sock, selectors.EVENT_WRITE, conn)
            self.active[conn.fd] = conn

    def _connected(self, conn: _Conn) -> None:
        try:
            err = conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        except OSError:
            err = -1
        if err or _self_connected(conn.sock):
            self._close(conn)
            return
        conn.connecting = False
        self.sel.modify(conn.sock, selectors.EVENT_READ, conn)
        if conn.http:
            self._send(conn, HTTP_REQUEST)
        else:
            # Half of what is left, so an echo has as long to answer as a
            # greeter had to speak.
            now = time.monotonic()
            conn.quiet_at = now + (conn.deadline - now) / 2

    def _send(self, conn: _Conn, data: bytes) -> None:
        conn.quiet_at = None
        try:
            sent = conn.sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            self._finish(conn)
            return
        conn.sent = data[:sent]

    def _read(self, conn: _Conn) -> None:
        try:
            data = conn.sock.recv(self.max_bytes - len(conn.buf))
        except BlockingIOError:
            return
        except OSError:  # reset: what came before it still counts
            self._finish(conn)
            return
        if not data:
            self._finish(conn)
            return
        conn.quiet_at = None  # it spoke: no probe, whatever it says next
        conn.buf += data
        if _complete(conn.buf, conn.sent, self.max_bytes):
            self._finish(conn)

    def _finish(self, conn: _Conn) -> None:
        self._close(conn)
        banner = describe(bytes(conn.buf), conn.sent, self.max_bytes)
        if banner:
            self.results[conn.key] = banner

    def _close(self, conn: _Conn) -> None:
        self.active.pop(conn.fd, None)
        try:
            self.sel.unregister(conn.sock)
        except (KeyError, ValueError):
            pass
        conn.sock.close()


def _self_connected(sock: socket.socket) -> bool:
    """On loopback a connect to a free port in the ephemeral range may pick
    that very port as its source and connect to itself: it would then echo
    PROBE. (The engine checks the same.)"""
    try:
        return sock.getsockname()[:2] == sock.getpeername()[:2]
    except OSError:
        return True


# -- what was said ---------------------------------------------------------------
def _frame_max(max_bytes: int) -> int:
    return min(CHAT_FRAME_MAX, max_bytes - 4)


def _complete(buf: bytearray, sent: bytes, max_bytes: int) -> bool:
    """Whether ``buf`` says enough to stop reading."""
    if len(buf) >= max_bytes:
        return True
    if buf[:1] == b"\0":  # perhaps a chat frame: wait for all of it
        if len(buf) < 4:
            return False
        length = int.from_bytes(buf[:4], "big")
        if 0 < length <= _frame_max(max_bytes):
            return len(buf) >= 4 + length
    if sent and sent.startswith(buf):  # an echo so far
        return len(buf) >= len(sent)
    if buf.startswith(b"HTTP/") or b"HTTP/".startswith(buf):  # up to the end of the headers
        return b"\r\n\r\n" in buf or b"\n\n" in buf
    return b"\n" in buf.lstrip()  # a line with something in it


def describe(data: bytes, sent: bytes = b"", max_bytes: int = BANNER_BYTES) -> str:
    """The banner for ``data``, what a port sent after we sent ``sent``;
    "" when there is nothing to show."""
    if not data:
        return ""
    chat = _chat(data, max_bytes)
    if chat:
        return chat
    if sent and data == sent:
        return ECHO
    if data.startswith(b"HTTP/"):
        return _http(data)
    data = data.lstrip()
    end = data.find(b"\n")
    return printable(data if end < 0 else data[:end])


def _chat(data: bytes, max_bytes: int) -> str:
    """``netdesk chat (netdesk 0.1.0), TLS available`` for a chat hello; ""
    for anything else, invalid JSON included (shown as ordinary bytes)."""
    length = int.from_bytes(data[:4], "big")
    if len(data) < 5 or not 0 < length <= _frame_max(max_bytes) or len(data) < 4 + length:
        return ""
    try:
        msg = json.loads(data[4:4 + length].decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return ""
    if not isinstance(msg, dict):
        return ""
    kind, server, code = msg.get("type"), msg.get("server"), msg.get("code")
    if kind == "hello" and isinstance(server, str) and "proto" in msg:
        # v1.1 servers say whether this connection is TLS and whether TLS is
        # required; a server that says either can do TLS.
        tls = (", TLS required" if msg.get("tls_required") is True else
               ", TLS available" if isinstance(msg.get("tls"), bool) else "")
        return "netdesk chat (" + _clean(server, PRINTABLE_LIMIT - 30) + ")" + tls
    if kind in _CHAT_SAYS:  # e.g. too_many_connections, or shutting down
        detail = f"{kind} {code}" if isinstance(code, str) else kind
        return _clean(f"netdesk chat ({detail})", PRINTABLE_LIMIT)
    return ""


def _http(data: bytes) -> str:
    """``HTTP/1.0 200 OK; Server: SimpleHTTP/0.6 Python/3.11.7``."""
    head = data.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    status, *headers = head.split(b"\n")
    for line in headers:
        name, colon, value = line.partition(b":")
        if colon and name.strip().lower() == b"server" and value.strip():
            return printable(status + b"; Server: " + value.strip())
    return printable(status)
