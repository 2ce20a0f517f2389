"""Windows open whole on the screen, and an error dialog opens over the
window the user was working in (gui/kit/placement.py, gui/kit/errors.py)."""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk

import pytest

from gui.kit import errors
from gui.kit.placement import Screen, placed
from gui.kit.settings import Settings
from gui.kit.toolwindow import ToolWindow
from tests.conftest import wait_until


@pytest.mark.parametrize("screen, size", [
    (Screen(1280, 1000), (820, 640)),     # the panel below the launcher, issue 20
    (Screen(2560, 2000, 2.0), (1200, 1001)),  # a chat window at 192 dpi
    (Screen(800, 600), (820, 640)),       # bigger than the screen
    (Screen(1024, 768), (640, 420)),
])
def test_a_placed_window_is_whole_on_the_screen(screen, size):
    for others in range(10):
        width, height, x, y = placed(screen, *size, others)
        assert x >= 0 and x + width <= screen.width
        assert y >= 0 and y + height + screen.px(48) <= screen.height
        assert width <= size[0] and height <= size[1]


def test_windows_cascade_instead_of_covering_each_other():
    spots = {placed(Screen(1920, 1080), 640, 420, n)[2:] for n in range(4)}
    assert len(spots) == 4


class Plain(ToolWindow):
    default_geometry = "820x640"

    def on_event(self, event) -> None:
        pass


def test_a_tool_window_taller_than_the_screen_opens_whole(tk_root, tmp_path):
    """pytest-xvfb's screen is 800x600: an 820x640 window used to open past
    both edges; remembered sizes bigger than the screen are cut too."""
    settings = Settings(tmp_path / "settings.json")
    settings.update("window", geometry="3000x2500+4000+4000")
    windows = [Plain(tk_root, "a", None), Plain(tk_root, "b", settings)]
    try:
        tk_root.update()
        sw, sh = tk_root.winfo_screenwidth(), tk_root.winfo_screenheight()
        for w in windows:
            w.update_idletasks()
            width, height = w.winfo_width(), w.winfo_height()
            x, y = w.winfo_x(), w.winfo_y()
            assert x >= 0 and y >= 0
            assert x + width <= sw and y + height <= sh, (w.geometry(), sw, sh)
    finally:
        for w in windows:
            w.close()


def test_the_panel_and_a_chat_window_open_whole(tk_root, tmp_path, settle_threads):
    from gui.chat.window import ChatWindow
    from gui.panel.window import ControlPanel
    settings = Settings(tmp_path / "settings.json")
    panel = ControlPanel(tk_root, tmp_path, settings)
    chat = ChatWindow(tk_root, settings)
    try:
        tk_root.update()
        for w in (panel, chat):
            assert w.winfo_y() + w.winfo_height() <= w.winfo_screenheight(), w.geometry()
            assert w.winfo_x() + w.winfo_width() <= w.winfo_screenwidth(), w.geometry()
    finally:
        chat.close()
        panel.close()
    settle_threads()


def test_the_error_dialog_opens_over_the_window_in_use(tk_root, tmp_path, logged_errors):
    tk_root.deiconify()
    tk_root.geometry("200x150+0+0")
    reporter = errors.install(tk_root)
    window = Plain(tk_root, "busy", None)
    window.geometry("420x320+360+260")
    try:
        window.update()
        window.focus_force()
        wait_until(lambda: tk_root.focus_get() is not None
                   and tk_root.focus_get().winfo_toplevel() is window, 5, tk_root,
                   "the focus in the tool window")

        def boom():
            raise ValueError("broken handler")

        ttk.Button(window, text="x", command=boom).invoke()
        wait_until(lambda: reporter.dialog is not None, 5, tk_root, "the dialog")
        dialog = reporter.dialog
        wait_until(dialog.winfo_ismapped, 5, tk_root, "the dialog to show")
        centre_x = dialog.winfo_rootx() + dialog.winfo_width() // 2
        centre_y = dialog.winfo_rooty() + dialog.winfo_height() // 2
        assert window.winfo_rootx() <= centre_x <= window.winfo_rootx() + window.winfo_width()
        assert window.winfo_rooty() <= centre_y <= window.winfo_rooty() + window.winfo_height()
        assert [r.getMessage() for r in logged_errors][:1] == [
            "unexpected error in a window callback"]
        dialog.close()
    finally:
        window.close()
        tk_root.report_callback_exception = tk.Tk.report_callback_exception.__get__(tk_root)


def test_the_status_line_wraps_instead_of_being_cut(tk_root, settle_threads):
    """The echo window at its minimum size in Russian cut its first status
    line after "затем нажмит"; now the status bar is as tall as its lines."""
    from tkinter import font as tkfont

    from gui.echo.window import EchoWindow
    from net import i18n
    i18n.setup("ru")
    window = EchoWindow(tk_root, None)
    try:
        window.geometry("{}x{}".format(*window.minsize()))
        for _ in range(3):
            window.update()
        bar = window.statusbar
        text = window.status.get()
        width = tkfont.nametofont("TkDefaultFont").measure(text)
        assert width > bar.winfo_width(), "the sentence is longer than the window is wide"
        line = tkfont.nametofont("TkDefaultFont").metrics("linespace")
        assert bar.winfo_height() >= 2 * line, "the status bar shows one line only"
        assert window.winfo_y() + window.winfo_height() <= window.winfo_screenheight()
    finally:
        window.close()
    settle_threads()
