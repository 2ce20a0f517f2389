"""One look for every window: the Sun Valley ttk theme (sv-ttk) in a light
and a dark variant, scaled to the display's DPI, and the colours windows use
by role rather than by value.

Windows never write a colour: they name its role (``color(w, "error")``,
``style="Error.TLabel"``) and colour their ``Text`` and ``Listbox`` widgets
with ``themed_text``, so one palette serves every window and a theme change
(``set_mode``) reaches them all at once. A window that draws something of
its own binds ``<<ThemeChanged>>``, which every widget receives after a
switch, and reads ``color()`` again there.

sv-ttk was chosen over ttkbootstrap by measurement (``tests/bench/
bench_start.py``, launcher drawn from source / frozen, dist size; clam was
0.18 / 0.17 s, 33.4 MB): sv-ttk 0.21 / 0.21 s light, 0.23 / 0.20 s dark,
33.6 MB; ttkbootstrap 2.2 0.24 / 0.23 s light, 0.37 / 0.39 s dark, 55.4 MB
(it needs Pillow), and its dark variant left plain ttk tables white.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import tkinter as tk
import weakref
from pathlib import Path
from tkinter import font as tkfont
from tkinter import ttk

log = logging.getLogger("netdesk.gui.kit.style")

MODES = ("light", "dark", "system")

# Role -> colour. Text colours keep 4.5:1 contrast on their background.
LIGHT = {
    "error": "#b00020",
    "hint": "#5f5f5f",
    "muted": "#767676",
    "accent": "#1a5fb4",
    "private": "#8a3ffc",
    "warning": "#9a6700",
    "match": "#fff2a8",
    "match_current": "#f5a623",
    "text_bg": "#ffffff",
    "text_fg": "#1c1c1c",
    # Not for windows: what the theme itself is drawn with.
    "window_bg": "#fafafa",
    "select_bg": "#2f60d8",
    "select_fg": "#ffffff",
    "select_idle_bg": "#dcdcdc",
    "select_idle_fg": "#1c1c1c",
    "menu_bg": "#f3f3f3",
    "border": "#d0d0d0",
}
DARK = {
    "error": "#ff7b7b",
    "hint": "#b0b0b0",
    "muted": "#8f8f8f",
    "accent": "#57c8ff",
    "private": "#c6a4ff",
    "warning": "#e3b341",
    "match": "#6b5d00",
    "match_current": "#b86e00",
    "text_bg": "#252525",
    "text_fg": "#f2f2f2",
    "window_bg": "#1c1c1c",
    "select_bg": "#2f60d8",
    "select_fg": "#ffffff",
    "select_idle_bg": "#3d3d3d",
    "select_idle_fg": "#f2f2f2",
    "menu_bg": "#2b2b2b",
    "border": "#3a3a3a",
}
PALETTES = {"light": LIGHT, "dark": DARK}

_palette = dict(LIGHT)
_mode = "light"  # the variant in use: "light" or "dark"
# Widgets coloured by themed_text, with their tag roles, to colour again on a switch.
_themed: weakref.WeakKeyDictionary[tk.Misc, dict[str, str]] = weakref.WeakKeyDictionary()


def color(widget: tk.Misc | None, role: str) -> str:
    """The current colour of ``role`` (see ``LIGHT`` for the roles)."""
    return _palette.get(role, _palette["text_fg"])


def current_mode() -> str:
    """"light" or "dark": the variant in use now."""
    return _mode


def themed_text(text: tk.Text | tk.Listbox, tags: dict[str, str] | None = None) -> None:
    """Colour a ``Text`` (or ``Listbox``) and its tags, each tag by role:
    ``themed_text(t, {"error": "error", "mine": "accent"})``. Done again
    by every theme switch for as long as the widget lives."""
    tags = dict(tags or {})
    _themed[text] = {**_themed.get(text, {}), **tags}
    _colour_text(text, _themed[text])


def _colour_text(text: tk.Misc, tags: dict[str, str]) -> None:
    text.configure(background=color(text, "text_bg"), foreground=color(text, "text_fg"),
                   selectbackground=color(text, "select_bg"),
                   selectforeground=color(text, "select_fg"),
                   highlightbackground=color(text, "border"),
                   highlightcolor=color(text, "select_bg"))
    if isinstance(text, tk.Text):
        text.configure(insertbackground=color(text, "text_fg"),
                       inactiveselectbackground=color(text, "select_idle_bg"))
        for tag, role in tags.items():
            text.tag_configure(tag, foreground=color(text, role))


# -- the system's choice --------------------------------------------------------------------

def system_mode() -> str:
    """"dark" if the desktop asks applications for a dark look, else "light".

    No universal API on Linux: GTK_THEME=Name:dark, then the freedesktop /
    GNOME setting through ``gsettings`` with a short timeout. Windows: the
    registry's AppsUseLightTheme; macOS: AppleInterfaceStyle.
    """
    try:
        if sys.platform == "win32":
            import winreg
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, r"Software\Microsoft\Windows"
                                r"\CurrentVersion\Themes\Personalize") as key:
                light, _ = winreg.QueryValueEx(key, "AppsUseLightTheme")
            return "light" if light else "dark"
        if sys.platform == "darwin":
            out = subprocess.run(["defaults", "read", "-g", "AppleInterfaceStyle"],
                                 capture_output=True, text=True, timeout=1)
            return "dark" if out.stdout.strip().lower() == "dark" else "light"
        if os.environ.get("GTK_THEME", "").lower().endswith(":dark"):
            return "dark"
        out = subprocess.run(["gsettings", "get", "org.gnome.desktop.interface",
                              "color-scheme"], capture_output=True, text=True, timeout=0.5)
        return "dark" if "dark" in out.stdout.lower() else "light"
    except (OSError, subprocess.SubprocessError, ValueError):
        return "light"


def resolve(mode: str | None) -> str:
    """"light" or "dark" for a setting of "light", "dark" or "system"."""
    if mode in PALETTES:
        return mode
    return system_mode()


# -- scaling ---------------------------------------------------------------------------------

def scale_factor(widget: tk.Misc) -> float:
    """How much bigger than at 96 dpi things must be drawn (2.0 at 192 dpi)."""
    return max(1.0, float(widget.tk.call("tk", "scaling")) * 72 / 96)


def px(widget: tk.Misc, pixels: float) -> int:
    """``pixels`` at 96 dpi, in this display's pixels."""
    return round(pixels * scale_factor(widget))


