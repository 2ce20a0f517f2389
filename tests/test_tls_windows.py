"""TLS in the windows (issue 13), under Xvfb with real servers on loopback and
real settings files: the chat window's padlock and fingerprint, the pin kept
in the settings, the changed-certificate dialog (Cancel, Escape, Accept, and
while resuming a session), the plain option and its "not encrypted", the
tls_required refusal; the control panel's fingerprint, TLS share, TLS column
and "Require TLS" switch.
"""

from __future__ import annotations

import json

import pytest

from gui.chat import window as chat_window
from gui.chat.pins import SECTION, SettingsPins
from gui.chat.window import ChatWindow
from gui.kit import style
from gui.kit.settings import Settings
from gui.panel import window as control_panel
from gui.panel.window import ControlPanel
from gui.widgets.security import short_fingerprint
from net import datadir, i18n
from net.chat.client import ChatConnection, ChatSession
from net.chat.server import ChatOptions, ChatServer
from net.chat.trust import pin_key
from tests.conftest import panel_at_minimum, start, wait_until


@pytest.fixture(autouse=True)
def no_modal_questions(monkeypatch):
    monkeypatch.setattr(chat_window, "confirm_destructive",
                        lambda *args: pytest.fail(f"unexpected question: {args[1:]}"))
    monkeypatch.setattr(control_panel, "confirm_destructive", lambda *args: True)


def quick_session(emit):
    return ChatSession(emit, reconnect_delays=(0.05, 0.1, 0.2, 0.3, 0.5, 0.5, 1, 1, 1))


class Servers:
    """Chat servers on one data directory and, once chosen, one port: a
    restart with ``new_certificate`` is the same server with a new certificate."""

    def __init__(self, tmp_path):
        self.data = tmp_path / "srv"
        self.data.mkdir()
        self.port = 0
        self.running: ChatServer | None = None

    def start(self, **options) -> ChatServer:
        self.stop()
        server = ChatServer(self.data, "127.0.0.1", self.port, ChatOptions(**options))
        self.port = server.start()[1]
        self.running = server
        return server

    def stop(self) -> None:
        if self.running is not None:
            self.running.stop()
            self.running = None


@pytest.fixture
def servers(tmp_path):
    s = Servers(tmp_path)
    yield s
    s.stop()


def log_in(root, server, name, settings, plain=False, wait=True) -> ChatWindow:
    w = ChatWindow(root, settings, session_factory=quick_session, autoconnect=False)
    w.host.set("127.0.0.1")
    w.port.set(str(server.address[1]))
    w.name.set(name)
    w.password.set("pw")
    w.plain.set(plain)
    w.login_button.invoke()
    if wait:
        wait_until(lambda: w.logged_in or w.login_error.get() or w.cert_dialog, 20, root,
                   f"{name} to log in or be asked")
    return w


def pins_on_disk(path) -> dict:
    return json.loads(path.read_text()).get(SECTION, {})


def test_a_tls_login_shows_the_padlock_and_pins_the_fingerprint(tk_root, servers, tmp_path):
    server = servers.start()
    fingerprint = server.certificate.fingerprint
    settings = Settings(tmp_path / "settings.json")
    w = log_in(tk_root, server, "alice", settings)
    assert w.logged_in
    assert w.badge.info.fingerprint == fingerprint and w.badge.info.first_use
    assert w.badge.padlock.kind == "closed"
    assert w.badge.label.cget("text") == \
        f"{short_fingerprint(fingerprint)} (pinned now, first use)"
    assert fingerprint in w.badge.details().replace("\n", "")  # whole, on two lines
    assert pins_on_disk(tmp_path / "settings.json") == {
        pin_key("127.0.0.1", server.address[1]): fingerprint}
    assert server.clients()[0]["tls"] is True
    # Right-click: the whole fingerprint to the clipboard.
    menu = w.badge._menu_for(None)
    assert menu.entrycget(0, "label") == "Copy fingerprint"
    menu.invoke(0)
    assert w.clipboard_get() == fingerprint
    w.close()

    # The next window (a restart: a fresh Settings read from the file) finds the pin.
    again = log_in(tk_root, server, "alice", Settings(tmp_path / "settings.json"))
    assert again.logged_in and not again.badge.info.first_use
    assert again.badge.label.cget("text").endswith("(pinned)")
    again.close()


