"""Worker processes for the fast scanner, so a full scan uses every core.

Most of a scan's time is kernel work (creating, connecting and resetting
sockets), and a second thread spends what it gains fighting the first for the
GIL: on 2 cores, 65535 loopback ports took 0.85 s on one thread, 0.65 s on
two and 0.5 s in two processes. So each share of the ports is scanned by
``connect_loop`` in a forked child, which reports over a pipe in short text
lines:

    h HOST CLOSED FILTERED ANSWERED   counts for a host, cumulative
    o HOST PORT                       an open port
    f HOST                            this share of the host is done
    p DONE                            probes done, cumulative
    x MESSAGE                         the child failed
    e                                 the end

Only Linux forks here (the children must be killed cleanly when the parent
goes: ``PR_SET_PDEATHSIG``), and only from a process that runs no other
thread (``engine.auto_procs`` checks), because a fork copies locks held by
other threads. Children ignore Ctrl-C: the parent reports what was found
and ends them.
"""

from __future__ import annotations

import os
import selectors
import signal
import sys

from net.scan.connects import Share, connect_loop

AVAILABLE = sys.platform.startswith("linux") and hasattr(os, "fork")
MIN_PROBES = 20_000
_PR_SET_PDEATHSIG = 1
_READ = 65536
_LINE_MAX = 4096  # no line of ours is longer: a longer one is garbage


class WorkerError(RuntimeError):
    """A worker process failed; the message is its error."""


class ProcessShares:
    """The children of one scan: start, read their reports, end them."""

    def __init__(self, hosts, plans, counts, capacity, timing, ephemeral, portable):
        self.args = (hosts, plans, counts, capacity, timing, ephemeral, portable)
        self.children: dict[int, int] = {}  # read fd -> pid
        self.buffers: dict[int, bytes] = {}
        self.ended: set[int] = set()
        self.failure: str | None = None
        self.sel = selectors.DefaultSelector()

    def start(self) -> None:
        hosts, plans, counts, capacity, timing, ephemeral, portable = self.args
        for k, plan in enumerate(plans):
            read_fd, write_fd = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child: never returns
                os.close(read_fd)
                for fd in self.children:
                    os.close(fd)
                _child(write_fd, k, hosts, plan, counts[k], capacity, timing, ephemeral,
                       portable)
            os.close(write_fd)
            self.children[read_fd] = pid
            self.buffers[read_fd] = b""
            self.sel.register(read_fd, selectors.EVENT_READ)

    def alive(self) -> bool:
        return len(self.ended) < len(self.children)

    def wait(self, seconds: float, agg) -> None:
        """Read what the children reported within ``seconds`` into ``agg``."""
        for key, _ in self.sel.select(seconds):
            fd = key.fd
            try:
                data = os.read(fd, _READ)
            except OSError:
                data = b""
            if not data:
                self._ended(fd)
                continue
            lines = (self.buffers[fd] + data).split(b"\n")
            self.buffers[fd] = lines.pop()
            if len(self.buffers[fd]) > _LINE_MAX:
                self._fail("a scan worker sent garbage")
                self._ended(fd)
                continue
            k = list(self.children).index(fd)
            with agg.lock:
                for line in lines:
                    self._apply(fd, k, line, agg)

    def _apply(self, fd: int, k: int, line: bytes, agg) -> None:
        parts = line.split()
        if not parts:
            return
        kind, nums = parts[0], parts[1:]
        try:
            if kind == b"h":
                agg.host_counts(k, int(nums[0]), int(nums[1]), int(nums[2]), int(nums[3]))
            elif kind == b"o":
                agg.add_open(int(nums[0]), int(nums[1]))
            elif kind == b"f":
                agg.finish(int(nums[0]))
            elif kind == b"p":
                agg.done[k] = int(nums[0])
            elif kind == b"x":
                self._fail(line[2:].decode("utf-8", "replace"))
            elif kind == b"e":
                self.ended.add(fd)
        except (IndexError, ValueError):
            self._fail("a scan worker sent garbage")

    def _fail(self, message: str) -> None:
        if self.failure is None:
            self.failure = message

    def _ended(self, fd: int) -> None:
        if fd not in self.ended:
            self.ended.add(fd)
            self._fail("a scan worker process ended early")
        self.sel.unregister(fd)

    def stop(self) -> None:
        """End every child (at once if still scanning) and release its pipe."""
        for fd, pid in self.children.items():
            if fd not in self.ended or self._running(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for fd, pid in self.children.items():
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
            if fd in self.sel.get_map():
                self.sel.unregister(fd)
            os.close(fd)
        self.children.clear()
        self.sel.close()

    @staticmethod
    def _running(pid: int) -> bool:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return False
        return done == 0

    def error(self) -> BaseException | None:
        return WorkerError(self.failure) if self.failure else None


def _child(write_fd: int, k: int, hosts, plan, counts, capacity, timing, ephemeral,
           portable) -> None:
    """A worker process: scan its share, report, and leave with ``os._exit``
    (no atexit handlers, no flushing of the parent's buffers)."""
    status = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _die_with_parent()

        def report(share: Share, final: bool) -> None:
            lines = [f"h {h} {share.closed[h]} {share.filtered[h]} {share.answered[h]}"
                     for h in share.touched]
            share.touched.clear()
            lines += [f"o {h} {port}" for h, port in share.opens]
            share.opens.clear()
            lines += [f"f {h}" for h in share.finished]
            share.finished.clear()
            lines.append(f"p {share.done}")
            if final:
                lines.append("e")
            _write_all(write_fd, ("\n".join(lines) + "\n").encode())

        connect_loop(hosts, plan, capacity, timing, lambda: False, report,
                     remaining=counts, portable=portable, ephemeral=ephemeral)
    except BaseException as e:  # reported to the parent, which raises it
        status = 1
        try:
            message = f"{type(e).__name__}: {e}".replace("\n", " ")[:1000]
            _write_all(write_fd, f"x {message}\n".encode())
        except OSError:
            pass
    finally:
        os._exit(status)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _die_with_parent() -> None:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1:  # the parent died before the line above
        os._exit(1)
