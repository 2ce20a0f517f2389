"""Chat windows under Xvfb, talking through a real server on loopback."""

from __future__ import annotations

import pytest

from gui.chat_window import ChatWindow
from gui.settings import Settings
from net.chat.client import ChatSession
from net.chat.server import ChatServer
from tests.conftest import wait_until


@pytest.fixture
def chat_server(tmp_path):
    server = ChatServer(tmp_path / "server", "127.0.0.1", 0)
    (tmp_path / "server").mkdir()
    server.start()
    yield server
    server.stop()


def quick_session(emit):
    return ChatSession(emit, reconnect_delays=(0.05, 0.1, 0.2, 0.3, 0.5, 0.5, 1, 1, 1))


def open_window(root, server, name, password="pw", settings=None) -> ChatWindow:
    w = ChatWindow(root, settings, session_factory=quick_session, autoconnect=False)
    w.host.set(server.address[0])
    w.port.set(str(server.address[1]))
    w.name.set(name)
    w.password.set(password)
    w.login_button.invoke()
    wait_until(lambda: w.logged_in or w.login_error.get(), 20, root, f"{name} to log in")
    return w


def say(window: ChatWindow, text: str) -> None:
    window.entry.focus_force()
    window.line.set(text)
    window.entry.event_generate("<Return>")  # Enter sends


def lines_with(window: ChatWindow, marker: str) -> list[str]:
    return [line for line in window.transcript_text().splitlines() if marker in line]


def test_three_windows_talk_in_one_order(tk_root, chat_server, settle_threads):
    a = open_window(tk_root, chat_server, "alice")
    b = open_window(tk_root, chat_server, "bob")
    c = open_window(tk_root, chat_server, "carol")
    assert a.logged_in and b.logged_in and c.logged_in
    wait_until(lambda: all(w.users == ["alice", "bob", "carol"] for w in (a, b, c)), 10,
               tk_root, "user lists to follow the joins")
    assert "bob joined" in a.transcript_text()

    for i, w in enumerate((a, b, c, a, c, b)):
        say(w, f"line {i} from {w.me}")
    wait_until(lambda: all(len(lines_with(w, "from ")) == 6 for w in (a, b, c)), 10,
               tk_root, "every line in every window")
    orders = [[line.split(": ", 1)[1] for line in lines_with(w, "from ")] for w in (a, b, c)]
    assert orders[0] == orders[1] == orders[2]
    assert a.line.get() == ""

    c.close()
    wait_until(lambda: a.users == ["alice", "bob"] and b.users == ["alice", "bob"], 10,
               tk_root, "carol to leave the lists")
    assert "carol left" in b.transcript_text()

    late = open_window(tk_root, chat_server, "dave")  # a late joiner sees history
    history = [line.split(": ", 1)[1] for line in lines_with(late, "from ")]
    assert history == orders[0]
    for w in (a, b, late):
        w.close()
    settle_threads()


def test_private_message_from_the_user_list(tk_root, chat_server):
    a = open_window(tk_root, chat_server, "pam")
    b = open_window(tk_root, chat_server, "quinn")
    c = open_window(tk_root, chat_server, "ray")
    wait_until(lambda: len(a.users) == 3, 10, tk_root, "three users")
    a.user_list.selection_set(a.users.index("quinn"))
    a.private_to_selected()
    assert a.recipient.get() == "quinn"
    say(a, "just for you")
    wait_until(lambda: lines_with(b, "just for you") and lines_with(a, "just for you"), 10,
               tk_root, "the private line at both ends")
    assert "→ quinn (private)" in lines_with(a, "just for you")[0]
    say(a, "public again")  # the recipient stays until changed
    a.recipient.set("everyone")
    say(a, "to all")
    wait_until(lambda: lines_with(c, "to all"), 10, tk_root, "the public line")
    assert not lines_with(c, "just for you")
    for w in (a, b, c):
        w.close()


