"""The shared window parts: the find bar, context menus, destructive questions."""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk

from gui.widgets.contextmenu import edit_menu, read_only_menu
from gui.widgets.findbar import CURRENT_TAG, MATCH_TAG, FindBar


def make_text(root: tk.Misc, lines: list[str]) -> tuple[tk.Toplevel, tk.Text, FindBar]:
    top = tk.Toplevel(root)
    text = tk.Text(top)
    text.grid(row=0, column=0)
    text.insert("end", "\n".join(lines))
    bar = FindBar(top, text)
    bar.grid(row=1, column=0, sticky="ew")
    bar.grid_remove()
    FindBar.bind_keys(top, bar)
    top.update()
    return top, text, bar


def test_ctrl_f_highlights_every_match_and_steps_through_them(tk_root):
    top, text, bar = make_text(tk_root, ["alice: hello", "bob: Hello there", "carol: bye",
                                         "dave: say hello"])
    assert not bar.shown
    text.focus_force()
    text.event_generate("<Control-f>")
    tk_root.update()
    assert bar.shown
    bar.entry.insert(0, "HELLO")  # case does not matter
    tk_root.update()
    assert len(text.tag_ranges(MATCH_TAG)) == 2 * 3
    assert bar.count.get() == "3 of 3"  # the newest first
    assert text.index(text.tag_ranges(CURRENT_TAG)[0]) == "4.10"
    bar.entry.event_generate("<Return>")
    assert bar.count.get() == "1 of 3"
    bar.entry.event_generate("<Shift-Return>")
    assert bar.count.get() == "3 of 3"
    bar.query.set("1.2")  # literal, not a pattern: "1.2" is no match in "1x2"
    text.insert("end", "\n1x2")
    bar.search()
    assert bar.count.get() == "no matches"
    bar.entry.event_generate("<Escape>")
    tk_root.update()
    assert not bar.shown and not text.tag_ranges(MATCH_TAG)
    top.destroy()


def _menu_of(widget: tk.Misc) -> tk.Menu:
    menus = [w for w in widget.winfo_children() if isinstance(w, tk.Menu)]
    assert menus, "no menu opened"
    return menus[-1]


def test_entry_menu_offers_cut_copy_paste_by_selection(tk_root):
    top = tk.Toplevel(tk_root)
    entry = ttk.Entry(top)
    entry.pack()
    edit_menu(entry)
    entry.insert(0, "hello")
    top.update()
    entry.event_generate("<Button-3>", x=5, y=5)
    menu = _menu_of(entry)
    labels = [menu.entrycget(i, "label") for i in range(menu.index("end") + 1)]
    assert labels == ["Cut", "Copy", "Paste", "Select all"]
    assert menu.entrycget(1, "state") == "disabled"  # nothing selected yet
    menu.unpost()
    menu.invoke(3)  # Select all
    assert entry.selection_present()
    entry.event_generate("<Button-3>", x=5, y=5)
    menu = _menu_of(entry)
    assert menu.entrycget(1, "state") == "normal"
    menu.unpost()
    top.destroy()


def test_read_only_text_menu_copies_the_selection(tk_root):
    top = tk.Toplevel(tk_root)
    text = tk.Text(top)
    text.pack()
    text.insert("end", "a line to copy")
    read_only_menu(text)
    top.update()
    text.event_generate("<Button-3>", x=5, y=5)
    menu = _menu_of(text)
    assert menu.entrycget(0, "state") == "disabled"  # nothing selected to copy
    menu.unpost()
    menu.invoke(1)  # Select all
    text.event_generate("<Button-3>", x=5, y=5)
    menu = _menu_of(text)
    menu.unpost()
    menu.invoke(0)  # Copy
    assert tk_root.clipboard_get() == "a line to copy"
    top.destroy()
