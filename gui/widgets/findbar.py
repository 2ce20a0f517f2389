"""Ctrl+F for a read-only ``Text``: a slim bar that highlights every match.

    bar = FindBar(parent, text_widget)
    bar.grid(...); bar.grid_remove()       # hidden until Ctrl+F
    FindBar.bind_keys(toplevel, bar)       # Ctrl+F opens, Escape in the bar closes

Matching is case-insensitive and literal (no regular expressions: a user
searching for "1.2" means the text "1.2"). Enter and Shift+Enter step to the
next and the previous match; the count says "3 of 12" or "no matches" (in
the user's language: "3 из 12").
"""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk

from gui.kit.style import color
from net.i18n import _, number

MATCH_TAG = "find-match"
CURRENT_TAG = "find-current"


MAX_MATCHES = 10_000


class FindBar(ttk.Frame):
    def __init__(self, master: tk.Misc, text: tk.Text):
        super().__init__(master, padding=(6, 3))
        self.text = text
        self.query = tk.StringVar(self)
        self.count = tk.StringVar(self, "")
        self.matches: list[tuple[str, str]] = []
        self.current = -1
        ttk.Label(self, text=_("Find:")).pack(side="left")
        self.entry = ttk.Entry(self, textvariable=self.query, width=24)
        self.entry.pack(side="left", padx=(4, 4), fill="x", expand=True)
        ttk.Button(self, text="▲", width=3, command=self.previous).pack(side="left")
        ttk.Button(self, text="▼", width=3, command=self.next).pack(side="left", padx=(2, 0))
        ttk.Label(self, textvariable=self.count, width=14, anchor="w").pack(
            side="left", padx=(6, 0))
        ttk.Button(self, text="✕", width=3, command=self.close).pack(side="right")
        self.query.trace_add("write", lambda *args: self.search())
        self.entry.bind("<Return>", lambda e: self.next())
        self.entry.bind("<Shift-Return>", lambda e: self.previous())
        self.entry.bind("<KP_Enter>", lambda e: self.next())
        self.entry.bind("<Escape>", lambda e: (self.close(), "break")[1])
        self._colour()
        text.bind("<<ThemeChanged>>", lambda e: self._colour(), add="+")
        text.tag_raise(MATCH_TAG)
        text.tag_raise(CURRENT_TAG)

    def _colour(self) -> None:
        # Dark text on the highlight in both themes: the highlights are light.
        self.text.tag_configure(MATCH_TAG, background=color(self.text, "match"),
                                foreground="#000000")
        self.text.tag_configure(CURRENT_TAG, background=color(self.text, "match_current"),
                                foreground="#000000")

    @staticmethod
    def bind_keys(window: tk.Misc, bar: FindBar) -> None:
        window.bind("<Control-f>", lambda e: (bar.open(), "break")[1], add="+")

    @property
    def shown(self) -> bool:
        return bool(self.winfo_manager())

    def open(self) -> None:
        if not self.shown:
            self.grid()
        self.entry.focus_set()
        self.entry.select_range(0, "end")
        self.search()

    def close(self) -> None:
        self.clear()
        if self.shown:
            self.grid_remove()
        self.text.focus_set()

    def clear(self) -> None:
        self.text.tag_remove(MATCH_TAG, "1.0", "end")
        self.text.tag_remove(CURRENT_TAG, "1.0", "end")
        self.matches, self.current = [], -1

    def find_from(self, start: str, query: str) -> bool:
        """Highlight the matches of ``query`` from ``start`` on, up to
        MAX_MATCHES in all (enough to show; the count says "10000+").
        True if it found any."""
        length = tk.IntVar(self)
        found = False
        while len(self.matches) < MAX_MATCHES:
            pos = self.text.search(query, start, "end", nocase=True, count=length)
            if not pos or not length.get():
                break
            end = f"{pos}+{length.get()}c"
            self.matches.append((pos, end))
            self.text.tag_add(MATCH_TAG, pos, end)
            start, found = end, True
        return found

    def search(self) -> None:
        """Highlight every match of the query (called as it is typed)."""
        self.clear()
        query = self.query.get()
        if not query:
            self.count.set("")
            return
        self.find_from("1.0", query)
        if not self.matches:
            self.count.set(_("no matches"))
            return
        # Start from the newest match: transcripts and logs grow downwards.
        self._show(len(self.matches) - 1)

    def next(self) -> None:
        if self.matches:
            self._show((self.current + 1) % len(self.matches))

    def previous(self) -> None:
        if self.matches:
            self._show((self.current - 1) % len(self.matches))

    def _show(self, index: int) -> None:
        self.text.tag_remove(CURRENT_TAG, "1.0", "end")
        self.current = index
        start, end = self.matches[index]
        self.text.tag_add(CURRENT_TAG, start, end)
        self.text.see(start)
        self.count.set(self.position_text(index))

    def more(self) -> str:
        """"+" when the search stopped at the cap: there are more than counted."""
        return "+" if len(self.matches) >= MAX_MATCHES else ""

    def position_text(self, index: int) -> str:
        """"3 of 12" for the match at ``index`` ("10,000+" when the search stopped)."""
        return _("{current} of {total}").format(current=number(index + 1),
                                                total=number(len(self.matches)) + self.more())