def test_login_errors_are_shown_in_the_panel(tk_root, chat_server, tmp_path):
    first = open_window(tk_root, chat_server, "taken", "right")
    twin = open_window(tk_root, chat_server, "TAKEN", "right")
    assert not twin.logged_in
    assert "already online" in twin.login_error.get()
    first.close()
    wrong = open_window(tk_root, chat_server, "taken", "wrong")
    assert not wrong.logged_in
    assert "Wrong password for taken" in wrong.login_error.get()
    assert wrong.password.get() == ""  # cleared for the next try
    wrong.password.set("right")
    wrong.login_button.invoke()
    wait_until(lambda: wrong.logged_in, 10, tk_root, "the second try")
    bad = ChatWindow(tk_root, None, autoconnect=False)
    bad.name.set("no spaces please")
    bad.password.set("x")
    bad.login_button.invoke()
    assert "1 to 32" in bad.login_error.get()
    bad.login_error.set("")
    bad.name.set("\u0430dmin")  # Cyrillic а among Latin letters: the server's v1.1 rule
    bad.login_button.invoke()
    assert "one alphabet" in bad.login_error.get()
    for w in (twin, wrong, bad):
        w.close()


def test_unreachable_server_is_shown_not_raised(tk_root):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    w = ChatWindow(tk_root, None, autoconnect=False)
    w.port.set(str(port))
    w.name.set("lonely")
    w.password.set("pw")
    w.login_button.invoke()
    wait_until(lambda: w.login_error.get(), 10, tk_root, "the error")
    assert "Cannot reach 127.0.0.1" in w.login_error.get()
    assert "refused" in w.login_error.get()
    w.close()


def test_known_address_prefills_the_name_and_settings_remember(tk_root, chat_server, tmp_path):
    settings = Settings(tmp_path / "settings.json")
    open_window(tk_root, chat_server, "remembered", settings=settings).close()
    fresh = ChatWindow(tk_root, None, autoconnect=True)  # no settings: only the greeting
    fresh.port.set(str(chat_server.address[1]))
    fresh._connect()
    wait_until(lambda: fresh.name.get() == "remembered", 10, tk_root, "the prefill")
    assert "Welcome back, remembered" in fresh.greeting.get()
    fresh.close()
    again = ChatWindow(tk_root, Settings(tmp_path / "settings.json"), autoconnect=False)
    assert again.name.get() == "remembered"
    assert again.port.get() == str(chat_server.address[1])
    assert again.password.get() == ""
    assert "pw" not in (tmp_path / "settings.json").read_text()
    again.close()


def test_reconnects_with_the_token_and_shows_nothing_twice(tk_root, tmp_path):
    data = tmp_path / "srv"
    data.mkdir()
    server = ChatServer(data, "127.0.0.1", 0)
    host, port = server.start()
    a = open_window(tk_root, server, "steady")
    say(a, "before the drop")
    wait_until(lambda: lines_with(a, "before the drop"), 10, tk_root, "the first line")
    server.stop()  # the connection drops: bye(shutdown), then closed
    wait_until(lambda: "Reconnecting" in a.status.get(), 10, tk_root, "reconnect attempts")
    server = ChatServer(data, "127.0.0.1", port)
    server.start()
    try:
        wait_until(lambda: "reconnected" in a.transcript_text() and a.logged_in, 20, tk_root,
                   "the reconnect")
        assert len(lines_with(a, "before the drop")) == 1  # history again, but shown once
        say(a, "after the drop")
        wait_until(lambda: lines_with(a, "after the drop"), 10, tk_root, "a new line")
        a.close()
    finally:
        server.stop()


def test_load_older_messages(tk_root, chat_server):
    from net.chat.client import ChatConnection
    c = ChatConnection()
    c.connect(*chat_server.address)
    c.login("writer", "pw")
    for i in range(130):
        c.send({"type": "say", "text": f"old {i:03d}"})
    for _ in range(130):
        c.recv_until("message")
    c.close()
    w = open_window(tk_root, chat_server, "reader")
    assert len(lines_with(w, "old ")) == 100  # the welcome's last 100
    w.older_button.invoke()
    wait_until(lambda: len(lines_with(w, "old ")) == 130, 10, tk_root, "older page")
    texts = [line.split(": ", 1)[1] for line in lines_with(w, "old ")]
    assert texts == [f"old {i:03d}" for i in range(130)]
    w.older_button.invoke()
    wait_until(lambda: "no older messages" in w.transcript_text(), 10, tk_root, "the end")
    w.close()
