"""The message box and what is around it: the recipient, Send, the counter
near the length limit, and the keys (Enter sends, Shift+Enter starts a new
line, the box grows to four lines, Escape stops writing privately).

PROTOCOL.md limits a ``say`` only by length (1 to 4000 code points), so a
message may hold several lines, and a pasted block is sent as one message.
A mixin of ``ChatWindow``.
"""

from __future__ import annotations

import tkinter as tk
from datetime import datetime
from tkinter import ttk

from gui.kit.style import color, themed_text
from gui.widgets.contextmenu import edit_menu
from net.chat.protocol import TEXT_MAX
from net.i18n import _, ngettext, time_text

ENTRY_MAX_LINES = 4
# The counter appears within 10% of the limit.
COUNTER_FROM = TEXT_MAX - TEXT_MAX // 10

class Composer:
    """The message box, the recipient box and Send."""

    def _build_entry(self, parent: ttk.Frame) -> None:
        bottom = ttk.Frame(parent, padding=(8, 0, 8, 6))
        bottom.grid(row=4, column=0, sticky="ew")
        ttk.Label(bottom, text=_("To")).grid(row=0, column=0, padx=(0, 4), sticky="n", pady=3)
        self.to_box = ttk.Combobox(bottom, textvariable=self.recipient, width=12,
                                   state="readonly", values=[self.everyone])
        self.to_box.grid(row=0, column=1, padx=(0, 6), sticky="n")
        e = self.entry = tk.Text(bottom, height=1, wrap="word", undo=True, font="TkTextFont",
                                 padx=4, pady=3, relief="flat", borderwidth=0,
                                 highlightthickness=1,
                                 highlightbackground=color(bottom, "muted"),
                                 highlightcolor=color(bottom, "accent"))
        themed_text(e)
        e.grid(row=0, column=2, sticky="ew")
        e.bind("<Return>", lambda ev_: (self.send(), "break")[1])
        e.bind("<KP_Enter>", lambda ev_: (self.send(), "break")[1])
        e.bind("<Shift-Return>", lambda ev_: (e.insert("insert", "\n"), "break")[1])
        e.bind("<Shift-KP_Enter>", lambda ev_: (e.insert("insert", "\n"), "break")[1])
        e.bind("<Tab>", lambda ev_: (e.tk_focusNext().focus_set(), "break")[1])
        for back_tab in ("<Shift-Tab>", "<ISO_Left_Tab>"):
            try:
                e.bind(back_tab, lambda ev_: (e.tk_focusPrev().focus_set(), "break")[1])
            except tk.TclError:  # no such keysym on this platform
                pass
        e.bind("<Escape>", lambda ev_: (self.escape(), "break")[1])
        e.bind("<Control-f>", lambda ev_: (self.find(), "break")[1])
        e.bind("<<Modified>>", self._entry_modified)
        e.bind("<Configure>", lambda ev_: self._fit_entry())
        edit_menu(e)  # with Ctrl+A that selects all, as the menu says
        self.send_button = ttk.Button(bottom, text=_("Send"), command=self.send)
        self.send_button.grid(row=0, column=3, padx=(6, 0), sticky="n")
        self.counter_label = ttk.Label(bottom, textvariable=self.counter, anchor="e",
                                       justify="right", style="Hint.TLabel")
        self.counter_label.grid(row=1, column=0, columnspan=4, sticky="e", pady=(2, 0))
        bottom.bind("<Configure>", lambda ev_: self.counter_label.configure(
            wraplength=max(200, ev_.width - 20)))
        self.counter_label.grid_remove()
        bottom.columnconfigure(2, weight=1)

    def message_text(self) -> str:
        return self.entry.get("1.0", "end-1c")

    def set_message(self, text: str) -> None:
        self.entry.delete("1.0", "end")
        self.entry.insert("1.0", text)
        self.entry.edit_reset()
        self._message_changed()

    def _entry_modified(self, event: tk.Event) -> None:
        if not self.entry.edit_modified():
            return
        self.entry.edit_modified(False)
        self._message_changed()

    def _message_changed(self) -> None:
        text = self.message_text()
        if self.line.get() != text:
            self._syncing = True
            try:
                self.line.set(text)
            finally:
                self._syncing = False
        self._entry_notice = ""
        self._fit_entry()
        self._update_counter()

    def _line_changed(self) -> None:
        """``line`` set from code (scripts, tests): show it in the box."""
        if not self._syncing and self.line.get() != self.message_text():
            self.set_message(self.line.get())

    def _fit_entry(self) -> None:
        """One to four lines tall, as the message needs."""
        counted = self.entry.count("1.0", "end-1c", "displaylines", "update")
        if isinstance(counted, tuple):
            counted = counted[0]
        lines = min(ENTRY_MAX_LINES, 1 + (counted or 0))
        if int(self.entry.cget("height")) != lines:
            self.entry.configure(height=lines)
        if lines == ENTRY_MAX_LINES:
            self.entry.see("insert")

    def _update_counter(self) -> None:
        n = len(self.message_text())
        over = n - TEXT_MAX
        if over > 0:
            # A counter: its digits stay ungrouped, as under the box while typing.
            text = ngettext("{n}/{max}: {over} character too many. Shorten the message (or "
                            "send it in parts) to send it.",
                            "{n}/{max}: {over} characters too many. Shorten the message (or "
                            "send it in parts) to send it.", over).format(
                n=n, max=TEXT_MAX, over=over)
            style = "Error.TLabel"
        elif self._entry_notice:
            text, style = self._entry_notice, "Error.TLabel"
        elif n >= COUNTER_FROM:
            text, style = f"{n}/{TEXT_MAX}", "Hint.TLabel"
        else:
            text, style = "", "Hint.TLabel"
        self.counter.set(text)
        self.counter_label.configure(style=style)
        if text:
            self.counter_label.grid()
        else:
            self.counter_label.grid_remove()
        self.send_button.state(["disabled"] if over > 0 else ["!disabled"])

    def send(self) -> None:
        """Send what is typed; offline, it waits in the transcript until the next login."""
        text = self.message_text()
        if not self.joined or not text.strip():
            return
        if len(text) > TEXT_MAX:
            self.bell()  # the counter under the box says why
            return
        to = None if self.recipient.get() == self.everyone else self.recipient.get()
        if to is not None and to not in self.users:
            self._entry_notice = _("{name} is not online now; choose someone else or "
                                   "everyone.").format(name=to)
            self._update_counter()
            return
        p = self.pending.add(text, to, time_text(datetime.now()))
        self.set_message("")
        if self.logged_in:
            self._send_pending(p)
        self._render_pending()
        self.scroll_to_newest()

    def escape(self) -> None:
        """Escape in the message box: close the find bar, else stop writing privately."""
        if self.findbar.shown:
            self.findbar.close()
            self.entry.focus_set()
        elif self.recipient.get() != self.everyone:
            self.recipient.set(self.everyone)