def image_zoom(widget: tk.Misc) -> int:
    """Whole-number zoom for bitmaps: 2 from 144 dpi, 3 from 240 dpi."""
    return max(1, int(scale_factor(widget) + 0.5))


def _set_scaling(root: tk.Tk) -> None:
    """Points follow the display's DPI (Tk on Windows, unaware, assumes 96)."""
    dpi = root.winfo_fpixels("1i")
    if dpi > 0:
        root.tk.call("tk", "scaling", dpi / 72)


_NAMED_FONT_PX = {  # sizes at 96 dpi, in pixels, the size of sv-ttk's body text
    "TkDefaultFont": 14, "TkTextFont": 14, "TkMenuFont": 14, "TkHeadingFont": 14,
    "TkCaptionFont": 14, "TkTooltipFont": 12, "TkSmallCaptionFont": 12, "TkIconFont": 12,
    "TkFixedFont": 13,
}


def _scale_named_fonts(root: tk.Tk) -> None:
    """Tk's X11 fonts are sized in pixels, so they would stay small on a
    HiDPI screen; fonts sized in points already follow ``tk scaling``."""
    factor = scale_factor(root)
    for name, size in _NAMED_FONT_PX.items():
        try:
            f = tkfont.nametofont(name, root=root)
        except tk.TclError:
            continue
        if int(f.cget("size")) < 0:  # pixels: set ours, scaled
            f.configure(size=-round(size * factor))


# -- the theme -------------------------------------------------------------------------------

def _sv_dir() -> Path | None:
    try:
        import sv_ttk
    except ImportError:
        return None
    return Path(sv_ttk.__file__).resolve().parent


_SIZE_OPTION = re.compile(r"(-(?:border|padding|width|height)\s+)(\{[^}]*\}|\d+)")
_FONT_PX = re.compile(r"-size -(\d+)")


def _scaled_numbers(match: re.Match, zoom: int) -> str:
    value = re.sub(r"\d+", lambda m: str(int(m.group()) * zoom), match.group(2))
    return match.group(1) + value