def test_a_changed_certificate_asks_and_cancel_does_not_connect(tk_root, servers, tmp_path):
    old = servers.start().certificate.fingerprint
    settings = Settings(tmp_path / "settings.json")
    log_in(tk_root, servers.running, "alice", settings).close()
    server = servers.start(new_certificate=True)  # the same port, a new certificate
    new = server.certificate.fingerprint
    assert new != old

    w = log_in(tk_root, server, "alice", settings)
    dialog = w.cert_dialog
    assert dialog is not None and not w.logged_in
    assert dialog.title() == "Server certificate changed"
    assert dialog.fingerprint_text("pinned") == old
    assert dialog.fingerprint_text("offered") == new
    assert dialog.focus_get() == dialog.cancel_button  # the safe answer is the default
    dialog.cancel_button.invoke()
    tk_root.update()
    assert w.cert_dialog is None and not w.logged_in
    assert w.login_frame.winfo_manager() and "certificate has changed" in w.login_error.get()
    assert not w.login_button.instate(["disabled"])
    assert server.clients() == []
    assert SettingsPins(Settings(tmp_path / "settings.json")).get(
        pin_key("127.0.0.1", server.address[1])) == old  # nothing re-pinned

    # Escape is Cancel too.
    w.password.set("pw")
    w.login_button.invoke()
    wait_until(lambda: w.cert_dialog, 20, tk_root, "the question again")
    w.cert_dialog.focus_force()
    w.cert_dialog.event_generate("<Escape>")
    tk_root.update()
    assert w.cert_dialog is None and not w.logged_in

    # Accepted on purpose: connected, and the new fingerprint is the pin.
    w.password.set("pw")
    w.login_button.invoke()
    wait_until(lambda: w.cert_dialog, 20, tk_root, "the question again")
    w.cert_dialog.accept_button.invoke()
    wait_until(lambda: w.logged_in, 20, tk_root, "the login after accepting")
    assert w.badge.info.fingerprint == new and not w.badge.info.first_use
    assert pins_on_disk(tmp_path / "settings.json")[
        pin_key("127.0.0.1", server.address[1])] == new
    w.close()


def test_a_certificate_changed_while_reconnecting_resumes_once_accepted(tk_root, servers,
                                                                         tmp_path):
    servers.start()
    settings = Settings(tmp_path / "settings.json")
    w = log_in(tk_root, servers.running, "alice", settings)
    assert w.logged_in
    server = servers.start(new_certificate=True)
    wait_until(lambda: w.cert_dialog, 20, tk_root, "the question while resuming")
    assert w.state == "reconnecting" and not w.logged_in
    w.cert_dialog.cancel_button.invoke()
    tk_root.update()
    assert w.state == "gave_up" and "certificate has changed" in w.strip_text.get()
    w.strip_button.invoke()  # "Reconnect": asked again
    wait_until(lambda: w.cert_dialog, 20, tk_root, "the question again")
    w.cert_dialog.accept_button.invoke()
    wait_until(lambda: w.logged_in, 20, tk_root, "the session to resume")
    assert "reconnected to" in w.transcript_text()
    assert w.badge.info.fingerprint == server.certificate.fingerprint
    w.close()


def test_plain_logs_in_without_tls_and_says_not_encrypted(tk_root, servers, tmp_path):
    server = servers.start()
    settings = Settings(tmp_path / "settings.json")
    w = log_in(tk_root, server, "bob", settings, plain=True)
    assert w.logged_in
    assert server.clients()[0]["tls"] is False
    assert w.badge.plain and w.badge.padlock.kind == "open"
    assert w.badge.label.cget("text") == "Not encrypted"
    assert "Not encrypted" in w.badge.details()
    assert w.badge._menu_for(None) is None  # no fingerprint to copy
    assert pins_on_disk(tmp_path / "settings.json") == {}
    w.close()
    # Remembered: the next window starts plain as well.
    assert ChatWindow(tk_root, Settings(tmp_path / "settings.json"),
                      autoconnect=False).plain.get() is True


def test_a_plain_login_to_a_server_that_requires_tls_says_what_to_do(tk_root, servers):
    server = servers.start(require_tls=True)
    w = log_in(tk_root, server, "carol", None, plain=True)
    assert not w.logged_in
    assert "only over an encrypted (TLS) connection" in w.login_error.get()
    assert "Untick “Plain connection (no TLS)”" in w.login_error.get()
    w.plain.set(False)  # as told
    w.password.set("pw")
    w.login_button.invoke()
    wait_until(lambda: w.logged_in, 20, tk_root, "the TLS login")
    w.close()


