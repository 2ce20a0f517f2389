"""The user list beside the transcript: who is online (greyed while not
connected), its heading and hint, and the way to write to one person.

A mixin of ``ChatWindow``.
"""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk

from gui.kit.style import themed_text
from gui.widgets.contextmenu import attach
from net.i18n import _, ngettext, number

# The user list keeps at least this many rows in view; its hint gives way first.
LIST_ROWS_MIN = 3

class Roster:
    """The list of names online and its menu."""

    def _build_user_list(self, parent: tk.Misc) -> ttk.Frame:
        side = ttk.Frame(parent)
        self.online_label = ttk.Label(side, text=_("Online"), justify="left")
        self.online_label.pack(side="top", anchor="w")
        self.user_list = tk.Listbox(side, width=16, activestyle="none", exportselection=False)
        themed_text(self.user_list)
        # Packed before the list, at the bottom: a short window shortens the
        # list before the hint; it wraps to the list's width instead of widening it,
        # as the heading does ("Online (not connected)").
        hint = self.list_hint = ttk.Label(
            side, text=_("Double-click a name (or right-click it) to write to that person "
                         "alone."), style="Hint.TLabel", justify="left",
            wraplength=self.user_list.winfo_reqwidth())
        hint.pack(side="bottom", anchor="w", fill="x")
        side.bind("<Configure>", self._fit_user_list, add="+")
        self.user_list.pack(side="top", fill="both", expand=True)
        self.user_list.bind("<Double-Button-1>", lambda e: self.private_to_selected())
        self.user_list.bind("<Return>", lambda e: self.private_to_selected())
        self._user_menu = tk.Menu(self.user_list, tearoff=False)
        attach(self.user_list, self._user_menu_for)
        return side

    def _fit_user_list(self, event: tk.Event) -> None:
        """Wrap the heading and the hint to the list's width; a pane too short
        for a few names and the hint drops the hint (names matter more)."""
        self.online_label.configure(wraplength=max(60, event.width))
        self.list_hint.configure(wraplength=max(60, event.width - 4))
        rows = int(self.tk.call("font", "metrics", self.user_list.cget("font"), "-linespace"))
        need = (self.online_label.winfo_reqheight() + self.list_hint.winfo_reqheight()
                + LIST_ROWS_MIN * rows + 12)
        if event.height < need and self.list_hint.winfo_manager():
            self.list_hint.pack_forget()
        elif event.height >= need and not self.list_hint.winfo_manager():
            self.list_hint.pack(side="bottom", anchor="w", fill="x", before=self.user_list)

    def set_users(self, names: list[str]) -> None:
        self.users = sorted(set(names), key=str.casefold)
        state = self.user_list.cget("state")
        self.user_list.configure(state="normal")  # a disabled listbox takes no changes
        self.user_list.delete(0, "end")
        for name in self.users:
            self.user_list.insert("end", _("{name}  (you)").format(name=name)
                                  if name == self.me else name)
        self.user_list.configure(state=state)
        self._label_users()
        self.to_box.configure(values=[self.everyone, *[u for u in self.users if u != self.me]])
        if self.recipient.get() not in (self.everyone, *self.users):
            self.recipient.set(self.everyone)

    def _label_users(self) -> None:
        n = len(self.users)
        self.online_label.configure(
            text=ngettext("Online ({n})", "Online ({n})", n).format(n=number(n))
            if self.state == "online" else _("Online (not connected)"))

    def private_to_selected(self) -> None:
        selection = self.user_list.curselection()
        if not selection:
            return
        self.private_to(self.users[selection[0]])

    def private_to(self, name: str) -> None:
        if name != self.me:
            self.recipient.set(name)
            self.entry.focus_set()

    def _user_menu_for(self, event: tk.Event) -> tk.Menu | None:
        if event.type == tk.EventType.ButtonPress:
            index = self.user_list.nearest(event.y)
            if index < 0 or not self.users:
                return None
            self.user_list.selection_clear(0, "end")
            self.user_list.selection_set(index)
            self.user_list.activate(index)
        selection = self.user_list.curselection()
        if not selection:
            return None
        name = self.users[selection[0]]
        menu = self._user_menu
        menu.delete(0, "end")
        menu.add_command(label=_("Private message to {name}").format(name=name),
                         command=lambda: self.private_to(name),
                         state="disabled" if name == self.me else "normal")
        menu.add_command(label=_("Copy name"), command=lambda: self._copy(name))
        return menu

    def _copy(self, text: str) -> None:
        self.clipboard_clear()
        self.clipboard_append(text)
