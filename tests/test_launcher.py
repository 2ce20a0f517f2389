"""The launcher under Xvfb: every button, two chats through a panel-started
server, and Quit leaving nothing behind."""

from __future__ import annotations

import threading
import tkinter as tk

import pytest

from gui.chat_window import ChatWindow
from gui.control_panel import ControlPanel
from gui.echo_window import EchoWindow
from gui.launcher import Launcher
from gui.scanner_window import ScannerWindow
from gui.settings import Settings
from net import datadir
from tests.conftest import retire_root, wait_until


@pytest.fixture
def launcher(tmp_path):
    before = set(threading.enumerate())
    handler = datadir.setup_logging(tmp_path)
    root = tk.Tk()
    errors = []
    root.report_callback_exception = lambda exc, val, tb: errors.append(val)
    app = Launcher(root, tmp_path, Settings(tmp_path / "settings.json"), handler)
    app.threads_before = before
    yield app
    try:
        app.quit()
    except tk.TclError:
        pass
    retire_root(root)
    datadir.remove_logging(handler)
    if errors:
        raise errors[0]


def test_each_button_opens_its_window(launcher):
    expected = {"server": ControlPanel, "chat": ChatWindow, "scanner": ScannerWindow,
                "echo": EchoWindow}
    assert set(launcher.buttons) == set(expected)
    for key, cls in expected.items():
        launcher.buttons[key].invoke()
        launcher.root.update()
        assert isinstance(launcher.windows[-1], cls)
        assert launcher.windows[-1].winfo_ismapped()
    launcher.buttons["chat"].invoke()  # as many chat windows as wanted
    launcher.buttons["server"].invoke()  # but one control panel, raised again
    kinds = [type(w) for w in launcher.windows]
    assert kinds.count(ChatWindow) == 2 and kinds.count(ControlPanel) == 1


def test_enter_on_a_focused_button_opens_its_tool(launcher):
    root = launcher.root
    root.update()
    button = launcher.buttons["scanner"]
    button.focus_force()
    root.update()
    button.event_generate("<Return>")
    root.update()
    assert isinstance(launcher.windows[-1], ScannerWindow)


def test_two_chats_through_a_server_from_the_panel_then_quit(launcher):
    root = launcher.root
    launcher.buttons["server"].invoke()
    panel = launcher.panel
    panel.host.set("127.0.0.1")
    panel.echo_port.set("0")
    panel.chat_port.set("0")
    panel.buttons["start"].invoke()
    wait_until(lambda: panel.status_now is not None, 10, root, "the server")
    port = panel.status_now.ports["chat"]

    chats = []
    for name in ("ann", "bo"):
        launcher.buttons["chat"].invoke()
        w = launcher.windows[-1]
        w.host.set("127.0.0.1")
        w.port.set(str(port))
        w.name.set(name)
        w.password.set("pw")
        w.login_button.invoke()
        wait_until(lambda w=w: w.logged_in, 15, root, f"{name} to log in")
        chats.append(w)
    chats[0].line.set("hello from the launcher")
    chats[0].send()
    wait_until(lambda: "hello from the launcher" in chats[1].transcript_text(), 10, root,
               "the line to reach the other window")
    wait_until(lambda: panel.status_now.online == 2, 10, root, "the panel to count 2 online")

    launcher.quit()  # every window, every worker, every service
    wait_until(lambda: not (set(threading.enumerate()) - launcher.threads_before), 5,
               message="every thread to end after Quit")
    import socket
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5)


def test_geometry_is_remembered(launcher, tmp_path):
    # A size above the minimum, which grows with the display's scaling.
    low_w, low_h = launcher.root.minsize()
    size = f"{max(400, low_w + 40)}x{max(360, low_h + 40)}"
    launcher.root.geometry(size)
    launcher.root.update()
    launcher.quit()
    assert Settings(tmp_path / "settings.json").get("launcher", "geometry").startswith(size)
    root = tk.Tk()
    try:
        again = Launcher(root, tmp_path, Settings(tmp_path / "settings.json"))
        root.update()
        assert root.geometry().startswith(size)
        again.quit()
    finally:
        retire_root(root)


def test_windows_opened_while_the_panel_serves_talk_to_its_server(launcher):
    """Row 5: an echo window opened now defaults to the panel's host and port,
    not to a remembered 9090; the scanner's "Open in echo client" goes where asked."""
    root = launcher.root
    launcher.settings.update("echo", host="127.0.0.9", port=9090)
    launcher.buttons["server"].invoke()
    panel = launcher.panel
    panel.host.set("0.0.0.0")
    panel.echo_port.set("0")
    panel.chat_port.set("0")
    panel.buttons["start"].invoke()
    wait_until(lambda: panel.status_now is not None, 10, root, "the server")
    echo_port = panel.status_now.ports["echo"]
    launcher.buttons["echo"].invoke()
    echo = launcher.windows[-1]
    assert (echo.host.get(), echo.port.get()) == ("127.0.0.1", str(echo_port))
    launcher.buttons["scanner"].invoke()
    scanner = launcher.windows[-1]
    scanner.open_echo("127.0.0.5", 7)
    opened = launcher.windows[-1]
    assert (opened.host.get(), opened.port.get()) == ("127.0.0.5", "7")
