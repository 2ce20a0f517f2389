"""Drain a worker's event queue on the Tk thread, a bounded batch per tick.

The only bridge between worker threads and widgets: workers ``put`` plain
data; the poller hands it to the window on the Tk thread. A flood of events
is taken in batches so the window keeps answering, and ``stop()`` cancels
the pending ``after`` so no callback outlives its window.
"""

from __future__ import annotations

import queue
import tkinter as tk
from collections.abc import Callable


class QueuePoller:
    def __init__(self, widget: tk.Misc, events: queue.Queue, handle: Callable[[object], None],
                 interval_ms: int = 40, batch: int = 100):
        self.widget = widget
        self.events = events
        self.handle = handle
        self.interval_ms = interval_ms
        self.batch = batch
        self._after_id: str | None = None
        self.stopped = False

    def start(self) -> None:
        self.stopped = False
        if self._after_id is None:
            self._after_id = self.widget.after(self.interval_ms, self._tick)

    def stop(self) -> None:
        """No more callbacks, even if called from a handler mid-batch."""
        self.stopped = True
        if self._after_id is not None:
            try:
                self.widget.after_cancel(self._after_id)
            except tk.TclError:
                pass
            self._after_id = None

    def _tick(self) -> None:
        self._after_id = None
        more = False
        try:
            for _ in range(self.batch):
                if self.stopped:  # a handler closed the window
                    return
                try:
                    event = self.events.get_nowait()
                except queue.Empty:
                    break
                self.handle(event)
            else:
                more = True
        finally:
            # Come back sooner when a batch was full: the rest is waiting.
            if not self.stopped:
                self._after_id = self.widget.after(1 if more else self.interval_ms, self._tick)
