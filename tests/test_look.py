"""The look under Xvfb (issue 10): light and dark themes switched at once in
every window, HiDPI scaling, the progress bar and table focus colours, the
Help menu's About, Quit asking before it cuts anyone off, and callback errors
logged and shown. Each test fails on the code before issue 10."""

from __future__ import annotations

import logging
import socket
import tkinter as tk
from tkinter import font as tkfont
from tkinter import ttk

import pytest

from gui.kit import errors, style
from gui.kit.settings import Settings
from gui.launcher import Launcher
from net import __version__, datadir
from tests.conftest import retire_root, wait_until


@pytest.fixture(autouse=True)
def light_again():
    yield
    style._palette.clear()
    style._palette.update(style.LIGHT)
    style._mode = "light"


def fresh_root(dpi: float | None = None, mode: str = "light") -> tk.Tk:
    """A Tk root styled as netdesk styles it, as if the screen had ``dpi``."""
    root = tk.Tk()
    root.errors = []
    root.report_callback_exception = lambda exc, val, tb: root.errors.append(val)
    if dpi is not None:
        root.winfo_fpixels = lambda distance: dpi
    style.apply(root, mode)
    return root


@pytest.fixture
def root():
    r = fresh_root()
    yield r
    retire_root(r)
    if r.errors:
        raise r.errors[0]


@pytest.fixture
def launcher(tmp_path):
    handler = datadir.setup_logging(tmp_path)
    r = fresh_root()
    asked = []
    app = Launcher(r, tmp_path, Settings(tmp_path / "settings.json"), handler)
    app.answer = False

    def confirm(parent, title, question, loses):
        asked.append((title, question, loses))
        return app.answer

    app.confirm = confirm
    app.asked = asked
    yield app
    try:
        app.quit()
    except tk.TclError:
        pass
    retire_root(r)
    datadir.remove_logging(handler)
    if r.errors:
        raise r.errors[0]


def rgb(widget: tk.Misc, colour: str) -> tuple[int, int, int]:
    return tuple(v // 257 for v in widget.winfo_rgb(colour))


def luminance(c: tuple[int, int, int]) -> float:
    def channel(v: int) -> float:
        v = v / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(v) for v in c)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


# -- theme ---------------------------------------------------------------------------------

def test_a_theme_switch_recolours_open_windows_at_once(root):
    assert style.theme_in_use(root) == "sun-valley-light"
    top = tk.Toplevel(root)
    transcript = tk.Text(top)
    style.themed_text(transcript, {"error": "error"})
    plain = tk.Text(top)  # never registered: the option database and the walk reach it
    users = tk.Listbox(top)
    menu = tk.Menu(top, tearoff=False)
    heard = []
    top.bind("<<ThemeChanged>>", lambda e: heard.append(style.current_mode()))
    root.update()
    light_bg = rgb(root, transcript.cget("background"))
    assert luminance(light_bg) > 0.8

    assert style.set_mode(root, "dark") == "dark"
    wait_until(lambda: heard, 5, root, "<<ThemeChanged>> in the open window")
    assert heard[-1] == "dark"  # the palette had changed when the window heard it
    assert style.theme_in_use(root) == "sun-valley-dark"
    for widget in (transcript, plain, users):
        assert luminance(rgb(root, widget.cget("background"))) < 0.05, widget
        assert luminance(rgb(root, widget.cget("foreground"))) > 0.8, widget
    assert transcript.tag_cget("error", "foreground") == style.DARK["error"]
    assert luminance(rgb(root, menu.cget("background"))) < 0.05
    assert luminance(rgb(root, top.cget("background"))) < 0.05
    later = tk.Text(top)  # created after the switch
    assert luminance(rgb(root, later.cget("background"))) < 0.05

    style.set_mode(root, "light")
    root.update()
    assert rgb(root, transcript.cget("background")) == light_bg
    assert transcript.tag_cget("error", "foreground") == style.LIGHT["error"]


def test_the_view_menu_switches_and_remembers(launcher, tmp_path):
    view = launcher.menus["view"]
    labels = [view.entrycget(i, "label") for i in range(view.index("end") + 1)]
    assert labels[0] == "Light" and labels[1] == "Dark" and labels[2].startswith("As the system")
    launcher.buttons["echo"].invoke()
    echo = launcher.windows[-1]
    view.invoke(1)  # Dark
    launcher.root.update()
    assert style.current_mode() == "dark"
    assert luminance(rgb(echo, echo.transcript.cget("background"))) < 0.05
    assert Settings(tmp_path / "settings.json").get("view", "theme") == "dark"
    view.invoke(0)
    assert style.current_mode() == "light"
    assert Settings(tmp_path / "settings.json").get("view", "theme") == "light"


