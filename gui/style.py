"""One look for every window: a ttk theme that reads well on X11."""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk


def apply(root: tk.Tk) -> None:
    style = ttk.Style(root)
    # Tk's X11 "default" theme looks like 1995; clam is built in everywhere.
    # Windows and macOS keep their native themes.
    if root.tk.call("tk", "windowingsystem") == "x11" and "clam" in style.theme_names():
        style.theme_use("clam")
    style.configure("Treeview", rowheight=22)
