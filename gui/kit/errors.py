"""Errors in Tk callbacks are logged and shown, never lost.

Tk prints a failing callback's traceback to stderr, which a windowed build
does not have. ``install(root)`` routes them (as Thonny does) to the
netdesk log and to a short dialog: one dialog per burst, so a handler that
fails on every tick does not bury the user in windows; the rest are counted
in the log.
"""

from __future__ import annotations

import logging
import time
import tkinter as tk
import traceback
from pathlib import Path
from tkinter import ttk

from gui.kit.style import px
from net.i18n import _, ngettext, number

log = logging.getLogger("netdesk.gui")

QUIET_SECONDS = 10.0  # after a dialog is closed, further errors only go to the log


class CallbackErrors:
    """The root's ``report_callback_exception``: log, then show once per burst."""

    def __init__(self, root: tk.Tk, log_file: Path | None = None, show: bool = True):
        self.root = root
        self.log_file = log_file
        self.show = show
        self.dialog: ErrorDialog | None = None
        self.quiet_until = 0.0
        self.count = 0
        self.suppressed = 0

    def __call__(self, exc: type[BaseException], value: BaseException, tb) -> None:
        self.count += 1
        log.error("unexpected error in a window callback", exc_info=(exc, value, tb))
        if not self.show:
            return
        if self.dialog is not None and self.dialog.winfo_exists():
            self.suppressed += 1
            self.dialog.more(self.suppressed)
            return
        if time.monotonic() < self.quiet_until:
            self.suppressed += 1
            return
        self.suppressed = 0
        details = "".join(traceback.format_exception(exc, value, tb))
        try:
            self.dialog = ErrorDialog(self._window_in_use(), f"{exc.__name__}: {value}", details,
                                      self.log_file, on_close=self._closed)
        except tk.TclError:  # the root is going away: the log has it
            self.dialog = None

    def _window_in_use(self) -> tk.Misc:
        """The window the user was working in (the error most likely came
        from it), so the dialog opens over it and not over the launcher."""
        try:
            focus = self.root.focus_get()
        except (tk.TclError, KeyError):  # focus in a menu or a dialog Tk made itself
            focus = None
        window = focus.winfo_toplevel() if focus is not None else self.root
        return window if window.winfo_viewable() else self.root

    def _closed(self) -> None:
        self.dialog = None
        self.quiet_until = time.monotonic() + QUIET_SECONDS


def install(root: tk.Tk, log_file: Path | None = None) -> CallbackErrors:
    handler = CallbackErrors(root, log_file)
    root.report_callback_exception = handler
    return handler


class ErrorDialog(tk.Toplevel):
    """"Something went wrong": one line, where the details went, Copy and Close."""

    def __init__(self, master: tk.Misc, summary: str, details: str, log_file: Path | None,
                 on_close=None):
        super().__init__(master)
        self.details = details
        self.on_close = on_close
        self.title(_("netdesk — Error"))
        self.transient(master.winfo_toplevel())
        self.resizable(False, False)
        body = ttk.Frame(self, padding=px(self, 16))
        body.grid(sticky="nsew")
        wrap = px(self, 440)
        ttk.Label(body, text=_("Something went wrong"), style="Title.TLabel",
                  wraplength=wrap, justify="left").grid(
            row=0, column=0, columnspan=3, sticky="w")
        if len(summary) > 300:
            summary = summary[:300] + "…"
        ttk.Label(body, text=summary, wraplength=wrap, justify="left").grid(
            row=1, column=0, columnspan=3, sticky="w", pady=(px(self, 8), 0))
        where = _("The details are in {file}.").format(file=log_file) if log_file else \
            _("The details were written to the log.")
        advice = _("The window may not show everything it should; if it misbehaves, "
                   "close it and open it again.")
        ttk.Label(body, text=f"{where} {advice}",
                  wraplength=wrap, justify="left", style="Hint.TLabel").grid(
            row=2, column=0, columnspan=3, sticky="w", pady=(px(self, 6), 0))
        self.more_label = ttk.Label(body, text="", style="Hint.TLabel")
        self.more_label.grid(row=3, column=0, columnspan=3, sticky="w")
        ttk.Button(body, text=_("Copy details"), command=self.copy).grid(
            row=4, column=1, sticky="e", pady=(px(self, 12), 0), padx=(0, px(self, 6)))
        self.close_button = ttk.Button(body, text=_("Close"), command=self.close,
                                       style="Accent.TButton")
        self.close_button.grid(row=4, column=2, sticky="e", pady=(px(self, 12), 0))
        body.columnconfigure(0, weight=1)
        self.protocol("WM_DELETE_WINDOW", self.close)
        self.bind("<Escape>", lambda e: self.close())
        self.bind("<Return>", lambda e: self.close())
        self.close_button.focus_set()
        self._place_over(master.winfo_toplevel())

    def _place_over(self, window: tk.Misc) -> None:
        """Centred over ``window``, and whole on its screen."""
        self.update_idletasks()
        w, h = self.winfo_reqwidth(), self.winfo_reqheight()
        if window.winfo_viewable():
            x = window.winfo_rootx() + (window.winfo_width() - w) // 2
            y = window.winfo_rooty() + (window.winfo_height() - h) // 3
        else:
            x, y = (self.winfo_screenwidth() - w) // 2, (self.winfo_screenheight() - h) // 3
        x = max(0, min(x, self.winfo_screenwidth() - w))
        y = max(0, min(y, self.winfo_screenheight() - h))
        self.geometry(f"+{x}+{y}")

    def more(self, n: int) -> None:
        self.more_label.configure(text=ngettext(
            "{n} more error since; see the log.", "{n} more errors since; see the log.",
            n).format(n=number(n)))

    def copy(self) -> None:
        self.clipboard_clear()
        self.clipboard_append(self.details)

    def close(self) -> None:
        self.destroy()
        if self.on_close:
            self.on_close()