def test_the_system_choice_is_read_and_defaults_to_light(monkeypatch):
    monkeypatch.setattr("sys.platform", "linux")
    monkeypatch.setenv("GTK_THEME", "Adwaita:dark")
    assert style.system_mode() == "dark"
    monkeypatch.delenv("GTK_THEME")

    class Answer:
        stdout = "'prefer-dark'\n"

    monkeypatch.setattr(style.subprocess, "run", lambda *a, **k: Answer())
    assert style.system_mode() == "dark"
    assert style.resolve("system") == "dark"
    assert style.resolve("light") == "light"

    def missing(*a, **k):
        raise FileNotFoundError("gsettings")

    monkeypatch.setattr(style.subprocess, "run", missing)
    assert style.system_mode() == "light"


# -- HiDPI ---------------------------------------------------------------------------------

def test_rows_fonts_icons_and_theme_bitmaps_grow_with_the_dpi():
    from gui.kit.icons import scaled_photo
    sizes = {}
    for dpi in (96, 192):
        r = fresh_root(dpi)
        try:
            s = ttk.Style(r)
            row = int(s.lookup("Treeview", "rowheight"))
            linespace = tkfont.nametofont("SunValleyBodyFont", root=r).metrics("linespace")
            assert row >= linespace + 4, "a row must fit its text"
            check = r.tk.call("set", "ttk::theme::sv_light::I(check-unsel-rest)")
            icon = scaled_photo(r, "chat", 32)
            sizes[dpi] = (row, linespace, int(r.tk.call("image", "width", check)),
                          icon.width(), tkfont.nametofont("TkDefaultFont", root=r)
                          .metrics("linespace"))
        finally:
            retire_root(r)
    row96, text96, check96, icon96, font96 = sizes[96]
    row192, text192, check192, icon192, font192 = sizes[192]
    assert row192 >= 1.8 * row96 and text192 >= 1.8 * text96
    assert font192 >= 1.8 * font96
    assert (check96, check192) == (20, 40)
    assert (icon96, icon192) == (32, 64)


def test_tool_windows_scale_their_default_size():
    from gui.echo.window import EchoWindow
    r = fresh_root(192)
    try:
        w = EchoWindow(r, None)
        r.update()
        # 600 px at 96 dpi, or as much of the screen as a window may take
        # (pytest-xvfb's is 800 px wide: gui/kit/placement.py)
        assert w.winfo_width() >= min(1150, r.winfo_screenwidth() - 2 * 16)
        w.close()
    finally:
        retire_root(r)


# -- progress bar and focus (rows 16 and 18) -------------------------------------------

@pytest.mark.parametrize("mode", ["light", "dark"])
def test_a_progress_bar_fill_stands_out_of_its_trough(mode):
    r = fresh_root(mode=mode)
    try:
        images = f"ttk::theme::sv_{mode}::I"
        bar = r.tk.call("set", f"{images}(progressbar-bar-hor)")
        trough = r.tk.call("set", f"{images}(progressbar-trough-hor)")
        fill = tuple(int(v) for v in r.tk.call(bar, "get", 10, 2))
        empty = tuple(int(v) for v in r.tk.call(trough, "get", 10, 2))
        window = rgb(r, style.color(r, "window_bg"))
        assert contrast(fill, empty) >= 2.5, (fill, empty)
        assert contrast(fill, window) >= 2.5, (fill, window)
        assert fill[2] > fill[0]  # the accent blue, not grey
    finally:
        retire_root(r)


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_without_sv_ttk_clam_still_fills_its_progress_bar(mode, monkeypatch):
    monkeypatch.setattr(style, "_sv_dir", lambda: None)
    r = fresh_root(mode=mode)
    try:
        assert style.theme_in_use(r) == "clam"
        s = ttk.Style(r)
        fill = rgb(r, s.lookup("Horizontal.TProgressbar", "background"))
        trough = rgb(r, s.lookup("Horizontal.TProgressbar", "troughcolor"))
        assert contrast(fill, trough) >= 1.8
        assert s.lookup("TButton", "focuscolor", ["disabled"]) == style.color(r, "window_bg")
    finally:
        retire_root(r)


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_table_selection_shows_where_the_focus_is(mode):
    r = fresh_root(mode=mode)
    try:
        s = ttk.Style(r)
        focused = s.lookup("Treeview", "background", ["selected", "focus"])
        idle = s.lookup("Treeview", "background", ["selected"])
        assert focused == style.color(r, "select_bg")
        assert focused != idle
        bg = rgb(r, style.color(r, "window_bg"))
        assert contrast(rgb(r, focused), bg) >= 3
        assert contrast(rgb(r, s.lookup("Treeview", "foreground", ["selected", "focus"])),
                        rgb(r, focused)) >= 4.5
    finally:
        retire_root(r)


# -- Help menu and About (row 20) --------------------------------------------------------

