"""How progress is told to people, shared by the terminal and the window."""

from __future__ import annotations


def format_eta(seconds: float | None) -> str:
    """``mm:ss`` for a time left, ``--:--`` while it is unknown."""
    if seconds is None:
        return "--:--"
    seconds = int(seconds + 0.5)
    return f"{seconds // 60:02d}:{seconds % 60:02d}"