@pytest.fixture
def panel(tk_root, tmp_path):
    handler = datadir.setup_logging(tmp_path)
    p = ControlPanel(tk_root, tmp_path, Settings(tmp_path / "settings.json"), handler)
    yield p
    if not p.closed:
        p.close_now()
    datadir.remove_logging(handler)


def test_the_panel_shows_the_fingerprint_the_share_and_requires_tls(panel, tk_root,
                                                                    tmp_path):
    assert panel.fingerprint.get() == "" and panel.fingerprint_entry.instate(["disabled"])
    chat, _echo = start(panel, tk_root)
    fingerprint = panel.controller.chat.certificate.fingerprint
    wait_until(lambda: panel.fingerprint.get() == fingerprint, 10, tk_root, "the fingerprint")
    panel.copy_fingerprint_button.invoke()
    assert panel.clipboard_get() == fingerprint

    secure, plain = ChatConnection(), ChatConnection(tls=False)
    for conn, name in ((secure, "tina"), (plain, "pete")):
        conn.connect(*chat)
        conn.login(name, "pw")
    wait_until(lambda: "TLS: 1 of 2 chat connections" in panel.tls_share.cget("text"), 10,
               tk_root, "the share")
    rows = {panel.clients.set(i, "name"): panel.clients.set(i, "tls")
            for i in panel.clients.get_children()}
    assert rows == {"tina": "yes", "pete": "no"}

    panel.require_box.invoke()  # on: plain logins refused from now on
    wait_until(lambda: panel.status_now.require_tls, 10, tk_root, "require TLS")
    assert "plain logins refused" in panel.tls_share.cget("text")
    assert Settings(tmp_path / "settings.json").get("control", "require_tls") is True
    w = log_in(tk_root, panel.controller.chat, "paula", None, plain=True)
    assert "only over an encrypted (TLS) connection" in w.login_error.get()
    w.close()
    for conn in (secure, plain):  # already logged in: they go on
        conn.close()

    # The next start requires it too: the switch is part of the configuration.
    panel.buttons["stop"].invoke()
    wait_until(lambda: not panel.running, 10, tk_root, "the stop")
    start(panel, tk_root)
    assert panel.controller.chat.require_tls is True
    panel.require_box.invoke()  # off again
    wait_until(lambda: not panel.status_now.require_tls, 10, tk_root, "plain accepted")
    assert panel.status.get() == "Plain chat logins are accepted again"


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_tls_column_leaves_every_column_whole_at_the_minimum_size(tk_root, tmp_path,
                                                                       lang):
    """Russian headings are wider: with the TLS column, the name and address
    columns give way so that the last column still ends inside the table."""
    p = panel_at_minimum(tk_root, tmp_path, lang)
    try:
        p._show_clients([{"name": "someone", "address": "127.0.0.1:50000", "since": 0,
                          "messages": 12, "tls": True}])
        tk_root.update()
        row = p.clients.get_children()[0]
        assert p.clients.set(row, "tls") == ("да" if lang == "ru" else "yes")
        x, _, w, _ = p.clients.bbox(row, "messages")
        assert x + w <= p.clients.winfo_width()
    finally:
        p.close_now()


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_status_text_stays_whole_beside_the_padlock(tk_root, servers, tmp_path, lang):
    """At the minimum width the security cell gives up its trust words, then
    its fingerprint (the tooltip keeps them), before the status text is cut;
    at the default width the fingerprint shows."""
    i18n.setup(lang)
    style.apply(tk_root, "light")
    server = servers.start()
    settings = Settings(tmp_path / "settings.json")
    settings.update("chat", host="127.0.0.1", port=server.address[1])
    w = ChatWindow(tk_root, settings, session_factory=quick_session, autoconnect=True)
    wait_until(lambda: w._hello_seen, 20, tk_root, "the hello")
    tk_root.update()
    assert short_fingerprint(w.badge.info.fingerprint) in w.badge.label.cget("text")
    width, height = w.minsize()
    w.geometry(f"{width}x{height}")
    wait_until(lambda: w.winfo_width() == width, 5, tk_root, "the minimum size")
    tk_root.update()
    assert w.statusbar.winfo_width() >= w.statusbar.winfo_reqwidth(), w.status.get()
    assert w.badge.padlock.winfo_ismapped() and w.badge.padlock.kind == "closed"
    w.close()
