"""Questions before destructive actions: they say what will be lost, and
the safe answer is the default (Enter and Escape both keep things as they are).
"""

from __future__ import annotations

import tkinter as tk
from tkinter import messagebox


def confirm_destructive(parent: tk.Misc, title: str, question: str, loses: str) -> bool:
    """True only if the user chose Yes. ``loses`` says what cannot be undone,
    e.g. "Every account and session token is deleted; users must register again."."""
    return bool(messagebox.askyesno(title, f"{question}\n\n{loses}", icon=messagebox.WARNING,
                                    default=messagebox.NO, parent=parent))
