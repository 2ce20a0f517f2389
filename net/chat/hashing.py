"""Password hashing, fair between addresses.

A slow hash is what makes stolen hashes useless, and also what a flood of
logins would spend the server on. A few worker threads run the hashes;
jobs wait in a queue per address, and a free worker serves the next
address in turn that has no hash running yet. So one address flooding
logins holds at most one worker while anyone else waits, and another
address's login waits for at most the hashes already running: among the
addresses waiting, the one served longest ago goes next.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any


class HashQueueClosed(RuntimeError):
    """The server is stopping: the hash was not run."""


class _Job:
    __slots__ = ("fn", "done", "result", "error")

    def __init__(self, fn: Callable[[], Any]):
        self.fn = fn
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None


class HashQueue:
    """``run(address, fn)`` runs ``fn`` on a worker, fairly, and returns its result."""

    def __init__(self, workers: int = 2, name: str = "hash"):
        self._cond = threading.Condition()
        self._queues: dict[str, deque[_Job]] = {}
        self._running: dict[str, int] = {}
        # When each address was last served; kept only while it has jobs
        # waiting or running, so the table is as small as the queue.
        self._served: dict[str, int] = {}
        self._turn = 0
        self._closed = False
        self._threads = [threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True)
                         for i in range(max(1, workers))]
        for thread in self._threads:
            thread.start()

    def run(self, address: str, fn: Callable[[], Any]) -> Any:
        job = _Job(fn)
        with self._cond:
            if self._closed:
                raise HashQueueClosed("the server is stopping")
            self._queues.setdefault(address, deque()).append(job)
            self._cond.notify()
        job.done.wait()
        if job.error is not None:
            raise job.error
        return job.result

    def waiting(self) -> int:
        with self._cond:
            return sum(len(q) for q in self._queues.values())

    def close(self) -> None:
        """Fail the jobs still waiting, let running ones finish, join the workers."""
        with self._cond:
            self._closed = True
            for q in self._queues.values():
                for job in q:
                    job.error = HashQueueClosed("the server is stopping")
                    job.done.set()
            self._queues.clear()
            self._cond.notify_all()
        for thread in self._threads:
            thread.join()

    def _next(self) -> tuple[str, _Job]:
        """A job of the waiting address served longest ago, preferring one with
        no hash running (a newcomer has never been served: it goes first)."""
        idle = [a for a in self._queues if not self._running.get(a)] or list(self._queues)
        chosen = min(idle, key=lambda a: self._served.get(a, -1))
        q = self._queues[chosen]
        job = q.popleft()
        if not q:
            del self._queues[chosen]
        self._turn += 1
        self._served[chosen] = self._turn
        return chosen, job

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._closed and not self._queues:
                    self._cond.wait()
                if self._closed:
                    return
                address, job = self._next()
                self._running[address] = self._running.get(address, 0) + 1
            try:
                job.result = job.fn()
            except BaseException as e:  # handed to the waiting thread
                job.error = e
            finally:
                with self._cond:
                    self._running[address] -= 1
                    if not self._running[address]:
                        del self._running[address]
                        if address not in self._queues:
                            del self._served[address]
                job.done.set()
