"""The panel's budgets window: what one client or address may make the
server keep, as the running configuration sets it."""

from __future__ import annotations

import tkinter as tk
from tkinter import font as tkfont
from tkinter import ttk

from net.i18n import _


def budgets_window(parent: tk.Misc, rows: list[tuple[str, str]]) -> tk.Toplevel:
    """A small window listing the budgets; Escape, Enter or Close closes it."""
    top = tk.Toplevel(parent)
    top.title(_("netdesk — Budgets"))
    top.transient(parent.winfo_toplevel())
    ttk.Label(top, padding=(10, 8, 10, 4), wraplength=420, justify="left",
              text=_("What one client or address may make the server keep. Addresses in "
                     "the trusted networks skip the per-address budgets. Set them with "
                     "the flags of 'netdesk serve' (see --help).")).pack(fill="x")
    table = ttk.Treeview(top, columns=("budget", "value"), show="headings", height=len(rows))
    table.heading("budget", text=_("Budget"))
    table.heading("value", text=_("Value"))
    # As wide as the longest name and value in the language shown.
    body = tkfont.nametofont("TkDefaultFont")
    for col, index, least in (("budget", 0, 220), ("value", 1, 160)):
        widest = max((body.measure(str(row[index])) for row in rows), default=0)
        table.column(col, width=max(least, widest + 24), stretch=col == "value")
    for row in rows:
        table.insert("", "end", values=row)
    table.pack(fill="both", expand=True, padx=10)
    close = ttk.Button(top, text=_("Close"), command=top.destroy)
    close.pack(pady=8)
    top.bind("<Escape>", lambda e: top.destroy())
    top.bind("<Return>", lambda e: top.destroy())
    close.focus_set()
    return top
