"""Small socket helpers shared by the servers and clients.

Waiting uses poll() where the platform has it: select() fails on file
descriptors past 1023, which a server with hundreds of clients reaches.
"""

from __future__ import annotations

import select
import socket
import struct
import sys
import time
from collections.abc import Sequence

from net.i18n import _


def set_io_timeout(sock: socket.socket, seconds: float) -> None:
    """Bound every blocking read and write on ``sock`` by ``seconds``.

    Set in the kernel (SO_RCVTIMEO/SO_SNDTIMEO) rather than with
    ``settimeout``: Python's timeout mode costs a poll() before every call,
    which halves an echo server's throughput. A read that times out raises
    ``BlockingIOError`` (EAGAIN) on POSIX, ``TimeoutError`` on Windows.
    """
    sock.setblocking(True)
    if sys.platform == "win32":
        value = struct.pack("I", int(seconds * 1000))
    else:
        whole = int(seconds)
        value = struct.pack("ll", whole, int((seconds - whole) * 1_000_000))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, value)


def shutdown(sock: socket.socket | None) -> None:
    """Shut both directions down, waking any thread blocked on ``sock``;
    a socket already closed or reset is fine."""
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def ready(socks: Sequence[socket.socket], write: bool, timeout: float | None
          ) -> list[socket.socket]:
    """The sockets of ``socks`` ready to read (or write) within ``timeout``."""
    by_fd = {s.fileno(): s for s in socks}
    by_fd.pop(-1, None)  # closed meanwhile
    if not by_fd:
        return []
    if hasattr(select, "poll"):
        poller = select.poll()
        mask = select.POLLOUT if write else select.POLLIN | select.POLLPRI
        for fd in by_fd:
            poller.register(fd, mask)
        ms = None if timeout is None else max(0, int(timeout * 1000 + 0.999))
        return [by_fd[fd] for fd, _ in poller.poll(ms) if fd in by_fd]
    lists = ([], list(by_fd.values()), []) if write else (list(by_fd.values()), [], [])
    readable, writable, _ = select.select(*lists, timeout)
    return writable if write else readable


def wait_readable(sock: socket.socket, timeout: float | None) -> bool:
    """True when ``sock`` can be read (data, EOF or error) within ``timeout``."""
    return bool(ready([sock], False, timeout))


def wait_writable(sock: socket.socket, timeout: float | None) -> bool:
    return bool(ready([sock], True, timeout))


def send_all(sock: socket.socket, data: bytes, deadline: float) -> None:
    """Send all of ``data`` on a blocking or non-blocking socket by
    ``deadline`` (monotonic); ``TimeoutError`` when the peer stops reading."""
    view = memoryview(data)
    while view:
        try:
            sent = sock.send(view)
        except (BlockingIOError, InterruptedError):
            sent = 0
        view = view[sent:]
        if view:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the peer is not reading")
            wait_writable(sock, min(left, 0.5))


def describe_error(e: BaseException) -> str:
    """One line a user can act on, from a network exception, in the user's
    language (the system's own reason, ``strerror``, stays as the system says it)."""
    if isinstance(e, socket.gaierror):
        return _("unknown host ({reason})").format(reason=e.strerror)
    if isinstance(e, ConnectionRefusedError):
        return _("connection refused: is the server running on that port?")
    if isinstance(e, TimeoutError):
        return str(e) if str(e) and str(e) != "timed out" else _("timed out")
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    return str(e) or type(e).__name__