def test_help_menu_opens_a_themed_about_that_escape_closes(launcher, tmp_path):
    help_menu = launcher.menus["help"]
    labels = [help_menu.entrycget(i, "label") for i in range(help_menu.index("end") + 1)
              if help_menu.type(i) == "command"]
    assert labels == ["Keyboard shortcuts…", "Open data folder", "About netdesk…"]
    root = launcher.root
    help_menu.invoke(help_menu.index("About netdesk…"))
    about = launcher.about_dialog
    wait_until(about.winfo_ismapped, 5, root, "the About window")
    texts = []
    stack = [about]
    while stack:
        w = stack.pop()
        stack.extend(w.winfo_children())
        if isinstance(w, ttk.Label):
            texts.append(str(w.cget("text")))
    assert "netdesk" in texts and f"Version {__version__}" in texts
    assert any("network workbench" in t for t in texts)
    assert about.data_dir.get() == str(tmp_path)
    assert launcher.about() is about  # one at a time
    about.focus_force()
    root.update()
    about.close_button.event_generate("<Escape>")
    wait_until(lambda: not about.winfo_exists(), 5, root, "Escape to close About")

    help_menu.invoke(help_menu.index("Keyboard shortcuts…"))
    shortcuts = launcher.shortcuts_dialog
    root.update()
    shortcuts.close_button.invoke()
    assert not shortcuts.winfo_exists()


# -- Quit asks first (row 1) --------------------------------------------------------------

def test_ctrl_q_in_a_chat_asks_while_a_server_has_users_and_no_keeps_it(launcher):
    root = launcher.root
    launcher.buttons["server"].invoke()
    panel = launcher.panel
    panel.host.set("127.0.0.1")
    panel.echo_port.set("0")
    panel.chat_port.set("0")
    panel.irc_port.set("0")
    panel.buttons["start"].invoke()
    wait_until(lambda: panel.status_now is not None, 10, root, "the server")
    port = panel.status_now.ports["chat"]
    launcher.buttons["chat"].invoke()
    chat = launcher.windows[-1]
    chat.host.set("127.0.0.1")
    chat.port.set(str(port))
    chat.name.set("ann")
    chat.password.set("pw")
    chat.login_button.invoke()
    wait_until(lambda: chat.logged_in, 15, root, "ann to log in")
    wait_until(lambda: panel.status_now.online == 1, 10, root, "the panel to count 1 online")

    # Typing in the chat, then Ctrl+Q: the question, answered with its default, No.
    focus = chat.focus_get() or chat
    chat.focus_force()
    root.update()
    focus.event_generate("<Control-q>")
    root.update()
    assert len(launcher.asked) == 1
    title, question, loses = launcher.asked[0]
    assert "1 user online" in loses and "chat window" in loses
    assert root.winfo_exists() and panel.running and chat.logged_in
    socket.create_connection(("127.0.0.1", port), timeout=5).close()

    # The launcher's close button and the Quit menu ask too.
    root.tk.call(root.protocol("WM_DELETE_WINDOW"))
    file_menu = launcher.menus["file"]
    file_menu.invoke(file_menu.index("Quit"))
    assert len(launcher.asked) == 3 and root.winfo_exists()

    launcher.answer = True
    assert launcher.request_quit() is True
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5)


def test_quit_asks_nothing_when_nothing_would_be_lost(launcher):
    launcher.buttons["scanner"].invoke()
    launcher.buttons["chat"].invoke()  # open, not connected
    launcher.root.update()
    assert launcher.losses() == []
    assert launcher.request_quit() is True
    assert launcher.asked == []


# -- errors in callbacks (review) ---------------------------------------------------------

def test_callback_errors_are_logged_and_shown_once_per_burst(tmp_path, logged_errors):
    from gui.main import prepare_root
    handler = datadir.setup_logging(tmp_path)
    r = tk.Tk()
    try:
        prepare_root(r, tmp_path, Settings(tmp_path / "settings.json"))
        reporter = r.report_callback_exception
        assert isinstance(reporter, errors.CallbackErrors)

        def boom():
            raise ValueError("the handler broke")

        button = ttk.Button(r, text="boom", command=boom)
        button.invoke()  # Tk's error path, as a click would take it
        wait_until(lambda: reporter.dialog is not None, 5, r, "the error dialog")
        dialog = reporter.dialog
        wait_until(dialog.winfo_ismapped, 5, r, "the error dialog to show")
        handler.flush()
        logged = datadir.log_path(tmp_path).read_text()
        assert "ValueError: the handler broke" in logged and "Traceback" in logged
        for _ in range(5):  # a storm: still one dialog
            r.after(0, boom)
        wait_until(lambda: reporter.count == 6, 5, r, "the burst")
        dialogs = [w for w in r.winfo_children() if isinstance(w, errors.ErrorDialog)]
        assert dialogs == [dialog]
        assert "5 more" in dialog.more_label.cget("text")
        dialog.focus_force()
        r.update()
        dialog.close_button.event_generate("<Escape>")
        r.update()
        assert not dialog.winfo_exists()
        button.invoke()  # right after: logged, not shown again
        r.update()
        assert reporter.dialog is None and reporter.count == 7
        logging.getLogger(datadir.LOGGER).handlers[0].flush()
        assert datadir.log_path(tmp_path).read_text().count("ValueError") >= 7
        assert len({id(r) for r in logged_errors}) == 7
    finally:
        retire_root(r)
        datadir.remove_logging(handler)
