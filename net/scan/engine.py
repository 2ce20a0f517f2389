"""The TCP connect scanner: targets in, one stream of plain events out.

Every port ends open (the connect succeeded), closed (refused) or filtered
(no answer within the time-out, even after a retry, or unreachable). Every
host ends up (something answered) or down (nothing did). The engine never
prints: it calls ``emit`` with the events of ``net.scan.events``, from the
thread that called ``Scanner.run`` only.

Strategies, so a user can see what threads buy:

- ``sequential``: one blocking connect after another (the lab's first program);
- ``threads``: a pool of threads, each doing blocking connects;
- ``fast`` (default): non-blocking connects, many at once, through epoll (or
  the platform's selector) in ``net.scan.connects``; on a large scan, in
  worker processes on every core (``net.scan.procs``).

A scan of several hosts first asks each host a few common ports and scans
only those that answered (``skip_down``, nmap's host discovery); each host's
ports are then scanned in turn, with time-outs learned from its round trips
(``net.scan.timing``).
"""

from __future__ import annotations

import copy
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator

from net.i18n import _
from net.scan import procs as procs_mod
from net.scan.connects import Host, Share, classify, connect_loop, is_self_connect
from net.scan.events import (
    CLOSED,
    DOWN,
    FILTERED,
    OPEN,
    UP,
    Banner,
    Event,
    HostDone,
    HostResult,
    HostState,
    PortOpen,
    Progress,
    ScanFinished,
    ScanStarted,
)
from net.scan.ports import PortSpecError, parse_ports
from net.scan.services import services_table
from net.scan.targets import MAX_HOSTS_DEFAULT, Target, TargetError, parse_targets
from net.scan.timing import Timing

__all__ = ["STRATEGIES", "DEFAULT_TIMEOUT", "DEFAULT_IN_FLIGHT", "ScanError", "Scanner",
           "classify", "is_self_connect", "resolve", "Banner", "Event", "HostDone",
           "HostResult", "HostState", "PortOpen", "Progress", "ScanFinished", "ScanStarted",
           "OPEN", "CLOSED", "FILTERED", "UP", "DOWN"]

STRATEGIES = ("fast", "threads", "sequential")
DEFAULT_TIMEOUT = 1.0
DEFAULT_THREADS = {"fast": 1, "threads": 256, "sequential": 1}
PROGRESS_INTERVAL = 0.1  # at least 10 progress events a second
# Connects in flight for the whole fast scan; capped below by the fd limit
# (and by select()'s 512 sockets a set on Windows).
DEFAULT_IN_FLIGHT = 500 if sys.platform == "win32" else 2048
FD_HEADROOM = 64
# Host discovery: ports that most machines answer on, open or closed. A host
# that drops its low ports (a common firewall rule) still answers on the high
# ones with a reset.
DISCOVERY_PORTS = (80, 443, 22, 445, 3389, 8080, 21, 25)
MAX_PROCS = 8
# Banners are read after the scan, a few hundred at a time, each within the
# banner time-out: past this many open ports the wait would outgrow the scan.
MAX_BANNERS = 1024


class ScanError(Exception):
    """A scan that cannot start (unknown host, bad port list, bad setting)."""


# -- helpers ----------------------------------------------------------------
def resolve(host: str) -> tuple[int, tuple]:
    """Resolve one host once: (family, sockaddr without the port)."""
    try:
        targets = parse_targets([host], max_hosts=1)
    except TargetError as e:
        raise ScanError(str(e)) from None
    t = targets[0]
    return t.family, _sockaddr(t)


def _sockaddr(t: Target) -> tuple:
    return (t.address, 0, 0, 0) if t.family == socket.AF_INET6 else (t.address, 0)


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


