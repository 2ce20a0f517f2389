"""Chat windows under Xvfb, talking through a real server on loopback.

Covers issue 10's chat rows (3, 6, 8, 9, 10, 19, 21), the attention cues
(unread count, bell, "new messages below"), Ctrl+F, context menus, Tab
order, a close that never blocks the Tk thread, and the window in Russian
(issue 11). Everything is driven
through the widgets: keys, clicks, pastes, menu items.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gui.chat import roster, wording
from gui.chat import window as chat_window
from gui.chat.login_request import LoginProblem, LoginRequest, login_request
from gui.chat.pending import PendingBook
from gui.chat.window import ChatWindow
from gui.kit.settings import Settings
from gui.widgets.findbar import MATCH_TAG
from net import i18n
from net.chat import client_events as ev
from net.chat.client import ChatConnection, ChatSession, code_text
from net.chat.protocol import DEFAULT_PORT, TEXT_MAX
from net.chat.server import ChatServer
from tests.conftest import focus, open_window, press, quick_session, say, wait_until


@pytest.fixture(autouse=True)
def no_modal_questions(monkeypatch):
    """A question box would wait for a click forever: fail instead."""
    monkeypatch.setattr(chat_window, "confirm_destructive",
                        lambda *args: pytest.fail(f"unexpected question: {args[1:]}"))


@pytest.fixture
def chat_server(tmp_path):
    server = ChatServer(tmp_path / "server", "127.0.0.1", 0)
    (tmp_path / "server").mkdir()
    server.start()
    yield server
    server.stop()


def paste(widget, text: str) -> None:
    widget.clipboard_clear()
    widget.clipboard_append(text)
    press(widget, "<<Paste>>")


def lines_with(window: ChatWindow, marker: str) -> list[str]:
    return [line for line in window.transcript_text().splitlines() if marker in line]


def texts(window: ChatWindow, marker: str) -> list[str]:
    return [line.split(": ", 1)[1] for line in lines_with(window, marker)]


def line_tags(window: ChatWindow, marker: str) -> set[str]:
    """The tags on the characters of the (first) transcript line holding ``marker``."""
    t = window.transcript
    start = t.search(marker, "1.0", "end")
    assert start, f"{marker!r} is not in the transcript"
    index = t.index(f"{start} linestart")
    tags: set[str] = set()
    while t.compare(index, "<", f"{start} lineend"):
        tags.update(t.tag_names(index))
        index = t.index(f"{index}+1c")
    return tags


def shown(widget) -> bool:
    widget.update()
    return bool(widget.winfo_ismapped())


def pump(root, seconds: float) -> None:
    """Let the Tk loop (and the worker threads) run for a while."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        root.update()
        time.sleep(0.01)


def restartable_server(tmp_path) -> tuple[ChatServer, int]:
    data = tmp_path / "srv"
    data.mkdir(exist_ok=True)
    server = ChatServer(data, "127.0.0.1", 0)
    return server, server.start()[1]


def write_history(server: ChatServer, count: int, prefix: str = "old") -> None:
    c = ChatConnection()
    c.connect(*server.address)
    c.login("writer", "pw")
    for i in range(count):
        c.send({"type": "say", "text": f"{prefix} {i:03d}"})
    for _ in range(count):
        c.recv_until("message")
    c.close()


# -- talking ------------------------------------------------------------------------------
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
    wait_until(lambda: all(len(lines_with(w, "from ")) == 6 for w in (a, b, c))
               and not a.pending and not b.pending and not c.pending, 10,
               tk_root, "every line in every window")
    orders = [texts(w, "from ") for w in (a, b, c)]
    assert orders[0] == orders[1] == orders[2]
    assert a.message_text() == ""

    c.close()
    wait_until(lambda: a.users == ["alice", "bob"] and b.users == ["alice", "bob"], 10,
               tk_root, "carol to leave the lists")
    assert "carol left" in b.transcript_text()

    late = open_window(tk_root, chat_server, "dave")  # a late joiner sees history
    assert texts(late, "from ") == orders[0]
    for w in (a, b, late):
        w.close()
    settle_threads()


