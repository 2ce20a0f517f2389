"""Find netdesk's icons, from the source tree or from a frozen bundle.

One helper for both: PyInstaller unpacks bundled files under
``sys._MEIPASS``; from source they sit in ``icons/`` beside ``gui/``.
A missing icon is never fatal: the window just keeps Tk's default.
"""

from __future__ import annotations

import sys
import tkinter as tk
from pathlib import Path

TITLE_BAR_SIZES = (16, 32, 48, 64, 128)  # 256 px adds nothing in a title bar


def icons_dir() -> Path:
    """Frozen: the bundle; from source: icons/ beside gui/; installed with
    pip: the data files under the environment's share/netdesk/icons."""
    if getattr(sys, "frozen", False) and hasattr(sys, "_MEIPASS"):
        return Path(sys._MEIPASS) / "icons"
    source = Path(__file__).resolve().parent.parent.parent / "icons"
    if source.is_dir():
        return source
    return Path(sys.prefix) / "share" / "netdesk" / "icons"


def icon_file(name: str, size: int) -> Path | None:
    path = icons_dir() / f"{name}-{size}.png"
    return path if path.is_file() else None


def photo(master: tk.Misc, name: str, size: int) -> tk.PhotoImage | None:
    path = icon_file(name, size)
    if path is None:
        return None
    try:
        return tk.PhotoImage(master=master, file=str(path))
    except tk.TclError:
        return None


def available_sizes(name: str) -> list[int]:
    sizes = []
    for path in icons_dir().glob(f"{name}-*.png"):
        try:
            sizes.append(int(path.stem.rsplit("-", 1)[1]))
        except ValueError:
            continue
    return sorted(sizes)


def scaled_photo(master: tk.Misc, name: str, size: int) -> tk.PhotoImage | None:
    """An icon ``size`` pixels wide at 96 dpi, drawn from the PNG that fits
    this display (the 64 px file for a 32 px icon at 192 dpi), never
    stretched: a smaller file when no exact one exists."""
    from gui.kit.style import scale_factor
    want = round(size * scale_factor(master))
    sizes = available_sizes(name)
    if not sizes:
        return None
    fitting = [s for s in sizes if s <= want] or sizes[:1]
    return photo(master, name, fitting[-1])


def set_window_icon(window: tk.Wm, name: str) -> None:
    """Title-bar icon at several sizes (Linux ignores the EXE's icon)."""
    images = [img for size in TITLE_BAR_SIZES if (img := photo(window, name, size))]
    if images:
        window.iconphoto(False, *images)
        window._netdesk_icons = images  # Tk does not keep a reference itself