def ephemeral_range() -> tuple[int, int]:
    """The local ports this machine picks for outgoing connects (self-connect risk)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = f.read().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 1024, 65535


def auto_procs(probes: int) -> int:
    """Worker processes for a fast scan of ``probes`` ports.

    Measured on 2 cores (tests/bench/bench_scan.py): two processes scan 65535
    loopback ports in 0.5 s against 0.85 s for one thread; below about 20,000
    ports the fork and the merging cost more than they save. Forking is safe
    only while this process runs no other thread (the command line); the
    window scans on one thread.
    """
    if not procs_mod.AVAILABLE or probes < procs_mod.MIN_PROBES:
        return 1
    if threading.active_count() > 1:
        return 1
    return max(1, min(os.cpu_count() or 1, MAX_PROCS))


# -- shared results --------------------------------------------------------------
class Aggregate:
    """The results of every share of the scan (threads or processes), under one lock.

    Counts are kept per share and per host as the shares last reported them
    (cumulative), so a report can be applied twice without counting twice.
    """

    def __init__(self, hosts: int, shares: int, expected: list[int]):
        self.lock = threading.Lock()
        self.closed = [[0] * hosts for _ in range(shares)]
        self.filtered = [[0] * hosts for _ in range(shares)]
        self.answered = bytearray(hosts)
        self.open: list[list[int]] = [[] for _ in range(hosts)]
        self.new_open: list[tuple[int, int]] = []
        self.done = [0] * shares
        self.finished = [0] * hosts
        self.expected = expected  # shares with probes for each host
        self.new_done: list[int] = []

    def host_counts(self, share: int, h: int, closed: int, filtered: int,
                    answered: int) -> None:
        self.closed[share][h] = closed
        self.filtered[share][h] = filtered
        if answered:
            self.answered[h] = 1

    def add_open(self, h: int, port: int) -> None:
        self.open[h].append(port)
        self.new_open.append((h, port))
        self.answered[h] = 1

    def finish(self, h: int) -> None:
        self.finished[h] += 1
        if self.finished[h] == self.expected[h]:
            self.new_done.append(h)

    def merge(self, k: int, share: Share) -> None:
        """A thread's share, while its loop waits (the loop clears what is merged)."""
        with self.lock:
            for h in share.touched:
                self.host_counts(k, h, share.closed[h], share.filtered[h], share.answered[h])
            share.touched.clear()
            for h, port in share.opens:
                self.add_open(h, port)
            share.opens.clear()
            for h in share.finished:
                self.finish(h)
            share.finished.clear()
            self.done[k] = share.done

    def totals(self, h: int) -> tuple[int, int]:
        return (sum(c[h] for c in self.closed), sum(f[h] for f in self.filtered))