def test_private_message_from_the_user_list_menu(tk_root, chat_server):
    a = open_window(tk_root, chat_server, "pam")
    b = open_window(tk_root, chat_server, "quinn")
    c = open_window(tk_root, chat_server, "ray")
    wait_until(lambda: len(a.users) == 3, 10, tk_root, "three users")
    # Right-click quinn in the list: the menu offers a private message.
    row = a.users.index("quinn")
    x, y, _, height = a.user_list.bbox(row)
    focus(a.user_list)
    a.user_list.event_generate("<Button-3>", x=x + 5, y=y + height // 2,
                               rootx=a.user_list.winfo_rootx() + x + 5,
                               rooty=a.user_list.winfo_rooty() + y + height // 2)
    menu = a._user_menu
    labels = [menu.entrycget(i, "label") for i in range(menu.index("end") + 1)]
    assert labels == ["Private message to quinn", "Copy name"]
    menu.invoke(0)
    menu.unpost()
    assert a.recipient.get() == "quinn"

    say(a, "just for you")
    say(a, "still just for you")  # the recipient stays until changed
    wait_until(lambda: lines_with(b, "still just for you") and not a.pending, 10,
               tk_root, "the private lines at both ends")
    assert all("pam → quinn (private)" in line for line in lines_with(b, "just for you"))
    assert "private" in line_tags(b, "still just for you")
    press(a.entry, "<Escape>")  # back to everyone
    assert a.recipient.get() == "everyone"
    say(a, "to all")
    wait_until(lambda: lines_with(c, "to all") and lines_with(b, "to all"), 10, tk_root,
               "the public line")
    assert not lines_with(c, "just for you")
    assert "(private)" not in lines_with(b, "to all")[0]

    # "Copy name" puts the name on the clipboard.
    a.user_list.selection_clear(0, "end")
    a.user_list.selection_set(a.users.index("ray"))
    focus(a.user_list)
    a.user_list.event_generate("<Shift-F10>")
    a._user_menu.invoke(1)
    a._user_menu.unpost()
    assert a.clipboard_get() == "ray"
    for w in (a, b, c):
        w.close()


# -- row 6: logging in ------------------------------------------------------------------
def test_login_errors_are_shown_in_the_panel(tk_root, chat_server, tmp_path):
    first = open_window(tk_root, chat_server, "taken", "right")
    twin = open_window(tk_root, chat_server, "TAKEN", "wrong")
    assert not twin.logged_in
    # The server refuses a name online elsewhere before it checks the password:
    # the message must not read as a verdict on the password.
    message = twin.login_error.get()
    assert "logged in on another connection" in message
    assert "before the password was checked" in message
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


def test_the_known_name_is_a_hint_not_a_greeting_for_another_name(tk_root, chat_server,
                                                                   tmp_path):
    open_window(tk_root, chat_server, "bob").close()  # this address last logged in as bob
    settings = Settings(tmp_path / "settings.json")
    settings.update("chat", host="127.0.0.1", port=chat_server.address[1], name="carol")
    w = ChatWindow(tk_root, settings, autoconnect=True)
    wait_until(lambda: w.greeting.get(), 10, tk_root, "the hint from hello")
    assert w.name.get() == "carol"  # what the user chose stays
    assert "Welcome back" not in w.greeting.get()
    assert w.greeting.get() == "This computer was last used by bob."
    focus(w.login_entries["name"])
    w.name.set("Bob")  # as typed; names differ only in case
    assert w.greeting.get() == "Welcome back, bob."
    w.close()


def test_unreachable_server_is_shown_not_raised(tk_root):
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
    empty = Settings(tmp_path / "other.json")  # knows the server, not the name
    empty.update("chat", host="127.0.0.1", port=chat_server.address[1])
    fresh = ChatWindow(tk_root, empty, autoconnect=True)
    wait_until(lambda: fresh.name.get() == "remembered", 10, tk_root, "the prefill")
    assert fresh.greeting.get() == "Welcome back, remembered."
    fresh.close()
    again = ChatWindow(tk_root, Settings(tmp_path / "settings.json"), autoconnect=False)
    assert again.name.get() == "remembered"
    assert again.port.get() == str(chat_server.address[1])
    assert again.password.get() == ""
    assert "pw" not in (tmp_path / "settings.json").read_text()
    again.close()


# -- row 3: history ------------------------------------------------------------------------
def test_login_shows_the_newest_history_and_older_pages_load_above(tk_root, chat_server):
    write_history(chat_server, 130)
    w = open_window(tk_root, chat_server, "reader")
    assert len(lines_with(w, "old ")) == 100  # the welcome's last 100
    w.update()
    first, last = w.transcript.yview()
    assert last >= 0.999 and first > 0.5, "the view must sit at the newest line"
    w.older_button.invoke()
    wait_until(lambda: len(lines_with(w, "old ")) == 130, 10, tk_root, "older page")
    assert texts(w, "old ") == [f"old {i:03d}" for i in range(130)]
    w.older_button.invoke()
    wait_until(lambda: "no older messages" in w.transcript_text(), 10, tk_root, "the end")
    w.close()


# -- rows 8 and 9: the connection comes and goes ------------------------------------------
def test_reconnects_with_the_token_and_shows_nothing_twice(tk_root, tmp_path):
    server, port = restartable_server(tmp_path)
    a = open_window(tk_root, server, "steady")
    say(a, "before the drop")
    wait_until(lambda: lines_with(a, "before the drop") and not a.pending, 10, tk_root,
               "the first line")
    server.stop()  # the connection drops: bye(shutdown), then reconnect attempts
    wait_until(lambda: "Reconnecting" in a.strip_text.get(), 10, tk_root, "reconnect attempts")
    assert shown(a.strip) and shown(a.transcript)  # the conversation stays in view
    assert a.strip_button.cget("text") == "Reconnect now"
    server = ChatServer(tmp_path / "srv", "127.0.0.1", port)
    server.start()
    try:
        wait_until(lambda: "reconnected" in a.transcript_text() and a.logged_in, 20, tk_root,
                   "the reconnect")
        assert not shown(a.strip)
        assert len(lines_with(a, "before the drop")) == 1  # history again, but shown once
        say(a, "after the drop")
        wait_until(lambda: lines_with(a, "after the drop") and not a.pending, 10, tk_root,
                   "a new line")
        a.close()
    finally:
        server.stop()


def test_lines_sent_while_reconnecting_wait_in_view_and_go_out_once(tk_root, tmp_path):
    server, port = restartable_server(tmp_path)
    a = open_window(tk_root, server, "traveller")
    server.stop()
    wait_until(lambda: a.state == "reconnecting", 10, tk_root, "the reconnect attempts")
    say(a, "typed while away")
    assert a.message_text() == ""
    waiting = lines_with(a, "typed while away")
    assert len(waiting) == 1 and "not sent yet" in waiting[0]
    assert "pending" in line_tags(a, "typed while away")
    server = ChatServer(tmp_path / "srv", "127.0.0.1", port)
    server.start()
    try:
        wait_until(lambda: a.logged_in and not a.pending, 20, tk_root, "the line to go out")
        assert texts(a, "typed while away") == ["typed while away"]
        assert "pending" not in line_tags(a, "typed while away")
        other = open_window(tk_root, server, "witness")
        assert texts(other, "typed while away") == ["typed while away"]  # sent once
        for w in (a, other):
            w.close()
    finally:
        server.stop()


def test_lines_kept_when_the_reconnect_fails_go_out_after_reconnect(tk_root, tmp_path):
    server, port = restartable_server(tmp_path)
    a = open_window(tk_root, server, "patient",
                    session_factory=lambda emit: ChatSession(emit, reconnect_delays=(0.05,)))
    server.stop()
    wait_until(lambda: a.state == "gave_up", 10, tk_root, "the attempts to fail")
    assert "Could not reconnect" in a.strip_text.get()
    assert a.strip_button.cget("text") == "Reconnect"
    say(a, "kept for later")
    assert "not sent yet" in lines_with(a, "kept for later")[0]
    server = ChatServer(tmp_path / "srv", "127.0.0.1", port)
    server.start()
    try:
        a.strip_button.invoke()
        wait_until(lambda: a.logged_in and not a.pending, 20, tk_root, "the reconnect")
        assert texts(a, "kept for later") == ["kept for later"]
        a.close()
    finally:
        server.stop()


def test_kicked_keeps_the_conversation_and_offers_to_reconnect(tk_root, chat_server):
    a = open_window(tk_root, chat_server, "kickme")
    say(a, "before the kick")
    wait_until(lambda: lines_with(a, "before the kick") and not a.pending, 10, tk_root,
               "the line")
    chat_server.kick("kickme")
    wait_until(lambda: a.state == "kicked", 10, tk_root, "the kick")
    assert shown(a.chat_frame) and not shown(a.login_frame)
    assert shown(a.strip) and "operator disconnected you" in a.strip_text.get()
    assert lines_with(a, "before the kick")
    # The user list is what was true at the kick: greyed, and it says so.
    assert a.online_label.cget("text") == "Online (not connected)"
    assert a.user_list.cget("state") == "disabled"
    a.strip_button.invoke()  # "Reconnect": the token still resumes
    wait_until(lambda: a.logged_in, 10, tk_root, "the reconnect")
    assert not shown(a.strip)
    assert a.online_label.cget("text") == "Online (1)" and a.user_list.get(0) == "kickme  (you)"

    # The identification file is cleared, then the connection ends: the
    # token is gone, so the strip asks for the password, in place.
    chat_server.clear_users()
    chat_server.kick("kickme")
    wait_until(lambda: a.state == "kicked", 10, tk_root, "the second kick")
    a.strip_button.invoke()
    wait_until(lambda: a.state == "expired", 10, tk_root, "the refused token")
    assert shown(a.chat_frame) and shown(a.strip_password)
    assert a.strip_button.cget("text") == "Log in again"
    assert "password for kickme" in a.strip_text.get()
    focus(a.strip_password)
    a.strip_password.insert(0, "new password")
    press(a.strip_password, "<Return>")
    wait_until(lambda: a.logged_in, 10, tk_root, "the new login")
    assert not shown(a.strip)
    assert len(lines_with(a, "before the kick")) == 1
    assert a.password.get() == ""
    a.close()


# -- rows 10 and 19: the message box ------------------------------------------------------
def test_a_paste_over_the_limit_is_counted_and_not_sent(tk_root, chat_server):
    a = open_window(tk_root, chat_server, "paster")
    paste(a.entry, "x" * 10_000)
    assert a.counter.get().startswith(f"10000/{TEXT_MAX}: 6000 characters too many")
    assert shown(a.counter_label) and str(a.counter_label.cget("style")) == "Error.TLabel"
    assert a.send_button.instate(["disabled"])
    press(a.entry, "<Return>")
    assert len(a.message_text()) == 10_000  # kept, not sent
    assert not a.pending and "xxxx" not in a.transcript_text()

    a.entry.delete("1.0", f"1.0+{10_000 - 3950}c")  # shortened, within 10% of the limit
    a.update()
    assert a.counter.get() == f"3950/{TEXT_MAX}"
    assert str(a.counter_label.cget("style")) == "Hint.TLabel"
    assert a.send_button.instate(["!disabled"])
    a.entry.delete("1.0", "1.0+3850c")
    a.update()
    assert a.counter.get() == "" and not shown(a.counter_label)
    press(a.entry, "<Return>")
    wait_until(lambda: "x" * 100 in a.transcript_text() and not a.pending, 10, tk_root,
               "the shortened line")
    assert "Too long" not in a.status.get()
    a.close()


def test_newlines_shift_enter_and_a_pasted_block(tk_root, chat_server):
    a = open_window(tk_root, chat_server, "poet")
    b = open_window(tk_root, chat_server, "reader")
    paste(a.entry, "first line\nsecond line")
    assert a.message_text() == "first line\nsecond line"
    assert int(a.entry.cget("height")) == 2  # the box grows with the message
    press(a.entry, "<Return>")
    wait_until(lambda: lines_with(b, "second line"), 10, tk_root, "the two-line message")
    transcript = b.transcript_text().splitlines()
    at = transcript.index(next(line for line in transcript if "first line" in line))
    assert transcript[at].endswith("poet: first line")
    assert transcript[at + 1] == "second line"  # its own line, no box glyph
    assert "cont" in line_tags(b, "second line")  # indented under the first
    assert int(a.entry.cget("height")) == 1

    focus(a.entry)
    a.entry.insert("insert", "one")
    press(a.entry, "<Shift-Return>")  # a new line, not a send
    a.entry.insert("insert", "two")
    a.update()
    assert a.message_text() == "one\ntwo" and not a.pending
    for more in ("three", "four", "five", "six"):
        press(a.entry, "<Shift-Return>")
        a.entry.insert("insert", more)
    a.update()
    assert int(a.entry.cget("height")) == 4  # and stops growing there
    for w in (a, b):
        w.close()


def test_context_menus_on_the_message_box_and_the_transcript(tk_root, chat_server):
    a = open_window(tk_root, chat_server, "menus")
    say(a, "copy me")
    wait_until(lambda: lines_with(a, "copy me") and not a.pending, 10, tk_root, "the line")

    def right_click(widget):
        before = set(widget.winfo_children())
        focus(widget)
        widget.event_generate("<Button-3>", x=10, y=10, rootx=widget.winfo_rootx() + 10,
                              rooty=widget.winfo_rooty() + 10)
        widget.update()
        (menu,) = set(widget.winfo_children()) - before
        return menu, {menu.entrycget(i, "label"): i for i in range(menu.index("end") + 1)}

    menu, items = right_click(a.transcript)
    assert list(items) == ["Copy", "Select all"]
    menu.invoke(items["Select all"])
    menu.unpost()
    menu, items = right_click(a.transcript)
    menu.invoke(items["Copy"])
    menu.unpost()
    assert "copy me" in a.clipboard_get()

    a.clipboard_clear()
    a.clipboard_append("pasted from the menu")
    menu, items = right_click(a.entry)
    assert list(items) == ["Cut", "Copy", "Paste", "Select all"]
    menu.invoke(items["Paste"])
    menu.unpost()
    a.update()
    assert a.message_text() == "pasted from the menu"
    a.close()


# -- row 21: private messages in history ---------------------------------------------------
def test_private_messages_come_back_marked_private(tk_root, tmp_path):
    server, port = restartable_server(tmp_path)
    a = open_window(tk_root, server, "pam")
    b = open_window(tk_root, server, "quinn")
    wait_until(lambda: "quinn" in a.users, 10, tk_root, "quinn online")
    a.recipient.set("quinn")
    say(a, "our secret")
    wait_until(lambda: lines_with(b, "our secret") and not a.pending, 10, tk_root,
               "the private line")
    server.stop()
    server = ChatServer(tmp_path / "srv", "127.0.0.1", port)
    server.start()
    try:
        wait_until(lambda: a.logged_in and b.logged_in, 20, tk_root, "both to reconnect")
        assert len(lines_with(a, "our secret")) == 1 and len(lines_with(b, "our secret")) == 1
        b.close()
        again = open_window(tk_root, server, "quinn")  # a new window: from history only
        (line,) = lines_with(again, "our secret")
        assert "pam → quinn (private): our secret" in line
        assert "private" in line_tags(again, "our secret")
        outsider = open_window(tk_root, server, "ray")
        assert not lines_with(outsider, "our secret")
        for w in (a, again, outsider):
            w.close()
    finally:
        server.stop()


# -- attention ---------------------------------------------------------------------------------
def test_unread_count_and_bell_while_the_window_is_elsewhere(tk_root, chat_server):
    a = open_window(tk_root, chat_server, "alice")
    b = open_window(tk_root, chat_server, "bob")
    wait_until(lambda: "bob" in a.users, 10, tk_root, "bob online")
    rings = []
    a.bell = lambda *args, **kwargs: rings.append(1)
    focus(b.entry)  # the user is in bob's window
    say(b, "a plain line")
    wait_until(lambda: lines_with(a, "a plain line"), 10, tk_root, "the line")
    assert a.title() == "(1) netdesk — Chat (alice)" and not rings
    say(b, "hey Alice, look")  # a mention rings
    wait_until(lambda: lines_with(a, "look"), 10, tk_root, "the mention")
    assert a.title().startswith("(2) ") and len(rings) == 1
    assert "mention" in line_tags(a, "look")
    b.recipient.set("alice")
    say(b, "psst")  # so does a private line
    wait_until(lambda: lines_with(a, "psst"), 10, tk_root, "the private line")
    assert a.title().startswith("(3) ") and len(rings) == 2
    assert b.title() == "netdesk — Chat (bob)"  # its own lines count for nothing
    focus(a.entry)  # the user comes back
    assert a.title() == "netdesk — Chat (alice)"
    for w in (a, b):
        w.close()


def test_new_messages_below_when_scrolled_up(tk_root, chat_server):
    write_history(chat_server, 80)
    a = open_window(tk_root, chat_server, "scroller")
    b = open_window(tk_root, chat_server, "talker")
    focus(a.transcript)
    for _ in range(3):
        press(a.transcript, "<Prior>")  # Page Up: reading older lines
    top = a.transcript.yview()[0]
    assert a.transcript.yview()[1] < 0.999
    assert not shown(a.new_below)
    say(b, "something new")
    wait_until(lambda: lines_with(a, "something new"), 10, tk_root, "the new line")
    assert shown(a.new_below)
    assert a.transcript.yview()[0] == pytest.approx(top)  # the reader was not moved
    a.new_below.invoke()
    a.update()
    assert a.transcript.yview()[1] >= 0.999 and not shown(a.new_below)
    say(b, "and more")  # at the bottom, the view follows: no marker
    wait_until(lambda: lines_with(a, "and more"), 10, tk_root, "the next line")
    a.update()
    assert a.transcript.yview()[1] >= 0.999 and not shown(a.new_below)
    for w in (a, b):
        w.close()


def test_ctrl_f_finds_in_the_transcript_and_escape_closes(tk_root, chat_server):
    form = ChatWindow(tk_root, None, autoconnect=False)
    press(form.login_entries["name"], "<Control-f>")  # no transcript yet: nothing to find
    assert form.findbar.winfo_manager() == "" and form.focus_get() == form.login_entries["name"]
    form.close()
    a = open_window(tk_root, chat_server, "finder")
    for line in ("apple pie", "banana", "Apple tart"):
        say(a, line)
    wait_until(lambda: lines_with(a, "tart") and not a.pending, 10, tk_root, "the lines")
    press(a.entry, "<Control-f>")
    assert shown(a.findbar) and a.focus_get() == a.findbar.entry
    a.findbar.entry.insert(0, "apple")
    a.update()
    assert a.findbar.count.get() == "2 of 2"
    assert len(a.transcript.tag_ranges(MATCH_TAG)) == 4  # two (start, end) pairs
    press(a.findbar.entry, "<Escape>")
    assert not shown(a.findbar) and not a.transcript.tag_ranges(MATCH_TAG)
    press(a.entry, "<Control-f>")
    press(a.entry, "<Escape>")  # Escape in the message box closes it too
    assert not shown(a.findbar)
    a.close()


def test_tab_follows_the_screen(tk_root, chat_server):
    form = ChatWindow(tk_root, None, autoconnect=False)
    entries = form.login_entries
    focus(entries["host"])
    order = [entries["host"]]
    for _ in range(6):
        press(form.focus_get(), "<Tab>")
        order.append(form.focus_get())
    cancel = form.login_button.master.winfo_children()[0]
    assert cancel.cget("text") == "Cancel"  # left of "Log in" on screen
    assert order == [entries["host"], entries["port"], entries["name"], entries["password"],
                     form.plain_box, cancel, form.login_button]
    form.close()

    a = open_window(tk_root, chat_server, "tabber")
    focus(a.older_button)
    order = [a.older_button]
    for _ in range(5):
        press(a.focus_get(), "<Tab>")
        order.append(a.focus_get())
    assert order == [a.older_button, a.transcript, a.user_list, a.to_box, a.entry,
                     a.send_button]
    press(a.entry, "<Shift-Tab>")
    assert a.focus_get() == a.to_box
    a.close()


# -- closing -------------------------------------------------------------------------------------
@pytest.mark.parametrize("stuck", ["connect", "hello"])
def test_closing_while_connecting_never_blocks(tk_root, settle_threads, blocking_joins, stuck):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    fillers = []
    if stuck == "connect":  # a full backlog: the kernel drops the SYN, connect hangs
        filler = socket.socket()
        filler.connect(listener.getsockname())
        fillers.append(filler)
    # otherwise the connection is made but no hello ever comes
    try:
        w = ChatWindow(tk_root, None, autoconnect=False)  # the real 10 s timeout
        w.port.set(str(listener.getsockname()[1]))
        w.name.set("impatient")
        w.password.set("pw")
        w.login_button.invoke()
        pump(tk_root, 0.3)  # the session is inside its connect now
        assert not w.login_error.get()
        session = w.session
        assert session.alive  # stuck for up to its 10 s timeout
        w.close()
        # The window is gone, and close() waited for no thread on the Tk thread:
        # the session's thread ends by itself afterwards.
        assert not w.winfo_exists()
        assert blocking_joins.joins == [], "close() waited for the session on the Tk thread"
        settle_threads(2)
    finally:
        for s in (*fillers, listener):
            s.close()


def test_closing_while_waiting_to_reconnect_never_blocks(tk_root, tmp_path, settle_threads,
                                                        blocking_joins):
    server, _ = restartable_server(tmp_path)
    a = open_window(tk_root, server, "waiter",
                    session_factory=lambda emit: ChatSession(emit, reconnect_delays=(30,)))
    server.stop()
    wait_until(lambda: a.state == "reconnecting", 10, tk_root, "the wait before reconnecting")
    assert a.session.alive  # inside its 30 s wait
    blocking_joins.joins.clear()  # the server's stop above joined its own threads
    a.close()
    assert not a.winfo_exists()
    assert blocking_joins.joins == [], "close() waited for the session on the Tk thread"
    settle_threads(2)


def test_a_line_sent_just_before_closing_still_goes_out(tk_root, chat_server, settle_threads):
    a = open_window(tk_root, chat_server, "leaving")
    b = open_window(tk_root, chat_server, "staying")
    say(a, "last words")
    a.close()  # at once, before the echo came back
    wait_until(lambda: lines_with(b, "last words") and "leaving left" in b.transcript_text(),
               10, tk_root, "the line, then the logout")
    b.close()
    settle_threads()


def test_closing_with_unsent_lines_asks_first(tk_root, tmp_path, monkeypatch):
    server, _ = restartable_server(tmp_path)
    a = open_window(tk_root, server, "careful",
                    session_factory=lambda emit: ChatSession(emit, reconnect_delays=(30,)))
    server.stop()
    wait_until(lambda: a.state == "reconnecting", 10, tk_root, "the reconnect attempts")
    say(a, "not gone yet")
    questions = []
    monkeypatch.setattr(chat_window, "confirm_destructive",
                        lambda *args: questions.append(args) or False)
    a.close()  # the user answers No
    assert not a.closed and questions[0][2].startswith("1 line you sent")  # one, not "(s)"
    assert lines_with(a, "not gone yet")
    monkeypatch.setattr(chat_window, "confirm_destructive", lambda *args: True)
    a.close()
    assert a.closed


def test_events_are_typed_and_an_unknown_one_is_an_error(tk_root):
    w = ChatWindow(tk_root, None, autoconnect=False)
    with pytest.raises(TypeError, match="no handler"):
        w.on_event(("hello", None, "server", ("127.0.0.1", 1)))  # the old tuple form
    w.on_event(ev.ConnectFailed("cannot reach 127.0.0.1:1: refused", None))
    w.close()


# -- in Russian (issue 11) ---------------------------------------------------------------
def test_the_chat_window_speaks_russian(tk_root, tmp_path, settle_threads):
    """Under --lang ru: the login form, the conversation, the user list's
    plural forms, a server error code in the client's Russian words, and the
    strip when the server stops. (The autouse fixture restores English.)"""
    i18n.setup("ru")
    server, port = restartable_server(tmp_path)
    fresh = ChatWindow(tk_root, None, autoconnect=False)
    assert fresh.title() == "netdesk — Чат"
    assert fresh.login_button.cget("text") == "Войти"
    fresh.name.set("a b")  # refused here, by the server's own rule
    fresh.password.set("x")
    fresh.login_button.invoke()
    assert fresh.login_error.get().startswith("Ник — от 1 до 32 букв одного алфавита")
    fresh.close()

    a = open_window(tk_root, server, "alice")
    assert a.title() == "netdesk — Чат (alice)"
    assert a.online_label.cget("text") == "В сети: 1 человек"
    assert a.recipient.get() == "всем" and a.user_list.get(0) == "alice  (вы)"
    assert a.status.get() == f"Вход как alice на 127.0.0.1:{port}"
    assert "— вход как alice (зарегистрирована новая учётная запись) —" in a.transcript_text()
    b = open_window(tk_root, server, "bob")
    wait_until(lambda: len(a.users) == 2, 10, tk_root, "bob in alice's list")
    assert a.online_label.cget("text") == "В сети: 2 человека"  # the few-form, not "человек"
    assert lines_with(a, "— bob входит в чат —")
    b.recipient.set("alice")
    say(b, "привет")
    wait_until(lambda: lines_with(a, "привет"), 10, tk_root, "the private line")
    assert "bob → alice (лично): привет" in lines_with(a, "привет")[0]
    b.close()

    # A wrong password: the server says bad_password, the window says it in Russian.
    wrong = open_window(tk_root, server, "alice2")
    wrong.close()
    wrong = open_window(tk_root, server, "alice2", "wrong")
    assert not wrong.logged_in
    assert wrong.login_error.get() == "Неверный пароль для alice2."
    assert wrong.status.get() == "Вход отклонён"
    wrong.close()

    server.stop()
    wait_until(lambda: "сервер не принимает соединения" in a.strip_text.get(), 10, tk_root,
               "a refused reconnect attempt")
    assert a.strip_text.get().startswith("Связь потеряна: сервер не принимает соединения "
                                         "(остановлен или на паузе). Переподключение")
    assert "Строки, отправленные сейчас, ждут здесь" in a.strip_text.get()
    assert a.strip_button.cget("text") == "Переподключиться сейчас"
    assert a.online_label.cget("text") == "В сети (нет связи)"
    assert a.status.get() == "Переподключение…"
    say(a, "потом")
    assert "(ещё не отправлено: ждёт соединения)" in lines_with(a, "потом")[0]
    a.session.close()
    a.pending.clear()
    a.close()
    settle_threads()


def test_server_codes_are_worded_by_the_client_in_russian():
    """The server's English never reaches a Russian window: its codes do,
    worded here; a code the client does not know shows what the server said."""
    i18n.setup("ru")
    assert code_text("rate_limited", "too many messages; slow down") == \
        "вы отправляете быстрее, чем позволяет сервер; подождите немного"
    assert code_text("bad_text") == "сообщение — от 1 до 4000 символов"
    assert code_text("new_code", "something new") == "ответ сервера: something new (new_code)"
    assert wording.login_message("name_too_similar", "that name looks too much like an "
                                     "existing one; choose another", "bob") == \
        "bob слишком похоже на чужое имя. Выберите другое."
    assert wording.login_message("bad_request", "a password is 1 to 256 characters",
                                     "bob") == "Сервер не понял запрос на вход (bad_request)."
    i18n.setup("en")
    assert wording.login_message("bad_password", "wrong password for that name",
                                     "bob") == "Wrong password for bob."


def at_minimum(window: ChatWindow) -> None:
    width, height = window.minsize()
    window.geometry(f"{width}x{height}")
    wait_until(lambda: (window.winfo_width(), window.winfo_height()) == (width, height), 5,
               window, "the minimum size")
    window.update()


def assert_whole(window: ChatWindow, widgets, bottom: int | None = None,
                 squeezable: bool = False) -> None:
    """Each widget shown, inside the window (above ``bottom``), not squeezed
    (unless ``squeezable``: a list or a text box may be shorter than it asks)."""
    bottom = bottom if bottom is not None else window.winfo_rooty() + window.winfo_height()
    right = window.winfo_rootx() + window.winfo_width()
    for widget in widgets:
        assert widget.winfo_ismapped(), f"{widget} not shown"
        assert widget.winfo_rooty() + widget.winfo_height() <= bottom, f"{widget} cut below"
        assert widget.winfo_rootx() + widget.winfo_width() <= right, f"{widget} cut aside"
        assert squeezable or widget.winfo_height() >= widget.winfo_reqheight(), \
            f"{widget} squeezed"


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_smallest_login_form_shows_a_long_error_and_the_buttons(tk_root, lang):
    """Russian is longer: with the longest login error, the form at the
    window's minimum size still shows every field, the error, the buttons
    and the hint under them, above the status bar."""
    i18n.setup(lang)
    w = ChatWindow(tk_root, None, autoconnect=False)
    w.status.set(w.title())
    w.login_error.set(wording.login_message("name_in_use", "", "alice"))
    tk_root.update()
    at_minimum(w)
    form = [child for child in w.login_frame.winfo_children()]
    buttons = w.login_button.master.winfo_children()
    assert_whole(w, [*form, *buttons], bottom=w.statusbar.winfo_rooty())
    w.close()


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_smallest_chat_window_shows_the_strip_and_the_names_whole(tk_root, tmp_path,
                                                                      lang):
    """At the minimum size, while reconnecting: the strip's text and its
    button, the list's heading and a few names; the wide Russian button goes
    under the text rather than squeezing it into a column."""
    i18n.setup(lang)
    server, _ = restartable_server(tmp_path)
    a = open_window(tk_root, server, "alice")
    server.stop()
    wait_until(lambda: a.state == "reconnecting", 10, tk_root, "the reconnect attempts")
    at_minimum(a)
    assert_whole(a, [a.strip_label, a.strip_button, a.online_label, a.send_button])
    assert_whole(a, [a.user_list, a.entry], squeezable=True)  # they give way, within reason
    rows = int(a.tk.call("font", "metrics", a.user_list.cget("font"), "-linespace"))
    assert a.user_list.winfo_height() >= roster.LIST_ROWS_MIN * rows
    lines = a.strip_label.winfo_height() / rows
    assert lines <= 5, f"the strip's text is {lines:.1f} lines tall"
    a.session.close()
    a.close()


# -- issue 20: Ctrl+A, the login's fields and a bad remembered port ------------------------
def test_ctrl_a_selects_all_as_the_menus_say(tk_root, chat_server):
    a = open_window(tk_root, chat_server, "selector")
    say(a, "one line to select")
    wait_until(lambda: lines_with(a, "one line to select") and not a.pending, 10, tk_root,
               "the line")
    focus(a.entry)
    a.entry.insert("1.0", "first line\nsecond line")
    a.entry.mark_set("insert", "2.3")
    press(a.entry, "<Control-a>")
    assert a.entry.get("sel.first", "sel.last") == "first line\nsecond line"
    a.entry.event_generate("<KeyPress>", keysym="x")  # typing replaces all of it
    a.update()
    assert a.message_text() == "x"
    press(a.transcript, "<Control-a>")
    assert a.transcript.get("sel.first", "sel.last") == a.transcript_text()
    a.transcript.tag_remove("sel", "1.0", "end")
    press(a.transcript, "<Control-A>")  # Caps Lock on
    assert a.transcript.get("sel.first", "sel.last") == a.transcript_text()
    a.close()


def test_ctrl_a_selects_all_in_the_login_fields(tk_root):
    w = ChatWindow(tk_root, None, autoconnect=False)
    w.deiconify()
    entry = w.login_entries["name"]
    focus(entry)
    entry.delete(0, "end")
    for key in "alice":
        entry.event_generate("<KeyPress>", keysym=key)
    entry.icursor(2)
    press(entry, "<Control-a>")
    assert w.name.get() == "alice" and entry.selection_present()
    assert (entry.index("sel.first"), entry.index("sel.last")) == (0, 5)
    entry.event_generate("<KeyPress>", keysym="b")  # typing replaces all of it
    entry.update()
    assert w.name.get() == "b"
    w.close()


@pytest.mark.parametrize("port, problem", [
    ("１２３", "Port: '１２３' is not a port number (1-65535)."),  # full-width, not 123
    ("²", "Port: '²' is not a port number (1-65535)."),
    ("9" * 5000, "Port: '99999999999999999999...' is out of range (1-65535)."),
])
def test_a_port_that_is_no_port_is_named_by_the_login(tk_root, port, problem):
    w = ChatWindow(tk_root, None, session_factory=quick_session, autoconnect=False)
    w.port.set(port)
    w.name.set("porter")
    w.password.set("pw")
    w.login_button.invoke()
    assert w.login_error.get() == problem
    assert w.connected_to is None and w.pending_login is None  # nothing was tried
    assert w.login_button.instate(["!disabled"])
    w.close()


def test_a_host_with_spaces_is_refused_and_not_remembered(tk_root, chat_server, tmp_path):
    path = tmp_path / "settings.json"
    w = ChatWindow(tk_root, Settings(path), session_factory=quick_session, autoconnect=False)
    w.host.set("127.0.0.1 elsewhere")  # the resolver would take it as 127.0.0.1
    w.port.set(str(chat_server.address[1]))
    w.name.set("spacey")
    w.password.set("pw")
    w.login_button.invoke()
    assert w.login_error.get() == "'127.0.0.1 elsewhere' is not a host name or address."
    assert w.connected_to is None and not w.logged_in
    w.host.set("127.0.0.1")
    w.login_button.invoke()
    wait_until(lambda: w.logged_in, 10, tk_root, "the login to the host without spaces")
    w.close()
    assert json.loads(path.read_text())["chat"]["host"] == "127.0.0.1"
    assert "elsewhere" not in path.read_text()


@pytest.mark.parametrize("remembered", ["²", "9" * 5000, True, [1, 2]],
                         ids=["superscript", "5000-digits", "true", "list"])
def test_a_bad_remembered_port_opens_the_window_with_the_default(tk_root, tmp_path,
                                                                  remembered, settle_threads):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"chat": {"host": "127.0.0.1", "port": remembered,
                                         "name": "someone"}}))
    w = ChatWindow(tk_root, Settings(path), session_factory=quick_session)  # autoconnect
    assert w.port.get() == str(DEFAULT_PORT)
    assert w.connected_to == ("127.0.0.1", DEFAULT_PORT)  # the autoconnect went there
    assert w.login_error.get() == ""
    w.close()
    settle_threads()


