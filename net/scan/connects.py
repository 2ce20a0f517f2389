"""The hot loop of the fast scanner: many non-blocking connects at once.

``connect_loop`` drives up to ``capacity`` connects through epoll (or the
platform's selector), takes each answer as a round-trip sample, retries once
a probe that got no answer, and reports through a ``Share``. It runs on a
scanner thread or in a forked worker process; it never prints and never
takes a lock per port.

Where the kernel work goes, measured on 65535 loopback ports (2 cores):
creating and closing a socket per port costs as much as the connect itself.
On Linux a socket whose connect was refused can connect again, and one whose
connect succeeded can be reset with ``connect(AF_UNSPEC)``, so each socket
here serves many ports: 1.4 s fell to 0.85 s.
"""

from __future__ import annotations

import _socket
import errno
import select
import selectors
import socket
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator

from net.scan.events import CLOSED, FILTERED, OPEN
from net.scan.timing import RETRIES, Timing

LINUX = sys.platform.startswith("linux")
BATCH = 256  # new connects per pass, so answers are collected between batches
REPORT_INTERVAL = 0.05

_IN_PROGRESS = frozenset({errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY,
                          getattr(errno, "WSAEWOULDBLOCK", errno.EWOULDBLOCK)})
_REFUSED = frozenset({errno.ECONNREFUSED,
                      getattr(errno, "WSAECONNREFUSED", errno.ECONNREFUSED)})
# The machine ran out of local ports or buffers: try that port again later.
_TRY_AGAIN = frozenset({errno.EAGAIN, errno.EADDRNOTAVAIL, errno.ENOBUFS})


def classify(err: int) -> str:
    if err == 0:
        return OPEN
    if err in _REFUSED:
        return CLOSED
    # Timed out (a timed-out connect_ex returns EAGAIN, not an exception),
    # host or network unreachable: no answer to tell open from closed.
    return FILTERED


def is_self_connect(sock) -> bool:
    """On loopback a connect to a port in the ephemeral range may pick that
    very port as its source and connect to itself: that is no open port."""
    try:
        return sock.getsockname()[:2] == sock.getpeername()[:2]
    except OSError:
        return False


class Host:
    """What the loop needs of a target, resolved once."""

    __slots__ = ("name", "address", "family", "tail", "local")

    def __init__(self, name: str, address: str, family: int, tail: tuple = ()):
        self.name, self.address, self.family, self.tail = name, address, family, tail
        self.local = is_local_address(family, address)

    def sockaddr(self, port: int) -> tuple:
        return (self.address, port, *self.tail)


def is_local_address(family: int, address: str) -> bool:
    """True for this machine's own addresses, where self-connects can happen."""
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.bind((address, 0))
        return True
    except OSError:
        return False


def _disconnector() -> Callable[[int], bool] | None:
    """``connect(fd, AF_UNSPEC)``: resets a connected TCP socket on Linux so it
    can connect again (Python's connect() cannot pass AF_UNSPEC)."""
    if not LINUX:
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        connect = libc.connect
        unspec = ctypes.create_string_buffer(16)  # sa_family 0 = AF_UNSPEC
    except (OSError, AttributeError):
        return None
    return lambda fd: connect(fd, unspec, 16) == 0


class Share:
    """A loop's results so far, handed to ``report`` every REPORT_INTERVAL.

    Counts are cumulative per host; ``touched``, ``opens`` and ``finished``
    are what happened since the last report (the receiver clears them).
    """

    __slots__ = ("closed", "filtered", "answered", "remaining", "done", "touched", "opens",
                 "finished")

    def __init__(self, hosts: int, remaining: list[int] | None):
        self.closed = [0] * hosts
        self.filtered = [0] * hosts
        self.answered = bytearray(hosts)
        self.remaining = remaining  # probes left per host, None: not tracked
        self.done = 0
        self.touched: set[int] = set()
        self.opens: list[tuple[int, int]] = []
        self.finished: list[int] = []


