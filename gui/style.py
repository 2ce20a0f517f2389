"""One look for every window: a ttk theme that reads well on X11, and the
colours windows use by role rather than by value.

Windows never write a colour: they name its role (``color(w, "error")``,
``style="Error.TLabel"``) and colour their ``Text`` widgets with
``themed_text``, so one palette serves every window and a theme change
reaches them all.
"""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk

# Role -> colour, for the light look.
LIGHT = {
    "error": "#b00020",
    "hint": "#666666",
    "muted": "#888888",
    "accent": "#1a5fb4",
    "private": "#8a3ffc",
    "warning": "#9a6700",
    "match": "#fff2a8",
    "match_current": "#f5a623",
    "text_bg": "#ffffff",
    "text_fg": "#1e1e1e",
}
_palette = dict(LIGHT)


def color(widget: tk.Misc | None, role: str) -> str:
    """The current colour of ``role`` (see ``LIGHT`` for the roles)."""
    return _palette.get(role, _palette["text_fg"])


def themed_text(text: tk.Text, tags: dict[str, str] | None = None) -> None:
    """Colour a ``Text`` (or ``Listbox``) and its tags, each tag by role:
    ``themed_text(t, {"error": "error", "mine": "accent"})``."""
    text.configure(background=color(text, "text_bg"), foreground=color(text, "text_fg"))
    if isinstance(text, tk.Text):
        text.configure(insertbackground=color(text, "text_fg"))
        for tag, role in (tags or {}).items():
            text.tag_configure(tag, foreground=color(text, role))


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
    style.configure("Error.TLabel", foreground=color(root, "error"))
    style.configure("Hint.TLabel", foreground=color(root, "hint"))
    style.configure("Accent.TLabel", foreground=color(root, "accent"))
