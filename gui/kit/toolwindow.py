"""The common frame of every tool window: title, icon, remembered size,
an event queue drained by a poller, and an orderly close.
"""

from __future__ import annotations

import queue
import tkinter as tk
from tkinter import ttk

from gui.kit.placement import Screen, fitted_size, placed
from gui.kit.poller import QueuePoller
from gui.kit.settings import Settings
from gui.kit.style import px, themed_text
from gui.kit.tkrelease import release_attributes
from net import fields


class ToolWindow(tk.Toplevel):
    """A Toplevel whose worker threads report through ``self.events``.

    Subclasses build their widgets, handle events in ``on_event`` and stop
    their workers in ``stop_workers``; ``close()`` does the rest.
    ``default_geometry`` and ``min_size`` are in pixels at 96 dpi: the
    window scales them to the display.
    """

    settings_section = "window"
    default_geometry = "640x420"
    # The status line wraps at the window's width rather than being cut (a
    # Russian sentence at the minimum size).
    status_wraps = True

    def __init__(self, master: tk.Misc, title: str, settings: Settings | None = None,
                 icon: str | None = None, min_size: tuple[int, int] = (420, 300)):
        super().__init__(master)
        self.settings = settings
        self.closed = False
        # A plain Toplevel keeps Tk's grey; match the ttk theme's frames.
        self.configure(background=ttk.Style(self).lookup("TFrame", "background") or None)
        self.title(title)
        screen = Screen(self.winfo_screenwidth(), self.winfo_screenheight(), px(self, 1000) / 1000)
        self.minsize(*fitted_size(screen, px(self, min_size[0]), px(self, min_size[1])))
        geometry = settings.get(self.settings_section, "geometry") if settings else None
        width, height = _size_only(geometry) or _scaled(self, self.default_geometry)
        others = sum(1 for w in master.winfo_children()
                     if isinstance(w, ToolWindow) and w is not self and not w.closed)
        width, height, x, y = placed(screen, width, height, others)
        self.geometry(f"{width}x{height}+{x}+{y}")
        if icon:
            from gui.kit.icons import set_window_icon
            set_window_icon(self, icon)
        self.protocol("WM_DELETE_WINDOW", self.close)
        self.events: queue.Queue = queue.Queue()
        self.poller = QueuePoller(self, self.events, self.on_event)
        self.poller.start()
        self.status = tk.StringVar(self, "")
        self.statusbar = ttk.Label(self, textvariable=self.status, anchor="w",
                                   relief="sunken", padding=(px(self, 6), px(self, 2)))
        if self.status_wraps:
            self.statusbar.bind("<Configure>", lambda e: self._wrap_status(e.width), add="+")

    def _wrap_status(self, width: int) -> None:
        """Wrap the status line at its width, unless it shares its row with
        other cells (the chat window's security badge): those measure it."""
        info = self.statusbar.grid_info()
        if info and len(self.grid_slaves(row=int(info["row"]))) > 1:
            return
        self.statusbar.configure(wraplength=max(width - px(self, 12), px(self, 100)))

    def remembered(self, key: str, default):
        """A value this window saved last time (host, port, name...)."""
        return self.settings.get(self.settings_section, key, default) if self.settings \
            else default

    def remembered_port(self, key: str, default: int, allow_zero: bool = False) -> int:
        """A port this window saved last time, or ``default`` when the settings
        file holds something that is no port (edited by hand, or older)."""
        port = fields.port_or_none(self.remembered(key, default), allow_zero)
        return default if port is None else port

    def remember(self, **values) -> None:
        if self.settings is not None:
            self.settings.update(self.settings_section, **values)

    def on_event(self, event) -> None:  # pragma: no cover - subclasses override
        raise NotImplementedError

    def stop_workers(self) -> None:
        """Stop and join every worker thread of this window."""

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.settings is not None:
            try:
                self.settings.update(self.settings_section, geometry=self.geometry())
            except tk.TclError:
                pass
        self.poller.stop()
        self.stop_workers()
        self.destroy()
        release_attributes(self)


