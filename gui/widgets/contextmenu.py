"""Right-click menus: the standard ones for text and entries, and a helper
for menus of a window's own (user lists, scan results).

    edit_menu(entry)                        # Cut, Copy, Paste, Select all
    read_only_menu(text)                    # Copy, Select all
    attach(tree, build)                     # build(event) -> tk.Menu | None

Menus open on the third button (and Ctrl+click on macOS, whose second
button is the right one) and on the keyboard's Menu key / Shift+F10.
Every widget given a menu with "Select all  Ctrl+A" also gets Ctrl+A that
does it (``select_all``): Tk's Entry and Text take Ctrl+A, Emacs style, to
the line's start, which is not what the menu promises.
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable

from net.i18n import _


def _buttons(widget: tk.Misc) -> list[str]:
    if widget.tk.call("tk", "windowingsystem") == "aqua":
        return ["<Button-2>", "<Control-Button-1>"]
    return ["<Button-3>"]


def attach(widget: tk.Misc, build: Callable[[tk.Event], tk.Menu | None]) -> None:
    """Open the menu ``build(event)`` returns where the user right-clicked
    (or at the widget's corner from the keyboard)."""
    shown: list[tk.Menu] = []  # the last menu built: one per widget, not one per click

    def show(event: tk.Event) -> str:
        menu = build(event)
        for old in shown:
            if old is not menu:
                old.destroy()
        shown[:] = [menu] if menu is not None else []
        if menu is None:
            return "break"
        if event.x_root or event.y_root:
            x, y = event.x_root, event.y_root
        else:
            x, y = widget.winfo_rootx() + 20, widget.winfo_rooty() + 20
        try:
            menu.tk_popup(x, y)
        finally:
            menu.grab_release()
        return "break"

    for sequence in (*_buttons(widget), "<Shift-F10>", "<KeyPress-Menu>"):
        widget.bind(sequence, show, add="+")


def _menu(widget: tk.Misc, items: list[tuple[str, str, Callable[[], object], bool]]) -> tk.Menu:
    menu = tk.Menu(widget, tearoff=False)
    for label, accelerator, command, enabled in items:
        menu.add_command(label=label, accelerator=accelerator, command=command,
                         state="normal" if enabled else "disabled")
    return menu


def _has_selection(widget: tk.Misc) -> bool:
    try:
        if isinstance(widget, tk.Text):
            return bool(widget.tag_ranges("sel"))
        return bool(widget.selection_present())
    except tk.TclError:
        return False


def select_all(widget: tk.Misc) -> None:
    """Select the whole of an Entry, ttk.Entry or Text, as "Select all" does
    (an entry's cursor goes to the end, as Tk's own <<SelectAll>> puts it)."""
    if isinstance(widget, tk.Text):
        widget.tag_add("sel", "1.0", "end-1c")
    else:
        widget.select_range(0, "end")
        widget.icursor("end")


def _ctrl_a_selects_all(widget: tk.Misc) -> None:
    # Bound on the widget, whose bindings run before its class's; "break"
    # keeps Tk's class binding (to the line's start) from running after it.
    # Both letters: with Caps Lock on, Ctrl+A arrives as <Control-A>.
    for sequence in ("<Control-a>", "<Control-A>"):
        widget.bind(sequence, lambda e: (select_all(widget), "break")[1])


def edit_menu(entry: tk.Misc) -> None:
    """Cut, Copy, Paste, Select all for an entry or an editable text."""
    def build(event: tk.Event) -> tk.Menu:
        entry.focus_set()
        selected = _has_selection(entry)
        editable = str(entry.cget("state")) not in ("disabled", "readonly")
        return _menu(entry, [
            (_("Cut"), "Ctrl+X", lambda: entry.event_generate("<<Cut>>"),
             selected and editable),
            (_("Copy"), "Ctrl+C", lambda: entry.event_generate("<<Copy>>"), selected),
            (_("Paste"), "Ctrl+V", lambda: entry.event_generate("<<Paste>>"), editable),
            (_("Select all"), "Ctrl+A", lambda: select_all(entry), True),
        ])
    attach(entry, build)
    _ctrl_a_selects_all(entry)


def read_only_menu(text: tk.Text) -> None:
    """Copy and Select all for a read-only transcript or log."""
    def build(event: tk.Event) -> tk.Menu:
        return _menu(text, [
            (_("Copy"), "Ctrl+C", lambda: text.event_generate("<<Copy>>"),
             _has_selection(text)),
            (_("Select all"), "Ctrl+A", lambda: select_all(text), True),
        ])
    attach(text, build)
    _ctrl_a_selects_all(text)