def _sun_valley_script(directory: Path, zoom: int, font_factor: float) -> str:
    """sv-ttk's Tcl, with its bitmaps zoomed and its pixel sizes scaled.

    sv-ttk draws with 1x bitmaps and pixel-sized fonts: on a 192-dpi screen
    its check boxes and text would be half size. Its sources are read,
    scaled and evaluated here instead of ``source``d (same version pinned in
    pyproject.toml; a change of shape falls back to 1x with a log line).
    """
    theme = directory / "theme"
    parts = []
    for variant in ("light", "dark"):
        tcl = (theme / f"{variant}.tcl").read_text(encoding="utf-8")
        if zoom > 1:
            tcl, n1 = re.subn(r"image create photo -width \$width -height \$height",
                              f"image create photo -width [expr {{$width*{zoom}}}] "
                              f"-height [expr {{$height*{zoom}}}]", tcl)
            tcl, n2 = re.subn(r"(-from \$x \$y \[expr \{\$x\+\$width\}\] "
                              r"\[expr \{\$y\+\$height\}\])", rf"\1 -zoom {zoom}", tcl)
            if n1 != 1 or n2 != 1:
                log.warning("sv-ttk's image loader changed shape; drawing it at 1x")
                return _sun_valley_script(directory, 1, font_factor)
            tcl = _SIZE_OPTION.sub(lambda m: _scaled_numbers(m, zoom), tcl)
        # The theme finds its sprites beside itself through [info script].
        parts.append(f"info script {{{theme / (variant + '.tcl')}}}\n{tcl}")
    main = (directory / "sv.tcl").read_text(encoding="utf-8")
    main = re.sub(r"^source .*$", "", main, flags=re.MULTILINE)
    main = _FONT_PX.sub(lambda m: f"-size -{round(int(m.group(1)) * font_factor)}", main)
    return "\n".join(parts) + "\n" + main


def _load_sun_valley(root: tk.Tk) -> bool:
    if root.tk.call("info", "exists", "::netdesk_sv_loaded") == 1 or \
            getattr(root, "_sv_ttk_loaded", False):
        return True
    directory = _sv_dir()
    if directory is None:
        return False
    try:
        script = _sun_valley_script(directory, image_zoom(root), scale_factor(root))
        root.tk.call("eval", script)
    except (OSError, tk.TclError) as e:  # a damaged install: plain clam, and say so
        log.error("cannot load the sv-ttk theme from %s: %s", directory, e)
        return False
    # sv-ttk recolours on the <<ThemeChanged>> that ttk sends later, when the
    # event queue is next served, with tk_setPalette, over our colours: it is
    # called at once by set_mode instead, and our colours go on top.
    for tag in (root.winfo_class(), "Menu"):
        root.tk.call("bind", tag, "<<ThemeChanged>>", "")
    root.tk.call("set", "::netdesk_sv_loaded", 1)
    root._sv_ttk_loaded = True  # sv_ttk's own helpers must not source it again
    return True


def theme_in_use(root: tk.Misc) -> str:
    return str(ttk.Style(root).theme_use())


def _theme_name(root: tk.Tk, mode: str) -> str | None:
    if _load_sun_valley(root):
        return f"sun-valley-{mode}"
    style = ttk.Style(root)
    return "clam" if "clam" in style.theme_names() else None


def apply(root: tk.Tk, mode: str | None = "light") -> str:
    """Set the look for ``root`` and every window it will open: scale to the
    display, load the theme in ``mode`` ("light", "dark" or "system"), and
    put the palette in the option database for classic Tk widgets.
    Returns the variant chosen, "light" or "dark"."""
    _set_scaling(root)
    _scale_named_fonts(root)
    return set_mode(root, mode)


def set_mode(root: tk.Tk, mode: str | None) -> str:
    """Switch every open window to ``mode`` ("light", "dark" or "system")."""
    global _mode
    variant = resolve(mode)
    old_bg = _palette["window_bg"]
    _mode = variant
    _palette.clear()
    _palette.update(PALETTES[variant])
    style = ttk.Style(root)
    name = _theme_name(root, variant)
    # Windows and macOS keep their native theme if sv-ttk is missing.
    if name and (name != "clam" or root.tk.call("tk", "windowingsystem") == "x11"):
        style.theme_use(name)
    if name and name.startswith("sun-valley"):
        root.tk.call("configure_colors")  # sv-ttk's base colours and tk_setPalette
    _configure_styles(root, style, name or "")
    _option_database(root)
    _recolour_tree(root, old_bg)
    return variant