# -- the engine ------------------------------------------------------------------
class Scanner:
    """One scan. ``run()`` blocks until done or cancelled; ``cancel()`` may be
    called from any thread and takes effect within one time-out."""

    def __init__(self, targets: str | Iterable[str], ports: str | Iterable[int] = "1-65535",
                 *, strategy: str = "fast", threads: int | None = None,
                 timeout: float = DEFAULT_TIMEOUT, in_flight: int = DEFAULT_IN_FLIGHT,
                 cancel: threading.Event | None = None, skip_down: bool | None = None,
                 procs: int | None = None, banners: bool = False,
                 max_hosts: int = MAX_HOSTS_DEFAULT, portable: bool = False):
        if strategy not in STRATEGIES:
            raise ScanError(_("unknown strategy {strategy} (one of {choices})").format(
                strategy=repr(strategy), choices=", ".join(STRATEGIES)))
        if not (isinstance(timeout, (int, float)) and 0.01 <= timeout <= 60):
            raise ScanError(_("timeout must be between 0.01 and 60 seconds"))
        if threads is not None and not (isinstance(threads, int) and 1 <= threads <= 2048):
            raise ScanError(_("threads must be between 1 and 2048"))
        if procs is not None and not (isinstance(procs, int) and 1 <= procs <= MAX_PROCS):
            raise ScanError(_("procs must be between 1 and {n}").format(
                n=MAX_PROCS))
        try:
            self.ports = parse_ports(ports) if isinstance(ports, str) else sorted(set(ports))
        except PortSpecError as e:
            raise ScanError(str(e)) from None
        if not self.ports or self.ports[0] < 1 or self.ports[-1] > 65535:
            raise ScanError(_("ports must be between 1 and 65535"))
        self._cancel = cancel if cancel is not None else threading.Event()
        try:
            self.targets = parse_targets(targets if isinstance(targets, str) else list(targets),
                                         max_hosts=max_hosts)
        except TargetError as e:
            raise ScanError(str(e)) from None
        self.hosts = [Host(t.name, t.address, t.family, _sockaddr(t)[2:]) for t in self.targets]
        self.host = self.targets[0].name
        self.address = self.targets[0].address
        self.several = len(self.hosts) > 1
        self.skip_down = self.several if skip_down is None else skip_down
        self.strategy = strategy
        self.threads = 1 if strategy == "sequential" else (threads or DEFAULT_THREADS[strategy])
        self.timeout = float(timeout)
        self.in_flight = in_flight
        self.procs = procs
        self.banners = banners
        self.portable = portable
        self.timing = Timing(len(self.hosts), self.timeout)
        self.states: list[str | None] = [None] * len(self.hosts)
        self._agg: Aggregate | None = None
        self._banner_text: dict[tuple[int, int], str] = {}
        self._start = 0.0
        self._host_time: list[float] = [0.0] * len(self.hosts)
        self._errors: list[BaseException] = []
        self._services: dict[int, str] = {}
        self._lock = threading.Lock()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    # -- running ---------------------------------------------------------------------
    def run(self, emit: Callable[[Event], None] = lambda e: None) -> ScanFinished:
        """Scan; on KeyboardInterrupt the workers are stopped and the
        interrupt re-raised (``partial_result()`` then tells what was found)."""
        self._start = time.monotonic()
        self._services = services_table()  # one dict lookup per open port
        total = len(self.hosts) * len(self.ports)
        first = self.targets[0]
        capacity = fd_budget(min(self.in_flight, max(total, 1)))
        # Decided once, before host discovery, so the first line the user
        # sees says how the scan will run.
        self._shares, self._threaded = self._plan_shares(total)
        emit(ScanStarted(first.name, first.address, total, self.strategy, self.threads,
                         capacity if self.strategy == "fast" else self.threads,
                         hosts=len(self.hosts), ports=len(self.ports),
                         procs=self.procs))
        if self.skip_down:
            self._discover(emit, capacity)
        up = [h for h in range(len(self.hosts)) if self.states[h] != DOWN]
        if up and not self.cancelled:
            self._scan_hosts(up, emit, capacity)
        if self.banners and not self.cancelled:
            self._grab_banners(emit)
        result = self.partial_result()
        emit(result)
        return result

    def partial_result(self) -> ScanFinished:
        """The results so far (all of them once ``run`` returned)."""
        elapsed = time.monotonic() - self._start
        results = []
        agg = self._agg
        for h, host in enumerate(self.hosts):
            results.append(self._host_result(h, host, agg, elapsed))
        return ScanFinished(results, elapsed, cancelled=self.cancelled, several=self.several)

    def _host_result(self, h: int, host: Host, agg: Aggregate | None,
                     elapsed: float) -> HostResult:
        if agg is None or agg.expected[h] == 0:
            # Never scanned: finished only when host discovery decided it is down.
            return HostResult(host.name, host.address, self.states[h] or DOWN, 0, [], 0, 0,
                              0.0, finished=self.states[h] == DOWN or not self.cancelled)
        with agg.lock:
            closed, filtered = agg.totals(h)
            opened = sorted(agg.open[h])
            answered = agg.answered[h]
            finished = agg.finished[h] >= agg.expected[h]
        state = self.states[h] or (UP if answered else DOWN)
        banners = {p: t for (hh, p), t in self._banner_text.items() if hh == h and t}
        return HostResult(host.name, host.address, state, closed + filtered + len(opened),
                          [(p, self._services.get(p, "")) for p in opened], closed, filtered,
                          self._host_time[h] or elapsed, banners,
                          finished=finished or not self.cancelled)

    # -- host discovery ----------------------------------------------------------------
    def _discover(self, emit: Callable[[Event], None], capacity: int) -> None:
        """Ask every host a few common ports; a host that answers any is up."""
        hosts = range(len(self.hosts))
        plan = ((h, port) for port in DISCOVERY_PORTS for h in hosts)
        share = connect_loop(self.hosts, plan, capacity, self.timing, self._cancel.is_set,
                             lambda s, final: None, first_answer_only=True,
                             portable=self.portable, ephemeral=ephemeral_range())
        for h, host in enumerate(self.hosts):
            if not share.answered[h] and self.cancelled:
                continue  # maybe never asked: undecided, not down
            self.states[h] = UP if share.answered[h] else DOWN
            emit(HostState(host.name, host.address, self.states[h]))

    # -- port scanning ---------------------------------------------------------------------
    def _plan_shares(self, probes: int) -> tuple[int, bool]:
        """(shares, on threads?): fast scans split the ports over worker
        processes or threads; the blocking strategies share one port feed."""
        if self.strategy == "fast":
            shares = self.procs or auto_procs(probes)
            shares = max(1, min(shares, len(self.ports)))
            threaded = shares == 1 or not procs_mod.AVAILABLE
            if threaded:
                shares = max(1, min(self.threads, len(self.ports)))
        else:
            shares, threaded = 1, True
        self.procs = shares if not threaded else 1
        return shares, threaded

    def _scan_hosts(self, up: list[int], emit: Callable[[Event], None], capacity: int) -> None:
        probes = len(up) * len(self.ports)
        shares, threaded = self._shares, self._threaded
        expected = [0] * len(self.hosts)
        for h in up:
            expected[h] = shares
        agg = self._agg = Aggregate(len(self.hosts), shares, expected)
        plans = [self._plan(up, k, shares) for k in range(shares)]
        per_share = max(1, capacity // shares) if threaded else capacity
        if self.strategy == "fast" and not threaded:
            runner = procs_mod.ProcessShares(self.hosts, plans, [self._counts(up, k, shares)
                                                                 for k in range(shares)],
                                             per_share, self.timing, ephemeral_range(),
                                             self.portable)
            runner.start()
            self._drive(runner, agg, emit, up)
            return
        if self.strategy == "fast":
            workers = [threading.Thread(target=self._guard,
                                        args=(self._fast_share, plans[k],
                                              self._counts(up, k, shares), per_share, agg, k),
                                        name=f"scan-{k}", daemon=True) for k in range(shares)]
        else:
            feed = iter(plans[0])
            lock = threading.Lock()
            budget = fd_budget(self.threads)
            workers = [threading.Thread(target=self._guard, args=(self._blocking_worker, feed,
                                                                  lock, agg),
                                        name=f"scan-{i}", daemon=True)
                       for i in range(max(1, min(self.threads, budget, probes)))]
            self.threads = len(workers)
        for w in workers:
            w.start()
        self._drive(_Threads(workers), agg, emit, up)

    def _plan(self, up: list[int], k: int, shares: int) -> Iterator[tuple[int, int]]:
        ports = self.ports[k::shares]
        return ((h, port) for h in up for port in ports)

    def _counts(self, up: list[int], k: int, shares: int) -> list[int]:
        n = len(self.ports[k::shares])
        counts = [0] * len(self.hosts)
        for h in up:
            counts[h] = n
        return counts

    def _drive(self, runner, agg: Aggregate, emit: Callable[[Event], None],
               up: list[int]) -> None:
        """The caller's thread: wait on the workers, and emit what they found."""
        total = len(up) * len(self.ports)
        state = _Reported()
        try:
            while runner.alive():
                runner.wait(PROGRESS_INTERVAL, agg)
                self._report(emit, agg, total, state)
                if self.cancelled:
                    runner.stop()
        except BaseException:
            self._cancel.set()
            runner.stop()
            raise
        runner.stop()
        self._report(emit, agg, total, state)
        error = runner.error() or (self._errors[0] if self._errors else None)
        if error is not None:
            raise error

    def _report(self, emit: Callable[[Event], None], agg: Aggregate, total: int,
                reported: _Reported) -> None:
        with agg.lock:
            new = agg.new_open[:]
            agg.new_open.clear()
            finished = agg.new_done[:]
            agg.new_done.clear()
            done = sum(agg.done)
            open_count = sum(len(o) for o in agg.open)
        by_host: dict[int, list[int]] = {}
        for h, port in new:
            by_host.setdefault(h, []).append(port)
        services = self._services
        for h in sorted(by_host):
            host = self.hosts[h]
            for port in sorted(by_host[h]):
                emit(PortOpen(port, services.get(port, ""), host.name, host.address))
        now = time.monotonic()
        for h in finished:
            self._host_time[h] = now - self._start
            result = self._host_result(h, self.hosts[h], agg, now - self._start)
            if self.states[h] is None:
                self.states[h] = result.state
                emit(HostState(result.host, result.address, result.state))
            reported.hosts_done += 1
            emit(HostDone(result))
        elapsed = now - self._start
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (total - done) / rate if rate > 0 else None
        up = sum(s == UP for s in self.states)
        down = sum(s == DOWN for s in self.states)
        emit(Progress(done, total, open_count, rate, eta, len(self.hosts), up, down,
                      reported.hosts_done))

    # -- fast: the connect loop on threads ---------------------------------------------
    def _fast_share(self, plan: Iterator, counts: list[int], capacity: int, agg: Aggregate,
                    k: int) -> None:
        # Each share learns on its own copy of the time-outs, as a worker
        # process does: no lock in the hot loop, no torn updates.
        connect_loop(self.hosts, plan, capacity, copy.deepcopy(self.timing),
                     self._cancel.is_set, lambda share, final: agg.merge(k, share),
                     remaining=counts,
                     portable=self.portable, ephemeral=ephemeral_range())

    def _guard(self, target: Callable, *args) -> None:
        try:
            target(*args)
        except BaseException as e:  # surfaced by run() in the caller's thread
            self._cancel.set()
            with self._lock:
                self._errors.append(e)

    # -- sequential and threads: blocking connects ---------------------------------
    def _blocking_worker(self, feed: Iterator, lock: threading.Lock, agg: Aggregate) -> None:
        low, high = ephemeral_range()
        while not self._cancel.is_set():
            with lock:
                item = next(feed, None)
            if item is None:
                return
            h, port = item
            host = self.hosts[h]
            state = self._probe_blocking(host, port, low, high)
            with agg.lock:
                closed, filtered = agg.closed[0], agg.filtered[0]
                if state == OPEN:
                    agg.add_open(h, port)
                elif state == CLOSED:
                    closed[h] += 1
                    agg.answered[h] = 1
                else:
                    filtered[h] += 1
                agg.done[0] += 1
                if closed[h] + filtered[h] + len(agg.open[h]) == len(self.ports):
                    agg.finish(h)

    def _probe_blocking(self, host: Host, port: int, low: int, high: int) -> str:
        with socket.socket(host.family, socket.SOCK_STREAM) as sock:
            sock.settimeout(self.timeout)
            err = sock.connect_ex(host.sockaddr(port))
            if err == 0 and host.local and low <= port <= high and is_self_connect(sock):
                return CLOSED
            return classify(err)

    # -- banners -------------------------------------------------------------------------
    def _grab_banners(self, emit: Callable[[Event], None]) -> None:
        from net.scan.banners import grab_banners

        agg = self._agg
        if agg is None:
            return
        with agg.lock:
            opened = [(h, port) for h in range(len(self.hosts))
                      for port in sorted(agg.open[h])][:MAX_BANNERS]
        if not opened:
            return
        probes = [(self.hosts[h].family, self.hosts[h].address, port) for h, port in opened]
        found = grab_banners(probes, cancel=self._cancel, parallel=256)
        for h, port in opened:
            text = found.get((self.hosts[h].address, port), "")
            self._banner_text[(h, port)] = text
            if text:
                host = self.hosts[h]
                emit(Banner(host.name, host.address, port, text))


class _Reported:
    __slots__ = ("hosts_done",)

    def __init__(self):
        self.hosts_done = 0


class _Threads:
    """Scanner threads, driven like ``procs.ProcessShares``."""

    def __init__(self, workers: list[threading.Thread]):
        self.workers = workers

    def alive(self) -> bool:
        return any(w.is_alive() for w in self.workers)

    def wait(self, seconds: float, agg: Aggregate) -> None:
        for w in self.workers:
            if w.is_alive():
                w.join(seconds)
                return

    def stop(self) -> None:
        for w in self.workers:
            w.join()

    def error(self) -> BaseException | None:
        return None

