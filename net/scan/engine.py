"""The TCP connect scanner: three strategies, one stream of plain events.

Every port ends open (the connect succeeded), closed (refused) or filtered
(no answer within the timeout, or unreachable). The engine never prints:
it calls ``emit`` with the dataclasses below, from the thread that called
``Scanner.run`` only, and ``netdesk scan`` and the scanner window each
render them their own way.

Strategies, so a user can see what threads buy:

- ``sequential``: one blocking connect after another (the lab's first program);
- ``threads``: a pool of threads, each doing blocking connects;
- ``fast`` (default): a few threads, each driving many non-blocking connects
  at once through epoll (or the platform's selector).
"""

from __future__ import annotations

import _socket
import errno
import os
import queue
import select
import selectors
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from net.scan.ports import PortSpecError, parse_ports

STRATEGIES = ("fast", "threads", "sequential")
DEFAULT_TIMEOUT = 1.0
# One selector thread is fastest in CPython: a second one mostly fights it
# for the GIL (measured: 1.0 s vs 1.1 s for 65535 loopback ports).
DEFAULT_THREADS = {"fast": 1, "threads": 256, "sequential": 1}
PROGRESS_INTERVAL = 0.1  # at least 10 progress events a second
# Connects in flight for the whole fast scan; capped below by the fd limit
# (and by select()'s 512 sockets a set on Windows).
DEFAULT_IN_FLIGHT = 500 if sys.platform == "win32" else 2048
FD_HEADROOM = 64

OPEN, CLOSED, FILTERED = "open", "closed", "filtered"

_IN_PROGRESS = {errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY,
                getattr(errno, "WSAEWOULDBLOCK", errno.EWOULDBLOCK)}
_REFUSED = {errno.ECONNREFUSED, getattr(errno, "WSAECONNREFUSED", errno.ECONNREFUSED)}
# The machine ran out of local ports or buffers: try that port again later.
_TRY_AGAIN = {errno.EAGAIN, errno.EADDRNOTAVAIL, errno.ENOBUFS}


class ScanError(Exception):
    """A scan that cannot start (unknown host, bad port list, bad setting)."""


# -- events ----------------------------------------------------------------
@dataclass(frozen=True)
class ScanStarted:
    host: str
    address: str
    total: int
    strategy: str
    threads: int
    in_flight: int


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    open_count: int
    rate: float  # ports per second
    eta: float | None  # seconds left, None until a rate is known


@dataclass(frozen=True)
class PortOpen:
    port: int
    service: str


@dataclass(frozen=True)
class ScanFinished:
    host: str
    address: str
    ports_scanned: int
    open: list[tuple[int, str]]  # ascending (port, service)
    closed: int
    filtered: int
    elapsed: float
    cancelled: bool = False

    def as_json(self) -> dict:
        return {"host": self.host, "address": self.address,
                "ports_scanned": self.ports_scanned, "open": [p for p, _ in self.open],
                "closed": self.closed, "filtered": self.filtered,
                "elapsed_s": round(self.elapsed, 3)}


Event = ScanStarted | Progress | PortOpen | ScanFinished


# -- helpers ----------------------------------------------------------------
def resolve(host: str) -> tuple[int, tuple]:
    """Resolve once: (family, sockaddr without the port)."""
    host = host.strip()
    if not host:
        raise ScanError("no host given")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise ScanError(f"unknown host {host!r} ({e.strerror})") from None
    except UnicodeError:
        raise ScanError(f"{host!r} is not a valid host name") from None
    # Prefer IPv4 when a name has both, as nmap does.
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    family, _, _, _, sockaddr = infos[0]
    return family, sockaddr


def service_name(port: int) -> str:
    try:
        return socket.getservbyport(port, "tcp")
    except OSError:
        return ""


