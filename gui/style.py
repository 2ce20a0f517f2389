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
        # clam draws a progress bar's done part lighter than its trough, so a
        # finished bar looks empty: give it a colour.
        style.configure("Horizontal.TProgressbar", background="#3d7cc9",
                        lightcolor="#5a93d6", darkcolor="#2f68ad", bordercolor="#2b5f9e")
    style.configure("Treeview", rowheight=22)
