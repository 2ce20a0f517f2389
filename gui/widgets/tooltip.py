"""A tooltip: text shown near a widget while the pointer rests on it, in
the theme's menu colours, above the widget (a status bar's cell) or below
it when there is no room above.
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable

from gui.kit.style import color, px

TOOLTIP_DELAY_MS = 500


class Tooltip:
    """Text shown under a widget while the pointer rests on it."""

    def __init__(self, widget: tk.Misc, text: Callable[[], str]):
        self.widget = widget
        self.text = text
        self.tip: tk.Toplevel | None = None
        self._after: str | None = None
        for w in (widget, *widget.winfo_children()):
            w.bind("<Enter>", lambda e: self._schedule(), add="+")
            w.bind("<Leave>", lambda e: self.hide(), add="+")
            w.bind("<ButtonPress>", lambda e: self.hide(), add="+")

    def _schedule(self) -> None:
        self._cancel()
        self._after = self.widget.after(TOOLTIP_DELAY_MS, self.show)

    def _cancel(self) -> None:
        if self._after is not None:
            self.widget.after_cancel(self._after)
            self._after = None

    def show(self) -> None:
        self._after = None
        text = self.text()
        if not text or self.tip is not None:
            return
        tip = self.tip = tk.Toplevel(self.widget)
        tip.wm_overrideredirect(True)
        label = tk.Label(tip, text=text, justify="left", wraplength=px(tip, 420),
                         background=color(tip, "menu_bg"), foreground=color(tip, "text_fg"),
                         relief="solid", borderwidth=1, padx=px(tip, 6), pady=px(tip, 4),
                         font="TkTooltipFont")
        label.pack()
        tip.update_idletasks()
        x = self.widget.winfo_rootx()
        y = self.widget.winfo_rooty() - tip.winfo_reqheight() - px(tip, 4)
        if y < 0:  # no room above the status bar: below it
            y = self.widget.winfo_rooty() + self.widget.winfo_height() + px(tip, 4)
        x = max(0, min(x, self.widget.winfo_screenwidth() - tip.winfo_reqwidth()))
        tip.wm_geometry(f"+{x}+{y}")

    def hide(self) -> None:
        self._cancel()
        if self.tip is not None:
            self.tip.destroy()
            self.tip = None
