"""The Help menu's windows: About netdesk, and the keyboard shortcuts.

Small themed dialogs (not Tk's bold message box), one of each at a time;
Escape or Close closes them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tkinter as tk
from pathlib import Path
from tkinter import ttk

from gui.kit.icons import scaled_photo, set_window_icon
from gui.kit.style import px
from net import __version__
from net.i18n import N_, _

DESCRIPTION = N_("A desktop network workbench: echo and chat servers, a chat client, "
                 "a TCP port scanner and a server control panel.")

# Sections and what each key does, marked here and translated when shown.
# Key names stay as printed on keyboards (Ctrl, Shift, Enter).
SHORTCUTS = [
    (N_("Everywhere"), [
        ("Ctrl+Q", N_("Quit netdesk (asks first while a server runs or a chat is connected)")),
        ("Tab, Shift+Tab", N_("Move between fields and buttons")),
        ("Enter", N_("Press the focused button")),
        ("Escape", N_("Close a dialog")),
        ("Shift+F10, Menu", N_("Open the right-click menu of a text, list or table")),
    ]),
    (N_("Transcripts and logs"), [
        ("Ctrl+F", N_("Find; Enter and Shift+Enter step to the next and previous match")),
        ("Ctrl+C, Ctrl+A", N_("Copy, select all")),
    ]),
    (N_("Launcher"), [  # the letters are those the menus underline in the language shown
        ("Alt+{view}", N_("View menu: light, dark or the system's look")),
        ("Alt+{language}", N_("Language menu: English, Russian or the system's")),
        ("Alt+{help}", N_("Help menu")),
    ]),
]


class _Dialog(tk.Toplevel):
    def __init__(self, master: tk.Misc, title: str):
        super().__init__(master)
        self.title(title)
        self.transient(master.winfo_toplevel())
        self.protocol("WM_DELETE_WINDOW", self.destroy)
        self.bind("<Escape>", lambda e: self.destroy())
        set_window_icon(self, "netdesk")
        self.body = ttk.Frame(self, padding=px(self, 18))
        self.body.grid(row=0, column=0, sticky="nsew")
        self.rowconfigure(0, weight=1)
        self.columnconfigure(0, weight=1)

    def close_row(self, row: int) -> ttk.Button:
        button = ttk.Button(self.body, text=_("Close"), command=self.destroy,
                            style="Accent.TButton")
        button.grid(row=row, column=0, columnspan=2, sticky="e", pady=(px(self, 16), 0))
        button.bind("<Return>", lambda e: self.destroy())
        button.focus_set()
        return button


class AboutDialog(_Dialog):
    def __init__(self, master: tk.Misc, data_dir: Path):
        super().__init__(master, _("About netdesk"))
        self.resizable(False, False)
        body = self.body
        self.logo = scaled_photo(self, "netdesk", 64)
        if self.logo:
            ttk.Label(body, image=self.logo).grid(row=0, column=0, rowspan=3, sticky="n",
                                                  padx=(0, px(self, 16)))
        ttk.Label(body, text="netdesk", style="Title.TLabel").grid(row=0, column=1, sticky="w")
        ttk.Label(body, text=_("Version {version}").format(version=__version__),
                  style="Hint.TLabel").grid(row=1, column=1, sticky="w")
        ttk.Label(body, text=_(DESCRIPTION), wraplength=px(self, 360), justify="left").grid(
            row=2, column=1, sticky="w", pady=(px(self, 10), 0))
        ttk.Label(body, text=_("Data folder (log, accounts, history, settings):"),
                  wraplength=px(self, 360), justify="left",
                  style="Hint.TLabel").grid(row=3, column=1, sticky="w",
                                            pady=(px(self, 12), 0))
        # Read-only but selectable, so the path can be copied.
        self.data_dir = tk.StringVar(self, str(data_dir))
        path = ttk.Entry(body, textvariable=self.data_dir, state="readonly",
                         width=max(30, min(60, len(str(data_dir)) + 2)))
        path.grid(row=4, column=1, sticky="ew")
        self.close_button = self.close_row(5)


class ShortcutsDialog(_Dialog):
    def __init__(self, master: tk.Misc, menu_keys: dict[str, str] | None = None):
        """``menu_keys``: the letter each launcher menu opens with ({"view": "V"})."""
        super().__init__(master, _("netdesk — Keyboard shortcuts"))
        menu_keys = {"file": "F", "view": "V", "language": "L", "help": "H",
                     **(menu_keys or {})}
        body = self.body
        row = 0
        for section, keys in SHORTCUTS:
            ttk.Label(body, text=_(section), style="Accent.TLabel",
                      font="TkHeadingFont").grid(row=row, column=0, columnspan=2, sticky="w",
                                                 pady=(px(self, 10) if row else 0, px(self, 2)))
            row += 1
            for key, what in keys:
                ttk.Label(body, text=key.format(**menu_keys), font="TkFixedFont").grid(
                    row=row, column=0, sticky="nw", padx=(px(self, 8), px(self, 16)))
                ttk.Label(body, text=_(what), wraplength=px(self, 380), justify="left").grid(
                    row=row, column=1, sticky="w")
                row += 1
        self.close_button = self.close_row(row)


def open_folder(path: Path) -> None:
    """Show ``path`` in the system's file manager."""
    if sys.platform == "win32":
        os.startfile(path)  # noqa: S606 - a folder of ours, not user input
    elif sys.platform == "darwin":
        subprocess.Popen(["open", str(path)])
    else:
        # Detached through sh, so no child is left for us to reap.
        subprocess.run(["sh", "-c", 'xdg-open "$1" >/dev/null 2>&1 &', "sh", str(path)],
                       timeout=5, check=False)
