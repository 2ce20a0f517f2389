"""Counters that enforce the budgets of ``net.budgets``, all in bounded memory.

``SlidingWindow`` counts events per key over a time window (failed logins,
new accounts); ``TokenBuckets`` meters a rate per key (says, history
requests). Both are safe to call from any thread and keep at most
``max_keys`` keys: callers only ever pass keys that passed validation
(an existing name, an address with a connection), and on top of that the
least recently used key is forgotten when the table is full, so no input
can make them grow without bound.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque


class SlidingWindow:
    """How many events each key had in the last ``window`` seconds."""

    def __init__(self, limit: int, window: float, max_keys: int = 10_000):
        self.limit, self.window, self.max_keys = limit, window, max_keys
        self._lock = threading.Lock()
        self._events: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str, now: float) -> deque[float] | None:
        q = self._events.get(key)
        if q is None:
            return None
        while q and q[0] <= now - self.window:
            q.popleft()
        if not q:
            del self._events[key]
            return None
        return q

    def reached(self, *keys: str) -> bool:
        """True if any of ``keys`` has ``limit`` events in the window."""
        now = time.monotonic()
        with self._lock:
            return any(len(self._recent(k, now) or ()) >= self.limit for k in keys)

    def add(self, *keys: str) -> bool:
        """Count one event for each key; True if that reaches the limit."""
        now = time.monotonic()
        hit = False
        with self._lock:
            for key in keys:
                q = self._recent(key, now)
                if q is None:
                    q = self._events[key] = deque(maxlen=self.limit)
                    while len(self._events) > self.max_keys:
                        self._events.popitem(last=False)
                self._events.move_to_end(key)
                q.append(now)
                hit |= len(q) >= self.limit
        return hit

    def forget(self, key: str) -> None:
        with self._lock:
            self._events.pop(key, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._events)


class TokenBuckets:
    """A token bucket per key: ``burst`` tokens, refilled at ``rate`` a second.

    A full bucket is the same as no bucket, so full ones are dropped when
    the table needs room; a key that was forgotten starts full again.
    """

    def __init__(self, burst: int, rate: float, max_keys: int = 10_000):
        self.burst, self.rate, self.max_keys = float(burst), rate, max_keys
        self._lock = threading.Lock()
        self._buckets: OrderedDict[str, list[float]] = OrderedDict()  # key: [tokens, when]

    def _level(self, key: str, now: float) -> float:
        bucket = self._buckets.get(key)
        if bucket is None:
            return self.burst
        return min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)

    def take(self, *keys: str) -> bool:
        """Take one token from every bucket of ``keys``, or from none of them."""
        now = time.monotonic()
        with self._lock:
            levels = [self._level(k, now) for k in keys]
            if any(level < 1.0 for level in levels):
                return False
            for key, level in zip(keys, levels, strict=True):
                self._buckets[key] = [level - 1.0, now]
                self._buckets.move_to_end(key)
            if len(self._buckets) > self.max_keys:
                self._make_room(now)
            return True

    def _make_room(self, now: float) -> None:
        for key in [k for k in self._buckets if self._level(k, now) >= self.burst]:
            del self._buckets[key]
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._buckets)