def _configure_styles(root: tk.Tk, style: ttk.Style, theme: str) -> None:
    p = _palette
    if theme == "clam":  # the fallback when sv-ttk is missing
        style.configure(".", background=p["window_bg"], foreground=p["text_fg"],
                        fieldbackground=p["text_bg"], troughcolor=p["border"],
                        selectbackground=p["select_bg"], selectforeground=p["select_fg"],
                        insertcolor=p["text_fg"], bordercolor=p["border"])
        style.map(".", background=[("active", p["select_idle_bg"])],
                  foreground=[("disabled", p["muted"])])
        # clam draws a progress bar's done part lighter than its trough, so a
        # finished bar looks empty: the fill takes the accent colour.
        style.configure("Horizontal.TProgressbar", background=p["select_bg"],
                        lightcolor=p["select_bg"], darkcolor=p["select_bg"],
                        bordercolor=p["select_bg"], troughcolor=p["border"])
        # A disabled button keeps no focus ring: it cannot be pressed.
        style.map("TButton", focuscolor=[("disabled", p["window_bg"])])
    # Rows as tall as the text needs, whatever the DPI and font.
    tree_font = style.lookup("Treeview", "font") or "TkDefaultFont"
    try:
        linespace = tkfont.nametofont(tree_font, root=root).metrics("linespace")
    except tk.TclError:
        linespace = tkfont.Font(root=root, font=tree_font).metrics("linespace")
    style.configure("Treeview", rowheight=linespace + px(root, 6))
    # Selected rows in the accent colour while the table has the focus,
    # grey when it has not: where the keyboard is stays visible.
    style.map("Treeview",
              background=[("selected", "focus", p["select_bg"]),
                          ("selected", p["select_idle_bg"])],
              foreground=[("selected", "focus", p["select_fg"]),
                          ("selected", p["select_idle_fg"])])
    style.configure("Error.TLabel", foreground=p["error"])
    style.configure("Hint.TLabel", foreground=p["hint"])
    style.configure("Accent.TLabel", foreground=p["accent"])
    style.configure("Title.TLabel", font=("TkHeadingFont", 16, "bold"))


def _option_database(root: tk.Tk) -> None:
    """Classic Tk widgets created from now on take the palette."""
    p = _palette
    for pattern, value in (
            ("*Text.background", p["text_bg"]), ("*Text.foreground", p["text_fg"]),
            ("*Text.insertBackground", p["text_fg"]),
            ("*Text.selectBackground", p["select_bg"]),
            ("*Text.selectForeground", p["select_fg"]),
            ("*Text.inactiveSelectBackground", p["select_idle_bg"]),
            ("*Text.highlightBackground", p["border"]),
            ("*Text.highlightColor", p["select_bg"]),
            ("*Listbox.background", p["text_bg"]), ("*Listbox.foreground", p["text_fg"]),
            ("*Listbox.selectBackground", p["select_bg"]),
            ("*Listbox.selectForeground", p["select_fg"]),
            ("*Listbox.highlightBackground", p["border"]),
            ("*Listbox.highlightColor", p["select_bg"]),
            ("*Menu.background", p["menu_bg"]), ("*Menu.foreground", p["text_fg"]),
            ("*Menu.activeBackground", p["select_bg"]),
            ("*Menu.activeForeground", p["select_fg"]),
            ("*Menu.disabledForeground", p["muted"]),
            ("*Menu.selectColor", p["text_fg"]),
            ("*Toplevel.background", p["window_bg"]),
            ("*Canvas.background", p["window_bg"]),
            ("*Canvas.highlightThickness", 0),
            # Tk's message boxes put the whole text in a bold caption font.
            ("*Dialog.msg.font", "TkDefaultFont"),
    ):
        # Above tk_setPalette's entries (60), below nothing a window sets itself.
        root.option_add(pattern, value, "interactive")


def _recolour_tree(root: tk.Tk, old_bg: str) -> None:
    """Give the open windows the new palette: registered texts with their
    tags, other texts and lists, menus, window and canvas backgrounds."""
    p = _palette
    old_rgb = _rgb(root, old_bg)
    stack: list[tk.Misc] = [root]
    while stack:
        w = stack.pop()
        stack.extend(w.winfo_children())
        try:
            if isinstance(w, (tk.Text, tk.Listbox)):
                _colour_text(w, _themed.get(w, {}))
            elif isinstance(w, tk.Menu):
                w.configure(background=p["menu_bg"], foreground=p["text_fg"],
                            activebackground=p["select_bg"], activeforeground=p["select_fg"],
                            disabledforeground=p["muted"], selectcolor=p["text_fg"])
            elif isinstance(w, (tk.Tk, tk.Toplevel, tk.Frame)) or isinstance(w, tk.Canvas) \
                    and _rgb(root, w.cget("background")) == old_rgb:
                # A canvas may be painted on purpose: only the window colour follows.
                w.configure(background=p["window_bg"])
        except tk.TclError:
            continue


def _rgb(widget: tk.Misc, colour: str) -> tuple[int, int, int] | None:
    try:
        return widget.winfo_rgb(colour)
    except tk.TclError:
        return None