# -- without a display: the pending-lines book, the login's checks, the wording -------------
def test_the_parts_without_tk_import_no_tkinter():
    code = ("import sys; import gui.chat.pending, gui.chat.login_request, gui.chat.wording; "
            "assert 'tkinter' not in sys.modules, sorted(m for m in sys.modules if 'tk' in m)")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parent.parent)


def test_the_pending_book_keeps_order_and_settles_after_a_login():
    book = PendingBook()
    one = book.add("hello", None, "10:00")
    two = book.add("hello", None, "10:01")  # the same words twice: two lines
    secret = book.add("psst", "bob", "10:02")
    assert [p.key for p in book] == [1, 2, 3] and len(book) == 3
    assert book.unsent(logged_in=False, epoch=None) == [one, two, secret]
    one.epoch = two.epoch = 7  # handed to the session on login 7, then the drop
    assert book.handed_to(7) == [one, two] and book.handed_to(8) == []
    assert book.unsent(logged_in=True, epoch=7) == [secret]  # online, 7's still go out
    # The history after the next login holds one "hello" of ours (and one of someone else's).
    again = book.after_login([{"from": "ME", "text": "hello", "to": None},
                              {"from": "bob", "text": "hello", "to": None}], "me")
    assert again == [two, secret] and list(book) == [two, secret]
    assert book.confirm({"text": "psst", "to": None}) is None  # not to everyone
    assert book.confirm({"text": "psst", "to": "bob"}) is secret and list(book) == [two]
    for p in book:  # the book may change while it is walked
        book.remove(p)
    book.remove(two)  # gone already: nothing happens
    assert not book and book.add("next", None, "10:03").key == 4


