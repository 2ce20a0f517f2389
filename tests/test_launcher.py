"""The launcher under Xvfb: every button, two chats through a panel-started
server, and Quit leaving nothing behind."""

from __future__ import annotations

import json
import subprocess
import threading
import tkinter as tk
from pathlib import Path

import pytest

from gui.chat.window import ChatWindow
from gui.echo.window import EchoWindow
from gui.kit.settings import Settings
from gui.launcher import Launcher, choose_language
from gui.panel.window import ControlPanel
from gui.scanner.window import ScannerWindow
from net import datadir, i18n
from tests.conftest import netdesk_cmd, retire_root, run_env, wait_until

ROOT = Path(__file__).resolve().parent.parent


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
    app.finish(10)
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
    panel.irc_port.set("0")
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

    # The control thread's shutdown waits at a gate the test opens only
    # after Quit returned: Quit must not wait for it (it used to join the
    # control thread on the Tk thread for up to 10 s).
    gate, opened = threading.Event(), []
    shutdown = panel.controller.shutdown

    def gated_shutdown():
        opened.append(gate.wait(8))  # shorter than the old join: it times out there
        shutdown()

    panel.controller.shutdown = gated_shutdown
    control = panel.control
    launcher.quit()  # every window, every worker, every service
    # Back in the event loop's hands at once: the windows are gone while the
    # control thread still stops the services.
    assert control.alive
    assert all(w.closed for w in chats) and panel.closed
    with pytest.raises(tk.TclError):
        root.winfo_exists()  # the root is destroyed too
    gate.set()
    assert launcher.finish(10)  # the owner joins it, off the event loop
    assert opened == [True]
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
    panel.irc_port.set("0")
    panel.buttons["start"].invoke()
    wait_until(lambda: panel.status_now is not None, 10, root, "the server")
    echo_port = panel.status_now.ports["echo"]
    launcher.buttons["echo"].invoke()
    echo = launcher.windows[-1]
    assert (echo.host.get(), echo.port.get()) == ("127.0.0.1", str(echo_port))
    launcher.settings.update("chat", host="127.0.0.9", port=9091)
    launcher.buttons["chat"].invoke()
    chat = launcher.windows[-1]
    assert (chat.host.get(), chat.port.get()) == ("127.0.0.1", str(panel.status_now.ports["chat"]))
    wait_until(lambda: chat.connected_to == ("127.0.0.1", panel.status_now.ports["chat"]), 10,
               root, "the chat window to reach the panel's server")
    launcher.buttons["scanner"].invoke()
    scanner = launcher.windows[-1]
    scanner.open_echo("127.0.0.5", 7)
    opened = launcher.windows[-1]
    assert (opened.host.get(), opened.port.get()) == ("127.0.0.5", "7")


# -- the language (issue 11) ---------------------------------------------------------------
def test_the_language_menu_is_remembered_and_speaks_in_windows_opened_next(launcher, tmp_path):
    root = launcher.root
    menu = launcher.menus["language"]
    labels = [menu.entrycget(i, "label") for i in range(menu.index("end") + 1)]
    assert labels == ["English", "Русский", "As the system (English)"]
    launcher.buttons["echo"].invoke()
    before = launcher.windows[-1]

    menu.invoke(1)  # Русский
    root.update()
    assert i18n.current() == "ru"
    assert Settings(tmp_path / "settings.json").get("view", "language") == "ru"
    # The launcher speaks it at once and says what the choice does.
    assert launcher.buttons["scanner"].cget("text") == "Сканер портов"
    assert launcher.menubar.entrycget(launcher.menubar.index("end"), "label") == "Справка"
    note = launcher.note.cget("text")
    assert note.startswith("Окна, открытые с этого момента, будут на языке: Русский."), note
    assert launcher.note.winfo_ismapped()
    # Windows open already keep their words; the next one is Russian.
    assert before.connect_button.cget("text") == "Connect"
    launcher.buttons["scanner"].invoke()
    scanner = launcher.windows[-1]
    assert scanner.title() == "netdesk — Сканер портов"
    assert scanner.tree.heading("state", "text") == "Состояние"
    launcher.buttons["server"].invoke()
    assert launcher.panel.buttons["start"].cget("text") == "Запустить"
    # Tk's own dialogs (Yes/No, file dialogs) follow.
    assert root.tk.eval("namespace eval ::tk {::msgcat::mc &Yes}") == "&Да"

    # Remembered for the next start, where --lang still wins.
    i18n.setup("en")
    settings = Settings(tmp_path / "settings.json")
    assert choose_language(settings) == "ru" == i18n.current()
    assert choose_language(settings, "en") == "en"

    launcher.menus["language"].invoke(2)  # As the system: English in the tests' C locale
    assert i18n.current() == "en"
    assert Settings(tmp_path / "settings.json").get("view", "language") == "system"
    assert launcher.buttons["scanner"].cget("text") == "Port scanner"
    assert launcher.note.cget("text").startswith("Windows opened from now on use English.")


def run_smoke(data_dir, *args: str) -> str:
    done = subprocess.run(netdesk_cmd("--data-dir", str(data_dir), "--smoke-test", *args),
                          capture_output=True, text=True, timeout=60, env=run_env(),
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_smoke_test_in_russian_opens_every_window_in_russian(tmp_path):
    out = run_smoke(tmp_path, "--lang", "ru")
    assert out.startswith("проверка запуска пройдена: 5 окон открыто и закрыто за "), out
    for title in ("netdesk — Управление сервером", "netdesk — Чат", "netdesk — Сканер портов",
                  "netdesk — Эхо-клиент"):
        assert title in out


def test_lang_wins_over_the_menu_which_wins_over_the_system(tmp_path):
    (tmp_path / "settings.json").write_text(json.dumps({"view": {"language": "ru"}}))
    assert "netdesk — Сканер портов" in run_smoke(tmp_path)  # the menu's choice
    assert "netdesk — Port scanner" in run_smoke(tmp_path, "--lang", "en")  # --lang
    (tmp_path / "settings.json").write_text(json.dumps({"view": {"language": "system"}}))
    done = subprocess.run(netdesk_cmd("--data-dir", str(tmp_path), "--smoke-test"),
                          capture_output=True, text=True, timeout=60,
                          env=run_env(LANG="ru_RU.UTF-8"), cwd=ROOT)
    assert "netdesk — Сканер портов" in done.stdout, done.stderr  # the system's


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_smallest_launcher_shows_every_button_and_hint_whole(launcher, lang):
    """Issue 11: at its minimum size, in either language, with the note of a
    change of language shown, nothing is cut at the bottom or the side."""
    root = launcher.root
    launcher.set_language(lang)
    width, height = root.minsize()
    root.geometry(f"{width}x{height}")
    wait_until(lambda: (root.winfo_width(), root.winfo_height()) == (width, height), 5, root,
               "the size")
    root.update()
    bottom = root.winfo_rooty() + root.winfo_height()
    right = root.winfo_rootx() + root.winfo_width()
    for widget in (*launcher.buttons.values(), launcher.subtitle, launcher.note):
        assert widget.winfo_ismapped()
        assert widget.winfo_rooty() + widget.winfo_height() <= bottom, f"{widget} cut"
        assert widget.winfo_rootx() + widget.winfo_width() <= right, f"{widget} cut"
        assert widget.winfo_height() >= widget.winfo_reqheight(), f"{widget} squeezed"
