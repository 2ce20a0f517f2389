"""Ctrl+A selects all in every widget with the shared context menu, as its
"Select all  Ctrl+A" says, on real widgets under Xvfb (Tk's own Entry and
Text bindings take Ctrl+A to the line's start)."""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk

import pytest

from gui.widgets.contextmenu import edit_menu, read_only_menu


def typed(widget: tk.Misc, text: str) -> None:
    """``text`` typed into ``widget`` key by key, the cursor left mid-line."""
    widget.focus_force()
    widget.update()
    for char in text:
        if char == "\n":
            widget.event_generate("<Return>")
        else:
            widget.event_generate("<KeyPress>", keysym="space" if char == " " else char)
    widget.update()


def ctrl_a(widget: tk.Misc, keysym: str = "a") -> None:
    widget.focus_force()
    widget.update()
    widget.event_generate(f"<Control-{keysym}>")
    widget.update()


@pytest.mark.parametrize("kind", [tk.Entry, ttk.Entry], ids=["tk.Entry", "ttk.Entry"])
@pytest.mark.parametrize("keysym", ["a", "A"])  # A: with Caps Lock on
def test_ctrl_a_selects_all_of_an_entry(tk_root, kind, keysym):
    tk_root.deiconify()
    entry = kind(tk_root)
    entry.pack()
    edit_menu(entry)
    typed(entry, "netdesk")
    assert entry.get() == "netdesk"
    entry.icursor(3)
    ctrl_a(entry, keysym)
    assert entry.selection_present()
    assert (entry.index("sel.first"), entry.index("sel.last")) == (0, len("netdesk"))
    assert entry.index("insert") == len("netdesk")  # not at the line's start
    entry.event_generate("<KeyPress>", keysym="x")  # typing replaces all of it
    entry.update()
    assert entry.get() == "x"


def test_ctrl_a_selects_all_of_an_editable_text(tk_root):
    tk_root.deiconify()
    text = tk.Text(tk_root, height=3)
    text.pack()
    edit_menu(text)
    typed(text, "first line\nsecond line")
    assert text.get("1.0", "end-1c") == "first line\nsecond line"
    text.mark_set("insert", "2.3")
    ctrl_a(text)
    assert text.get("sel.first", "sel.last") == "first line\nsecond line"
    text.event_generate("<KeyPress>", keysym="x")
    text.update()
    assert text.get("1.0", "end-1c") == "x"


def test_ctrl_a_selects_all_of_a_read_only_text(tk_root):
    tk_root.deiconify()
    text = tk.Text(tk_root, height=3)
    text.pack()
    text.insert("1.0", "a log\nof two lines")
    text.configure(state="disabled")
    read_only_menu(text)
    text.mark_set("insert", "2.2")
    ctrl_a(text, "A")
    assert text.get("sel.first", "sel.last") == "a log\nof two lines"
