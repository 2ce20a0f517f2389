"""``SlicedPoller``: the scanner window's queue poller, bounded by time.

A scan of a host with every port open brings thousands of events a second;
the Tk thread takes them and draws their rows for a bounded slice per tick,
then lets Tk draw and take the user's clicks (Cancel) before the next."""

from __future__ import annotations

import queue
import time
import tkinter as tk
from collections.abc import Callable

from gui.kit.poller import QueuePoller

# The Tk thread's share per tick while a scan floods the window: events are
# taken and their rows drawn for about SLICE_S (at most BATCH events).
SLICE_S = 0.02
BATCH = 4096


class SlicedPoller(QueuePoller):
    """A ``QueuePoller`` bounded by time rather than by count.

    Each tick draws what is waiting (``flush(deadline)``, which returns
    whether some is left), takes events while ``slice_s`` lasts (at most
    ``batch``, and none while ``backlog()`` says enough is waiting to be
    drawn), and draws them. With more to do it comes back with
    ``after_idle``: Tk first takes the user's clicks and keys (Cancel) and
    redraws, so a flood of events never freezes the window."""

    def __init__(self, widget: tk.Misc, events: queue.Queue, handle: Callable[[object], None],
                 flush: Callable[[float], bool], backlog: Callable[[], bool],
                 slice_s: float = SLICE_S, batch: int = BATCH, interval_ms: int = 40):
        super().__init__(widget, events, handle, interval_ms, batch)
        self.flush = flush
        self.backlog = backlog
        self.slice_s = slice_s

    def _tick(self) -> None:
        self._after_id = None
        clock = time.perf_counter
        deadline = clock() + self.slice_s
        more = False
        try:
            more = self.flush(deadline)
            taken = 0
            while not more and not self.stopped:
                # At least one event a tick, however long drawing took.
                if taken == self.batch or self.backlog() or (taken and clock() > deadline):
                    more = True
                    break
                try:
                    event = self.events.get_nowait()
                except queue.Empty:
                    break
                self.handle(event)
                taken += 1
            if not self.stopped:
                more = self.flush(deadline) or more
        finally:
            if not self.stopped:
                self._after_id = (self.widget.after_idle(self._tick) if more
                                  else self.widget.after(self.interval_ms, self._tick))
