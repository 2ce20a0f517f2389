"""Fan-out on a few threads: one message to two thousand sockets in parallel,
and one write per recipient for everything that queued up meanwhile.

Handing a frame to a client is one ``send`` each, mostly kernel work done
without the GIL; one thread doing two thousand of them in a row makes the
last recipient wait for all the others. ``FanOut`` splits the recipients
over a few sender threads. Every peer always belongs to the same thread and
each thread sends in the order it was given, so every client still receives
the broadcasts in the order the hub handed them over.

Under load the cost is per batch, not per message: a thread takes every
job queued for it (up to ``DRAIN_MAX``) and gives each recipient all of its
items at once (``deliver_many``: one write, one TLS record stream), so a
busy server makes fewer, larger writes instead of falling behind. What
waits for a thread is bounded too: ``wait_room`` holds the writer while a
thread has ``BACKLOG`` items queued, so a slow fan-out slows the
writer, which slows the senders (see ``net.chat.writer``).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable
from typing import Any, Protocol

DRAIN_MAX = 64  # job lists one thread takes at once
# Items a thread may have waiting before the writer waits: what a quiet
# client's line may find ahead of it (at 8,000 messages/s, 32 ms).
BACKLOG = 256


class Recipient(Protocol):
    shard: int

    def deliver(self, item: Any) -> None: ...

    def deliver_many(self, items: list[Any]) -> None: ...


class FanOut:
    def __init__(self, threads: int = 2, name: str = "chat-fanout"):
        self._queues: list[queue.SimpleQueue] = [queue.SimpleQueue() for _ in range(threads)]
        self._threads = [threading.Thread(target=self._run, args=(i,), name=f"{name}-{i}",
                                          daemon=True) for i in range(threads)]
        self._next = 0
        self._room = threading.Condition()
        self._queued = [0] * threads  # items put and not yet taken, per thread
        self._stopping = False
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
        with self._room:
            for i, jobs in enumerate(work):
                self._queued[i] += len(jobs)
        for q, jobs in zip(self._queues, work, strict=True):
            if jobs:
                q.put(jobs)

    def wait_room(self) -> None:
        """Wait while a thread has ``BACKLOG`` items waiting (never call it
        under a lock a fan-out thread takes)."""
        with self._room:
            while max(self._queued) >= BACKLOG and not self._stopping:
                self._room.wait(1.0)  # each round ends as a thread takes its jobs

    def backlog(self) -> int:
        """Items waiting for the threads."""
        with self._room:
            return sum(self._queued)

    def stop(self) -> None:
        """Send what is queued, then end the threads."""
        with self._room:
            self._stopping = True
            self._room.notify_all()
        for q in self._queues:
            q.put(None)
        for thread in self._threads:
            thread.join()

    def _take(self, index: int) -> tuple[list[tuple[list[Recipient], Any]], bool]:
        """Every job waiting for thread ``index`` (at least one list, blocking;
        at most DRAIN_MAX), and whether the end came with them."""
        q = self._queues[index]
        first = q.get()
        if first is None:
            return [], True
        jobs, lists, end = list(first), 1, False
        while lists < DRAIN_MAX:
            try:
                more = q.get_nowait()
            except queue.Empty:
                break
            if more is None:
                end = True
                break
            jobs.extend(more)
            lists += 1
        with self._room:
            self._queued[index] -= len(jobs)
            self._room.notify_all()
        return jobs, end

    def _run(self, index: int) -> None:
        while True:
            jobs, end = self._take(index)
            # Each recipient's items in the order given, then one call each.
            per: dict[int, tuple[Recipient, list[Any]]] = {}
            for recipients, item in jobs:
                for r in recipients:
                    entry = per.get(id(r))
                    if entry is None:
                        per[id(r)] = (r, [item])
                    else:
                        entry[1].append(item)
            for r, items in per.values():
                if len(items) == 1:
                    r.deliver(items[0])
                else:
                    r.deliver_many(items)
            if end:
                return