class _Poller:
    """Readiness of many connecting sockets: epoll, or any selector.

    With epoll, closing a socket drops it from the set; with a selector it
    must be unregistered first (or the selector keeps a stale key and the
    next socket with that fd fails with "already registered").
    """

    def __init__(self, portable: bool):
        self.epoll = None if portable or not hasattr(select, "epoll") else select.epoll()
        if self.epoll is not None:
            mask = select.EPOLLOUT | select.EPOLLERR | select.EPOLLHUP
            self.register = lambda fd: self.epoll.register(fd, mask)
            self.forget = lambda fd: None
        else:
            self.sel = selectors.DefaultSelector()
            self.register = lambda fd: self.sel.register(fd, selectors.EVENT_WRITE)
            self.forget = self._unregister

    def _unregister(self, fd: int) -> None:
        try:
            self.sel.unregister(fd)
        except (KeyError, ValueError):
            pass

    def poll(self, timeout: float) -> list[int]:
        if self.epoll is not None:
            return [fd for fd, _ in self.epoll.poll(timeout, 4096)]
        if not self.sel.get_map():
            return []
        return [key.fd for key, _ in self.sel.select(timeout)]

    def close(self) -> None:
        (self.epoll or self.sel).close()


def connect_loop(hosts: list[Host], plan: Iterator[tuple[int, int]], capacity: int,
                 timing: Timing, cancelled: Callable[[], bool],
                 report: Callable[[Share, bool], None], *,
                 remaining: list[int] | None = None, first_answer_only: bool = False,
                 portable: bool = False, ephemeral: tuple[int, int] = (1, 65535)) -> Share:
    """Probe every ``(host index, port)`` of ``plan``; returns the final share.

    ``first_answer_only`` (host discovery): a host that answered once gets no
    more probes. ``portable``: the code path of systems without epoll and
    without socket reuse (tested on Linux too).
    """
    share = Share(len(hosts), remaining)
    poller = _Poller(portable)
    register, forget, poll = poller.register, poller.forget, poller.poll
    reuse = LINUX and not portable
    disconnect = _disconnector() if reuse else None
    kind = socket.SOCK_STREAM | getattr(socket, "SOCK_NONBLOCK", 0)
    in_progress, try_again, refused = _IN_PROGRESS, _TRY_AGAIN, _REFUSED
    closed, filtered, answered, touched = share.closed, share.filtered, share.answered, \
        share.touched
    monotonic = time.monotonic
    # fd -> [sock, host, port, attempt, sent, fd], one list per probe; per
    # (host, attempt), a FIFO of those lists: within one FIFO every probe has
    # the same time-out, so the oldest is always the first to expire. A FIFO
    # entry is stale once ``pending`` no longer holds that very list (the
    # socket may be serving another probe by then).
    pending: dict[int, list] = {}
    waiting: dict[tuple[int, int], deque] = {}
    retry: deque[tuple[int, int, int]] = deque()
    free: dict[int, list] = {}  # family -> reusable sockets, still registered
    low, high = ephemeral
    exhausted = False
    last_report = monotonic()

    def final(h: int, port: int, state: str) -> None:
        share.done += 1
        touched.add(h)
        if state is CLOSED:
            closed[h] += 1
            answered[h] = 1
        elif state is OPEN:
            share.opens.append((h, port))
            answered[h] = 1
        else:
            filtered[h] += 1
        if remaining is not None:
            remaining[h] -= 1
            if remaining[h] == 0:
                share.finished.append(h)

    def collect(fds: list[int], now: float) -> int:
        """Take the answers of ``fds``; how many were probes (the others are
        spare sockets, which report their closed state)."""
        taken = 0
        for fd in fds:
            entry = pending.pop(fd, None)
            if entry is None:
                continue
            taken += 1
            sock, h, port, attempt, sent, _ = entry
            host = hosts[h]
            if reuse:
                # A second connect() tells how the first ended and, when it
                # failed, makes the socket ready to connect again.
                err = sock.connect_ex(host.sockaddr(port))
                if err == errno.EISCONN:
                    err = 0
                elif err in in_progress:  # woken early: still connecting
                    pending[fd] = entry
                    continue
            else:
                err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            state = classify(err)
            if state is OPEN and host.local and low <= port <= high and is_self_connect(sock):
                state = CLOSED
            # Every answer of a host's first few, then one in eight: enough to
            # follow a changing round trip at a fraction of the cost.
            if state is not FILTERED and (timing.hosts[h].samples < 16 or not share.done & 7):
                timing.sample(h, now - sent)
            final(h, port, state)
            if reuse and (err in refused or (err == 0 and disconnect(fd))):
                free.setdefault(host.family, []).append(sock)
            else:
                forget(fd)
                sock.close()
        return taken

    try:
        while not cancelled():
            # 1. Start connects in the free slots, on reused sockets first.
            room = capacity - len(pending)
            if room > 0 and (retry or not exhausted):
                now = monotonic()
                started = 0
                while started < min(room, BATCH):
                    if retry:
                        h, port, attempt = retry.popleft()
                    else:
                        item = next(plan, None)
                        if item is None:
                            exhausted = True
                            break
                        (h, port), attempt = item, 0
                    if first_answer_only and answered[h]:
                        continue
                    host = hosts[h]
                    spare = free.get(host.family)
                    if spare:
                        sock, new = spare.pop(), False
                    else:
                        sock, new = _socket.socket(host.family, kind), True
                        if not kind & getattr(socket, "SOCK_NONBLOCK", 0):
                            sock.setblocking(False)
                    err = sock.connect_ex(host.sockaddr(port))
                    started += 1
                    if err in in_progress:
                        fd = sock.fileno()
                        entry = pending[fd] = [sock, h, port, attempt, now, fd]
                        key = (h, attempt)
                        fifo = waiting.get(key)
                        if fifo is None:
                            fifo = waiting[key] = deque()
                        fifo.append(entry)
                        if new:
                            register(fd)
                        continue
                    if not new:
                        forget(sock.fileno())
                    sock.close()
                    if err in try_again and pending:
                        retry.append((h, port, attempt))
                    else:
                        final(h, port, classify(err))
            for spares in free.values():  # sockets no probe needs now
                for sock in spares:
                    forget(sock.fileno())
                    sock.close()
                spares.clear()
            if pending:
                # 2. Collect answers; wait at most until the next deadline.
                now = monotonic()
                due = min((fifo[0][4] + timing.timeout(key[0], key[1])
                           for key, fifo in waiting.items() if fifo), default=now + 0.05)
                collect(poll(min(max(due - now, 0.0), 0.05)), monotonic())
                # 3. Expire probes past their time-out, but only after
                # collecting again: a starved thread wakes late, and sockets
                # that answered meanwhile are not "filtered" because we looked late.
                now = monotonic()
                if due <= now:
                    while collect(poll(0), now):
                        pass
                    for key in list(waiting):
                        fifo = waiting[key]
                        h, attempt = key
                        limit = now - timing.timeout(h, attempt)
                        while fifo:
                            entry = fifo[0]
                            if pending.get(entry[5]) is not entry:
                                fifo.popleft()  # answered already
                            elif entry[4] <= limit:
                                fifo.popleft()
                                del pending[entry[5]]
                                forget(entry[5])
                                entry[0].close()
                                if attempt < RETRIES:
                                    retry.append((h, entry[2], attempt + 1))
                                else:
                                    final(h, entry[2], FILTERED)
                            else:
                                break
                        if not fifo:
                            del waiting[key]
            elif exhausted and not retry:
                break
            now = monotonic()
            if now - last_report >= REPORT_INTERVAL:
                last_report = now
                report(share, False)
    finally:
        for sock, *_ in pending.values():
            forget(sock.fileno())
            sock.close()
        pending.clear()
        for spares in free.values():
            for sock in spares:
                forget(sock.fileno())
                sock.close()
        poller.close()
    report(share, True)
    return share