def _scaled(widget: tk.Misc, size: str) -> tuple[int, int]:
    """"720x500" at 96 dpi, in this display's pixels."""
    w, h = (int(v) for v in size.split("x"))
    return px(widget, w), px(widget, h)


def _size_only(geometry: object) -> tuple[int, int] | None:
    """Keep a remembered size but not its position (screens change)."""
    if not isinstance(geometry, str) or "x" not in geometry or len(geometry) > 40:
        return None
    try:
        w, h = (int(v) for v in geometry.split("+")[0].split("x"))
    except ValueError:
        return None
    return (w, h) if 100 <= w <= 10000 and 100 <= h <= 10000 else None


def transcript(parent: tk.Misc, height: int = 12) -> tuple[ttk.Frame, tk.Text]:
    """A read-only, scrolling text area; returns (frame, text)."""
    frame = ttk.Frame(parent)
    text = tk.Text(frame, height=height, wrap="word", state="disabled",
                   undo=False, padx=px(parent, 6), pady=px(parent, 4), relief="flat",
                   borderwidth=0)
    bar = ttk.Scrollbar(frame, orient="vertical", command=text.yview)
    text.configure(yscrollcommand=bar.set)
    text.grid(row=0, column=0, sticky="nsew")
    bar.grid(row=0, column=1, sticky="ns")
    frame.rowconfigure(0, weight=1)
    frame.columnconfigure(0, weight=1)
    themed_text(text, {"note": "hint", "error": "error", "mine": "accent", "meta": "muted"})
    # Read-only, yet selectable and copyable.
    text.bind("<1>", lambda e: text.focus_set())
    return frame, text


def append(text: tk.Text, *chunks: tuple[str, str | tuple]) -> None:
    """Append (string, tags) chunks and a newline, keeping the view at the
    bottom only if the user was already there."""
    at_bottom = text.yview()[1] >= 0.999
    text.configure(state="normal")
    for chunk, tags in chunks:
        text.insert("end", chunk, tags)
    text.insert("end", "\n")
    text.configure(state="disabled")
    if at_bottom:
        text.see("end")


def address_or_error(host_text: str, port_text: str) -> tuple[str, int | None, str]:
    """Parse host and port fields: (host, port, "") or (..., message for the user)."""
    port, problem = port_or_error(port_text)
    try:
        host = fields.host(host_text)
    except fields.FieldError as e:
        return host_text.strip(), port, str(e)
    return host, port, problem


def port_or_error(text: str, allow_zero: bool = False,
                  field: str | None = None) -> tuple[int | None, str]:
    """Parse a port field: (port, "") or (None, message for the user)."""
    try:
        return fields.port(text, allow_zero, field), ""
    except fields.FieldError as e:
        return None, str(e)


class ChoiceBox(ttk.Combobox):
    """A read-only combobox that shows each choice in words while ``variable``
    holds its code: the log level ``"WARNING"``, the strategy ``"fast"``.
    The words are the user's language, the code is what the program (and
    the settings file) means; setting the variable shows its words."""

    def __init__(self, master: tk.Misc, variable: tk.StringVar, choices: dict[str, str],
                 **options):
        super().__init__(master, values=list(choices.values()), state="readonly", **options)
        self.variable = variable
        self.choices = dict(choices)
        self.bind("<<ComboboxSelected>>", lambda e: self._chosen(), add="+")
        variable.trace_add("write", lambda *a: self._follow())
        self._follow()

    def _chosen(self) -> None:
        shown = self.get()
        for code, words in self.choices.items():
            if words == shown and self.variable.get() != code:
                self.variable.set(code)

    def _follow(self) -> None:
        try:
            code = self.variable.get()
            words = self.choices.get(code, code)
            if self.get() != words:
                self.set(words)
        except tk.TclError:  # the box or the variable went with its window
            pass