def test_the_login_form_checks_into_a_request():
    assert login_request(" 127.0.0.1 ", "09091", " alice ", "pw") == \
        LoginRequest("127.0.0.1", 9091, "alice", "pw", False)
    assert login_request("localhost", "1", "bob", "pw", plain=True).address == ("localhost", 1)

    def problem(*fields) -> tuple[str, str]:
        with pytest.raises(LoginProblem) as caught:
            login_request(*fields)
        return caught.value.field, caught.value.message

    # The nickname and password first (where the user types), then the address.
    assert problem("a b", "１２３", "no spaces", "") == (
        "name", "A nickname is 1 to 32 letters of one alphabet, digits, '_', '-' or '.'.")
    assert problem("a b", "１２３", "alice", "") == (
        "password", "Enter a password (a new nickname is registered with it).")
    assert problem("h", "1", "alice", "p" * 257) == (
        "password", "A password is at most 256 characters.")
    assert problem("a b", "１２３", "alice", "pw") == (
        "host", "'a b' is not a host name or address.")
    assert problem("", "1", "alice", "pw") == ("host", "Enter a host name or address.")
    assert problem("h", "１２３", "alice", "pw") == (
        "port", "Port: '１２３' is not a port number (1-65535).")
    assert problem("h", "²", "alice", "pw")[0] == "port"
    assert problem("h", "9" * 5000, "alice", "pw") == (
        "port", "Port: '99999999999999999999...' is out of range (1-65535).")
    assert problem("h", "0", "alice", "pw") == ("port", "Port: 0 is out of range (1-65535).")


def test_the_wording_needs_no_window():
    assert i18n.sentence("  the server is gone ") == "The server is gone."
    assert i18n.sentence("done!") == "Done!" and i18n.sentence(" ") == ""
    assert wording.local_time("not a time") == "--:--"
    assert wording.login_message("new_code", "something new", "bob") == \
        "The server refused the login: the server said: something new (new_code)."
    assert wording.title_text() == "netdesk — Chat"