def fd_budget(wanted: int) -> int:
    """How many sockets may be open at once without hitting the fd limit."""
    try:
        import resource
    except ImportError:  # Windows: no fd limit of this kind, but select()
        return min(wanted, 500)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted + 1024:
        target = hard if hard == resource.RLIM_INFINITY else min(hard, wanted + 1024)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, target), hard))
            soft = max(soft, target)
        except (ValueError, OSError):
            pass
    try:
        in_use = len(os.listdir("/proc/self/fd"))
    except OSError:
        in_use = 256
    limit = soft if soft != resource.RLIM_INFINITY else wanted + in_use + FD_HEADROOM
    return max(1, min(wanted, limit - in_use - FD_HEADROOM))


def is_self_connect(sock: socket.socket) -> bool:
    """On loopback a connect to a port in the ephemeral range may pick that
    very port as its source and connect to itself: that is no open port."""
    try:
        return sock.getsockname()[:2] == sock.getpeername()[:2]
    except OSError:
        return False


def classify(err: int) -> str:
    if err == 0:
        return OPEN
    if err in _REFUSED:
        return CLOSED
    # Timed out (a timed-out connect_ex returns EAGAIN, not an exception),
    # host or network unreachable: no answer to tell open from closed.
    return FILTERED


# -- the engine ------------------------------------------------------------------
@dataclass
class _Tally:
    """Results shared by the workers and the reporting thread (under lock)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    done: int = 0
    closed: int = 0
    filtered: int = 0
    open: list[int] = field(default_factory=list)

    def add(self, port: int, state: str) -> None:
        with self.lock:
            self.done += 1
            if state == OPEN:
                self.open.append(port)
            elif state == CLOSED:
                self.closed += 1
            else:
                self.filtered += 1


class Scanner:
    """One scan. ``run()`` blocks until done or cancelled; ``cancel()`` may be
    called from any thread and takes effect within one timeout."""

    def __init__(self, host: str, ports: str | Iterable[int] = "1-65535", *,
                 strategy: str = "fast", threads: int | None = None,
                 timeout: float = DEFAULT_TIMEOUT, in_flight: int = DEFAULT_IN_FLIGHT,
                 cancel: threading.Event | None = None):
        if strategy not in STRATEGIES:
            raise ScanError(f"unknown strategy {strategy!r} (one of {', '.join(STRATEGIES)})")
        if not (isinstance(timeout, (int, float)) and 0.01 <= timeout <= 60):
            raise ScanError("timeout must be between 0.01 and 60 seconds")
        if threads is not None and not (isinstance(threads, int) and 1 <= threads <= 2048):
            raise ScanError("threads must be between 1 and 2048")
        try:
            self.ports = parse_ports(ports) if isinstance(ports, str) else sorted(set(ports))
        except PortSpecError as e:
            raise ScanError(str(e)) from None
        if not self.ports or self.ports[0] < 1 or self.ports[-1] > 65535:
            raise ScanError("ports must be between 1 and 65535")
        self.host = host
        self.family, self.sockaddr = resolve(host)
        self.address = self.sockaddr[0]
        self.strategy = strategy
        self.threads = 1 if strategy == "sequential" else (threads or DEFAULT_THREADS[strategy])
        self.threads = min(self.threads, len(self.ports))
        self.timeout = float(timeout)
        self.in_flight = in_flight
        self._cancel = cancel if cancel is not None else threading.Event()
        self._tally = _Tally()
        self._feed_lock = threading.Lock()
        self._feed = iter(self.ports)
        self._errors: queue.Queue = queue.Queue()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def _take(self, n: int) -> list[int]:
        with self._feed_lock:
            return [p for _, p in zip(range(n), self._feed, strict=False)]

    def _addr(self, port: int) -> tuple:
        return (self.sockaddr[0], port, *self.sockaddr[2:])

    def run(self, emit: Callable[[Event], None] = lambda e: None) -> ScanFinished:
        total = len(self.ports)
        if self.strategy == "fast":
            budget = fd_budget(min(self.in_flight, total))
            self.threads = max(1, min(self.threads, budget))
            per_worker = max(1, budget // self.threads)
            target = self._fast_worker
        else:
            budget = fd_budget(self.threads)
            self.threads = max(1, min(self.threads, budget))
            per_worker = 1
            target = self._blocking_worker
        emit(ScanStarted(self.host, self.address, total, self.strategy, self.threads,
                         per_worker * self.threads if self.strategy == "fast" else self.threads))
        start = time.monotonic()
        workers = [threading.Thread(target=self._guard, args=(target, per_worker),
                                    name=f"scan-{i}", daemon=True) for i in range(self.threads)]
        for w in workers:
            w.start()
        reported = 0
        try:
            while alive := [w for w in workers if w.is_alive()]:
                alive[0].join(PROGRESS_INTERVAL)
                reported = self._report(emit, start, total, reported)
        except BaseException:
            self._cancel.set()
            for w in workers:
                w.join()
            raise
        reported = self._report(emit, start, total, reported)
        if not self._errors.empty():
            raise self._errors.get()
        elapsed = time.monotonic() - start
        t = self._tally
        result = ScanFinished(self.host, self.address, t.done,
                              [(p, service_name(p)) for p in sorted(t.open)],
                              t.closed, t.filtered, elapsed, cancelled=self.cancelled)
        emit(result)
        return result

    def _report(self, emit: Callable[[Event], None], start: float, total: int,
                reported: int) -> int:
        with self._tally.lock:
            done = self._tally.done
            new = self._tally.open[reported:]
            open_count = len(self._tally.open)
        for port in sorted(new):
            emit(PortOpen(port, service_name(port)))
        elapsed = time.monotonic() - start
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (total - done) / rate if rate > 0 else None
        emit(Progress(done, total, open_count, rate, eta))
        return reported + len(new)

    def _guard(self, target: Callable[[int], None], per_worker: int) -> None:
        try:
            target(per_worker)
        except BaseException as e:  # surfaced by run() in the caller's thread
            self._cancel.set()
            self._errors.put(e)

    # -- sequential and threads: blocking connects ---------------------------
    def _blocking_worker(self, _: int) -> None:
        while not self._cancel.is_set():
            batch = self._take(1 if self.strategy == "threads" else 64)
            if not batch:
                return
            for port in batch:
                if self._cancel.is_set():
                    return
                self._tally.add(port, self._probe_blocking(port))

    def _probe_blocking(self, port: int) -> str:
        with socket.socket(self.family, socket.SOCK_STREAM) as sock:
            sock.settimeout(self.timeout)
            err = sock.connect_ex(self._addr(port))
            if err == 0 and is_self_connect(sock):
                return CLOSED
            return classify(err)

    # -- fast: many non-blocking connects per thread -------------------------
    def _fast_worker(self, capacity: int) -> None:
        # The hot loop of the whole program: a full scan runs it 65535 times,
        # so it keeps to locals, the C socket type (no Python __init__), and
        # lets close() drop a socket from epoll instead of unregistering it.
        poller = _Poller()
        register, poll = poller.register, poller.poll
        pending: dict[int, tuple[_socket.socket, int]] = {}
        order: deque[tuple[float, int, _socket.socket]] = deque()  # deadlines, FIFO
        retry: deque[int] = deque()
        timeout, cancel, family = self.timeout, self._cancel, self.family
        kind = socket.SOCK_STREAM | getattr(socket, "SOCK_NONBLOCK", 0)
        ip, rest = self.sockaddr[0], tuple(self.sockaddr[2:])
        in_progress, try_again = _IN_PROGRESS, _TRY_AGAIN
        local = _LocalTally()
        exhausted = False
        try:
            while not cancel.is_set():
                # 1. Fill the free slots with new connects.
                room = capacity - len(pending)
                if room > 0 and (retry or not exhausted):
                    batch = [retry.popleft() for _ in range(min(room, len(retry)))]
                    if len(batch) < room and not exhausted:
                        fresh = self._take(min(room - len(batch), 256))
                        exhausted = not fresh
                        batch.extend(fresh)
                    deadline = time.monotonic() + timeout
                    for port in batch:
                        sock = _socket.socket(family, kind)
                        if kind == socket.SOCK_STREAM:
                            sock.setblocking(False)
                        err = sock.connect_ex((ip, port, *rest) if rest else (ip, port))
                        if err in in_progress:
                            fd = sock.fileno()
                            pending[fd] = (sock, port)
                            order.append((deadline, fd, sock))
                            register(fd)
                        elif err in try_again and pending:
                            sock.close()
                            retry.append(port)
                        else:
                            local.add(port, _state(sock, err))
                            sock.close()
                if pending:
                    # 2. Collect what finished; wait at most until the next deadline.
                    wait = min(order[0][0] - time.monotonic(), 0.05)
                    self._collect(pending, poll(max(wait, 0.0)), local)
                    # 3. Expire deadlines, but only after collecting again: a
                    # starved thread wakes late, and sockets that finished
                    # meanwhile are not "filtered" because we looked late.
                    now = time.monotonic()
                    if order[0][0] <= now:
                        while ready := poll(0):
                            self._collect(pending, ready, local)
                        while order and order[0][0] <= now:
                            _, fd, sock = order.popleft()
                            entry = pending.get(fd)
                            if entry is not None and entry[0] is sock:
                                del pending[fd]
                                poller.unregister(fd)
                                sock.close()
                                local.add(entry[1], FILTERED)
                    # Drop deadlines of sockets already finished.
                    while order and order[0][2] is not pending.get(order[0][1], (None,))[0]:
                        order.popleft()
                elif exhausted and not retry:
                    return
                local.flush(self._tally)
        finally:
            local.flush(self._tally)
            for sock, _ in pending.values():
                sock.close()
            poller.close()

    @staticmethod
    def _collect(pending: dict, fds: list[int], local: _LocalTally) -> None:
        for fd in fds:
            entry = pending.pop(fd, None)
            if entry is None:
                continue
            sock, port = entry
            local.add(port, _state(sock, sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)))
            sock.close()  # also takes it out of the epoll set


def _state(sock, err: int) -> str:
    state = classify(err)
    if state == OPEN and is_self_connect(sock):
        return CLOSED
    return state


class _LocalTally:
    """A worker's results since it last reported, so the shared lock is
    taken once per loop rather than once per port."""

    __slots__ = ("done", "closed", "filtered", "open")

    def __init__(self):
        self.done = self.closed = self.filtered = 0
        self.open: list[int] = []

    def add(self, port: int, state: str) -> None:
        self.done += 1
        if state == CLOSED:
            self.closed += 1
        elif state == OPEN:
            self.open.append(port)
        else:
            self.filtered += 1

    def flush(self, tally: _Tally) -> None:
        if not self.done:
            return
        with tally.lock:
            tally.done += self.done
            tally.closed += self.closed
            tally.filtered += self.filtered
            tally.open.extend(self.open)
        self.done = self.closed = self.filtered = 0
        self.open = []


class _Poller:
    """Write-readiness of many fds: epoll where there is one, else selectors."""

    def __init__(self):
        if hasattr(select, "epoll"):
            self._epoll = select.epoll()
            self._mask = select.EPOLLOUT | select.EPOLLERR | select.EPOLLHUP
            self._sel = None
        else:
            self._epoll = None
            self._sel = selectors.DefaultSelector()

    def register(self, fd: int) -> None:
        if self._epoll is not None:
            self._epoll.register(fd, self._mask)
        else:
            self._sel.register(fd, selectors.EVENT_WRITE)

    def unregister(self, fd: int) -> None:
        try:
            if self._epoll is not None:
                self._epoll.unregister(fd)
            else:
                self._sel.unregister(fd)
        except (KeyError, OSError, ValueError):
            pass

    def poll(self, timeout: float) -> list[int]:
        if self._epoll is not None:
            return [fd for fd, _ in self._epoll.poll(timeout, 4096)]
        if not self._sel.get_map():
            return []
        return [key.fd for key, _ in self._sel.select(timeout)]

    def close(self) -> None:
        (self._epoll or self._sel).close()


