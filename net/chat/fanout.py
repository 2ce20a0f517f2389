"""Fan-out on a few threads: one message to two thousand sockets in parallel.

Handing a frame to a client is one ``send`` each, mostly kernel work done
without the GIL; one thread doing two thousand of them in a row makes the
last recipient wait for all the others. ``FanOut`` splits the recipients
over a few sender threads. Every peer always belongs to the same thread and
each thread sends in the order it was given, so every client still receives
the broadcasts in the order the hub handed them over.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable
from typing import Any, Protocol


class Recipient(Protocol):
    shard: int

    def deliver(self, item: Any) -> None: ...


class FanOut:
    def __init__(self, threads: int = 2, name: str = "chat-fanout"):
        self._queues: list[queue.SimpleQueue] = [queue.SimpleQueue() for _ in range(threads)]
        self._threads = [threading.Thread(target=self._run, args=(q,), name=f"{name}-{i}",
                                          daemon=True) for i, q in enumerate(self._queues)]
        self._next = 0
        for thread in self._threads:
            thread.start()

    def shard(self) -> int:
        """A thread for a new recipient, in turn."""
        self._next += 1
        return self._next % len(self._queues)

    def send(self, items: Iterable[tuple[Iterable[Recipient], Any]]) -> None:
        """Queue each ``(recipients, item)``; call it under the lock that orders them."""
        work: list[list[tuple[list[Recipient], Any]]] = [[] for _ in self._queues]
        for recipients, data in items:
            split: list[list[Recipient]] = [[] for _ in self._queues]
            for r in recipients:
                split[r.shard].append(r)
            for i, part in enumerate(split):
                if part:
                    work[i].append((part, data))
        for q, jobs in zip(self._queues, work, strict=True):
            if jobs:
                q.put(jobs)

    def stop(self) -> None:
        """Send what is queued, then end the threads."""
        for q in self._queues:
            q.put(None)
        for thread in self._threads:
            thread.join()

    @staticmethod
    def _run(q: queue.SimpleQueue) -> None:
        while (jobs := q.get()) is not None:
            for recipients, item in jobs:
                for r in recipients:
                    r.deliver(item)
