"""The server control panel under Xvfb, driving real services on loopback:
the life cycle, the questions before destructive commands (issue 10 row 11),
kick (row 12), port fields (row 13), layout at default and minimum size
(row 17), Tab order (row 18), Ctrl+F in the log, context menus, typed events."""

from __future__ import annotations

import json
import logging
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

import gui.widgets.confirm
from gui.kit.settings import Settings
from gui.panel import livelog
from gui.panel import window as control_panel
from gui.panel.form import port_field, read_form
from gui.panel.loglines import level_of, shown_line, take
from gui.panel.questions import cut_off
from gui.panel.window import ControlPanel
from gui.widgets.findbar import MATCH_TAG
from net import datadir, i18n
from net.chat.client import ChatConnection, ChatError
from net.control import commands as cmd
from net.control.events import Done, Impact, KickResult, LogLine
from tests.conftest import panel_at_minimum, start, wait_until


class Questions:
    """Stands in for confirm_destructive: answers from a list, keeps what was asked."""

    def __init__(self):
        self.answers: list[bool] = []
        self.asked: list[dict] = []

    def __call__(self, parent, title, question, loses) -> bool:
        self.asked.append({"title": title, "question": question, "loses": loses})
        assert self.answers, f"an unexpected question: {title}"
        return self.answers.pop(0)

    def answer(self, panel, root, yes: bool) -> dict:
        """Queue one answer and wait until it was given."""
        count = len(self.asked)
        self.answers.append(yes)
        wait_until(lambda: len(self.asked) > count, 10, root, "the question")
        return self.asked[-1]


@pytest.fixture
def questions(monkeypatch):
    q = Questions()
    monkeypatch.setattr(control_panel, "confirm_destructive", q)
    return q


@pytest.fixture
def panel(tk_root, tmp_path, questions):
    handler = datadir.setup_logging(tmp_path)
    p = ControlPanel(tk_root, tmp_path, None, handler)
    yield p
    if not p.closed:
        p.close_now()
    datadir.remove_logging(handler)


def login(addr, name, password="pw"):
    c = ChatConnection()
    c.connect(*addr)
    c.login(name, password)
    return c


def row_of(panel, name):
    return next((i for i in panel.clients.get_children()
                 if panel.clients.set(i, "name") == name), None)


def test_panel_start_pause_resume_logs_kick_clear_and_stop(panel, tk_root, tmp_path, questions):
    before = set(threading.enumerate())
    chat, echo = start(panel, tk_root)
    assert panel.state.get().startswith("Listening — echo")
    assert panel.buttons["start"].instate(["disabled"])

    alice = login(chat, "alice")
    wait_until(lambda: row_of(panel, "alice"), 10, tk_root, "alice listed")

    panel.buttons["pause"].invoke()
    wait_until(lambda: panel.status_now.paused, 10, tk_root, "paused")
    assert "Paused" in panel.state.get()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(chat, timeout=5)
    alice.send({"type": "say", "text": "paused but talking"})
    assert alice.recv_until("message")["text"] == "paused but talking"

    panel.buttons["resume"].invoke()
    wait_until(lambda: not panel.status_now.paused, 10, tk_root, "resumed")
    bob = login(chat, "bob")  # accepted again on the same port

    wait_until(lambda: "chat: bob logged in" in panel.log_text(), 10, tk_root,
               "the live log to follow")
    assert "chat paused" in panel.log_text()
    panel.level.set("WARNING")
    panel.render_log()
    assert "logged in" not in panel.log_text()
    panel.level.set("INFO")
    panel.line_filter.set("bob")
    shown = panel.log_text().splitlines()
    assert len(shown) >= 2 and all("bob" in line for line in shown)
    panel.line_filter.set("")
    assert any("bob" not in line for line in panel.log_text().splitlines())

    # Kick from the table: the status names who went.
    wait_until(lambda: row_of(panel, "bob"), 10, tk_root, "bob listed")
    panel.clients.selection_set(row_of(panel, "bob"))
    tk_root.update()
    questions.answers.append(True)  # Kick asks first, as every disconnecting action
    panel.kick_button.invoke()
    assert bob.recv_until("bye")["reason"] == "kicked"
    wait_until(lambda: panel.status.get() == "Kicked bob", 10, tk_root, "the kick's status")
    bob.close()
    wait_until(lambda: "disconnected" in panel.log_text().split("bob left")[-1], 10, tk_root,
               "bob's departure in the log")

    # Clear logs asks, saying how many lines go; "No" keeps file and view.
    log_file = tmp_path / "netdesk.log"
    size, lines = log_file.stat().st_size, log_file.read_text().count("\n")
    shown = panel.log_text()
    panel.clear_logs_button.invoke()
    asked = questions.answer(panel, tk_root, False)
    assert asked["loses"].startswith(f"The log file's {lines} lines will be deleted")
    tk_root.update()
    assert log_file.stat().st_size >= size and panel.log_text().startswith(shown[:200])
    panel.clear_logs_button.invoke()
    questions.answer(panel, tk_root, True)
    wait_until(lambda: panel.log_text() == "", 10, tk_root, "the view to empty")
    assert log_file.stat().st_size == 0

    # Clear the identification file: "No" keeps both accounts, "Yes" forgets them.
    panel.clear_users_button.invoke()
    asked = questions.answer(panel, tk_root, False)
    assert "2 accounts and their session tokens will be deleted" in asked["loses"]
    tk_root.update()
    assert panel.controller.account_count() == 2
    c = ChatConnection()
    c.connect(*chat)
    with pytest.raises(ChatError):
        c.login("bob", "not bob's password")  # bob's account is still there
    c.close()
    panel.clear_users_button.invoke()
    questions.answer(panel, tk_root, True)
    wait_until(lambda: "Identification file cleared: 2 accounts" in panel.status.get(), 10,
               tk_root, "the clear")
    c = ChatConnection()
    c.connect(*chat)
    assert c.login("bob", "a new password")["new_account"] is True

    # Stop with users online asks too; "No" keeps serving.
    wait_until(lambda: panel.status_now.online == 2, 10, tk_root, "two online")
    panel.buttons["stop"].invoke()
    asked = questions.answer(panel, tk_root, False)
    assert "2 users online" in asked["loses"] and "disconnected" in asked["loses"]
    tk_root.update()
    assert panel.running and not panel.buttons["stop"].instate(["disabled"])
    c.send({"type": "say", "text": "still served"})
    assert c.recv_until("message")["text"] == "still served"

    panel.buttons["stop"].invoke()
    questions.answer(panel, tk_root, True)
    wait_until(lambda: panel.state.get() == "Stopped", 10, tk_root, "stopped")
    c.close()
    alice.close()
    wait_until(lambda: not (set(threading.enumerate()) - before - {panel.control._thread}),
               10, tk_root, "every service thread to end")
    for addr in (chat, echo):
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(addr, timeout=5)


def test_destructive_questions_default_to_no(panel, tk_root, tmp_path, monkeypatch):
    """The real confirm_destructive: whatever the panel asks, Enter means No."""
    monkeypatch.setattr(control_panel, "confirm_destructive",
                        gui.widgets.confirm.confirm_destructive)
    calls = []

    def askyesno(title, message, **options):
        calls.append(dict(options, title=title, message=message))
        return False

    monkeypatch.setattr(gui.widgets.confirm.messagebox, "askyesno", askyesno)
    chat, _ = start(panel, tk_root)
    c = login(chat, "carol")
    logging.getLogger(datadir.LOGGER).warning("a line to clear")
    for button in (panel.clear_users_button, panel.clear_logs_button, panel.buttons["stop"]):
        count = len(calls)
        button.invoke()
        wait_until(lambda n=count: len(calls) > n, 10, tk_root, "the question")
    panel.close()
    wait_until(lambda: len(calls) == 4, 10, tk_root, "the question on closing")
    assert [call["title"] for call in calls] == [
        "Clear the identification file", "Clear the log", "Stop the server",
        "Stop the server and close?"]
    for call in calls:
        assert call["default"] == "no" and call["icon"] == "warning"
    assert "1 account and its session tokens" in calls[0]["message"]
    assert "1 user online is disconnected" in calls[3]["message"]
    tk_root.update()
    assert not panel.closed and panel.running  # every "No" kept things as they were
    assert panel.controller.account_count() == 1
    c.close()


def test_closing_while_running_asks_and_stops_everything(panel, tk_root, settle_threads,
                                                         questions):
    chat, _ = start(panel, tk_root)
    c = login(chat, "stayer")
    wait_until(lambda: panel.status_now.online == 1, 10, tk_root, "one online")
    panel.close()
    asked = questions.answer(panel, tk_root, False)  # "no": the panel stays open, services too
    assert asked["loses"] == "The server stops; 1 user online is disconnected."
    tk_root.update()
    assert not panel.closed and panel.controller.running
    panel.close()
    questions.answer(panel, tk_root, True)
    wait_until(lambda: panel.closed, 10, tk_root, "the panel to close")
    assert c.recv_until("bye")["reason"] == "shutdown"
    c.close()
    settle_threads()


def test_closing_without_the_question_returns_while_the_services_stop(panel, tk_root):
    """Quit's way (close_now) signals the control thread and returns: the
    window is gone while the thread still stops the services; the thread
    then ends on its own, the client got its bye and the port is closed."""
    chat, echo = start(panel, tk_root)
    c = login(chat, "leaver")
    wait_until(lambda: panel.status_now.online == 1, 10, tk_root, "one online")
    gate, opened = threading.Event(), []
    shutdown = panel.controller.shutdown

    def gated_shutdown():
        opened.append(gate.wait(8))  # times out only if close_now waited for it
        shutdown()

    panel.controller.shutdown = gated_shutdown
    panel.close_now()
    assert panel.closed and not panel.winfo_exists()
    assert panel.control.alive
    gate.set()
    assert panel.control.join(10) and opened[0] is True
    assert c.recv_until("bye")["reason"] == "shutdown"
    c.close()
    for addr in (chat, echo):
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(addr, timeout=5)


def test_closing_a_stopped_panel_asks_nothing(panel, tk_root, settle_threads):
    panel.close()  # the questions fixture fails the test on any question
    assert panel.closed
    settle_threads()


def test_kick_needs_a_named_row(panel, tk_root, questions):
    chat, _ = start(panel, tk_root)
    dave = login(chat, "dave")
    wait_until(lambda: row_of(panel, "dave"), 10, tk_root, "dave listed")
    assert panel.kick_button.instate(["disabled"])  # nothing selected: nothing to kick
    panel.kick_selected()  # e.g. from the keyboard: says what to do instead
    assert panel.status.get() == "Select a user in the table to kick"

    # The right-click menu selects the row under the pointer and offers Kick and Copy.
    item = row_of(panel, "dave")
    panel.clients.see(item)
    tk_root.update()
    x, y, _, _ = panel.clients.bbox(item)
    menu = panel._client_menu(SimpleNamespace(x=x + 5, y=y + 5))
    assert panel.clients.selection() == (item,)
    tk_root.update()
    assert not panel.kick_button.instate(["disabled"])
    labels = [menu.entrycget(i, "label") for i in range(menu.index("end") + 1)]
    assert labels == ["Kick dave", "Copy name", "Copy address"]
    menu.invoke(1)
    assert panel.clipboard_get() == "dave"
    questions.answers.append(True)
    menu.invoke(0)
    assert dave.recv_until("bye")["reason"] == "kicked"
    wait_until(lambda: panel.status.get() == "Kicked dave", 10, tk_root, "the status")
    wait_until(lambda: row_of(panel, "dave") is None, 10, tk_root, "dave gone from the table")
    assert panel.kick_button.instate(["disabled"])
    dave.close()

    # A row still logging in has no name to kick by.
    raw = socket.create_connection(chat, timeout=5)
    wait_until(lambda: row_of(panel, "(logging in)"), 10, tk_root, "the anonymous row")
    panel.clients.selection_set(row_of(panel, "(logging in)"))
    tk_root.update()
    assert panel.kick_button.instate(["disabled"])
    raw.close()


@pytest.mark.parametrize("echo, chat, host, message, field", [
    ("0", "70000", "127.0.0.1", "Chat port: 70000 is out of range (0-65535)", "chat_port"),
    ("99999", "0", "127.0.0.1", "Echo port: 99999 is out of range (0-65535)", "echo_port"),
    ("abc", "0", "127.0.0.1", "Echo port: 'abc' is not a port number (0-65535)", "echo_port"),
    ("0", "", "127.0.0.1", "Chat port: enter a port number (0-65535)", "chat_port"),
    ("9100", "9100", "127.0.0.1", "Chat port: 9100 is the echo port too; choose another",
     "chat_port"),
    ("0", "0", " ", "Host: enter an address to listen on", "host"),
])
def test_bad_fields_are_named_in_one_format(panel, tk_root, echo, chat, host, message, field):
    panel.host.set(host)
    panel.echo_port.set(echo)
    panel.chat_port.set(chat)
    panel.irc_port.set("0")
    panel.buttons["start"].invoke()
    tk_root.update()
    text = panel.field_error.cget("text")
    assert text.startswith(message)
    assert panel.field_error.winfo_ismapped()
    assert panel.fields[field].instate(["invalid"])
    assert not any(p in text for p in ("?.", "..", ".."))
    assert not panel.controller.running and panel.status_now is None
    # Fixed, the message goes.
    panel.host.set("127.0.0.1")
    panel.echo_port.set("0")
    panel.chat_port.set("0")
    panel.buttons["start"].invoke()
    tk_root.update()
    assert not panel.field_error.winfo_ismapped()
    assert not panel.fields[field].instate(["invalid"])
    wait_until(lambda: panel.running, 10, tk_root, "the start")


def test_port_field_messages():
    assert port_field("Echo port", " 8080 ") == (8080, "")
    assert port_field("Echo port", "0") == (0, "")
    # net/fields' wording: bounded before conversion, cut when shown.
    assert port_field("Chat port", "9" * 5000)[1] == \
        "Chat port: '99999999999999999999...' is out of range (0-65535)"
    assert port_field("Chat port", "\uff18\uff10")[1] == \
        "Chat port: '８０' is not a port number (0-65535)"  # full-width digits
    assert port_field("Chat port", "²")[1] == "Chat port: '²' is not a port number (0-65535)"


def test_busy_port_moves_and_shows_where(panel, tk_root):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        panel.host.set("127.0.0.1")
        panel.echo_port.set(str(busy))
        panel.chat_port.set("0")
        panel.buttons["start"].invoke()
        wait_until(lambda: panel.status_now is not None, 10, tk_root, "start")
        assert panel.status_now.ports["echo"] != busy
        assert f"echo {panel.status_now.ports['echo']}" in panel.state.get()


def test_the_panel_shows_the_budgets(panel, tk_root):
    panel.budgets_button.invoke()
    wait_until(lambda: getattr(panel, "budgets_window", None) is not None, 10, tk_root,
               "the budgets window")
    table = next(w for w in panel.budgets_window.winfo_children()
                 if w.winfo_class() == "Treeview")
    rows = {table.item(i, "values")[0]: table.item(i, "values")[1]
            for i in table.get_children()}
    assert rows["per address connections"] == "32"
    assert rows["login deadline"] == "30 s" and rows["backlog limit"] == "1 MiB"
    assert rows["trusted"] == "127.0.0.0/8, ::1/128"
    panel.budgets_window.event_generate("<Escape>")
    wait_until(lambda: not panel.budgets_window.winfo_exists(), 5, tk_root, "it to close")


def test_events_are_typed_and_an_unknown_one_raises(panel, tk_root):
    with pytest.raises(KeyError):
        panel.on_event(("log", 20, "a tuple, as before"))
    with pytest.raises(KeyError):
        panel.on_event(Done("kick_user", ("bob", True)))  # a command by name, as before
    with pytest.raises(TypeError):
        panel.control.submit("kick_user")  # refused at the caller, not on the thread
    panel.on_event(Done(cmd.Kick("bob"), KickResult("bob", False)))
    assert panel.status.get() == "bob is no longer online"


def test_log_lines_are_shortened_and_wrapped(panel, tk_root):
    today = time.strftime("%Y-%m-%d")
    assert shown_line(f"{today} 10:11:12,345 INFO    netdesk.chat: chat: bob left") == \
        "10:11:12 INFO    chat: bob left"
    assert shown_line("2001-02-03 10:11:12,345 WARNING netdesk.control: stopping") == \
        "Feb 3, 2001, 10:11:12 WARNING control: stopping"  # another day: with its date
    assert shown_line("not a record") == "not a record"

    low_w, low_h = panel.minsize()  # the minimum grows with the display's scaling
    panel.geometry(f"{low_w}x{low_h}")
    wait_until(lambda: panel.winfo_width() == low_w, 5, tk_root, "the minimum size")
    logging.getLogger(datadir.LOGGER).warning("a long line " * 30)
    wait_until(lambda: "a long line" in panel.log_text(), 5, tk_root, "the line")
    tk_root.update()
    assert panel.log_view.xview() == (0.0, 1.0)  # nothing to scroll sideways to
    assert panel.log_view.count("1.0", "end", "displaylines")[0] > 2  # it wrapped


@pytest.mark.parametrize("size", ["default", "minimum"])
def test_the_table_shows_more_than_three_rows(panel, tk_root, size):
    """Row 17: at the default and at the minimum size (both scale with the display)."""
    tk_root.update()
    if size == "minimum":
        width, height = panel.minsize()
        panel.geometry(f"{width}x{height}")
        wait_until(lambda: (panel.winfo_width(), panel.winfo_height()) == (width, height), 5,
                   tk_root, "the size")
    now = time.time()
    panel._show_clients([{"name": f"user{i}", "address": f"127.0.0.1:{5000 + i}",
                          "since": now, "messages": i} for i in range(10)])
    tk_root.update()
    rows = panel.clients.get_children()
    visible = [r for r in rows if panel.clients.bbox(r)]
    assert len(visible) >= 4, f"{len(visible)} rows visible at {size}"
    # ... and every column fits: the last one ends inside the table.
    x, _, w, _ = panel.clients.bbox(rows[0], "messages")
    assert x + w <= panel.clients.winfo_width()


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_every_button_and_label_is_whole_at_the_minimum_size(tk_root, tmp_path, questions,
                                                             lang):
    """Issue 11: Russian words are longer; at the smallest size no button,
    label or heading of the panel is cut or pushed past the window's edge,
    in netdesk's own look (its buttons are wider than Tk's default)."""
    p = panel_at_minimum(tk_root, tmp_path, lang)
    try:
        right = p.winfo_rootx() + p.winfo_width()
        todo, seen = [p], 0
        while todo:
            w = todo.pop()
            todo.extend(w.winfo_children())
            if w.winfo_class() in ("TButton", "TLabel", "TCombobox") and w.winfo_ismapped():
                seen += 1
                assert w.winfo_rootx() + w.winfo_width() <= right, f"{w} past the edge"
                if w.winfo_class() == "TButton":
                    assert w.winfo_width() >= w.winfo_reqwidth(), f"{w.cget('text')!r} is cut"
        assert seen > 15
    finally:
        p.close_now()


def test_tab_follows_the_screen(panel, tk_root):
    panel.deiconify()
    tk_root.update()
    order = [panel.fields["host"], panel.fields["echo_port"], panel.fields["chat_port"],
             panel.fields["irc_port"],
             panel.buttons["start"], panel.budgets_button,  # Stop, Pause, Resume are off
             panel.require_box,  # the fingerprint and its Copy wait for a running chat
             panel.new_certificate_button,
             panel.clients, panel.clear_users_button,  # Kick is off without a selection
             panel.level_box, panel.filter_entry, panel.clear_logs_button, panel.log_view]
    widget = order[0]
    walked = [widget]
    for _ in range(len(order) - 1):
        widget = widget.tk_focusNext()
        walked.append(widget)
    assert [str(w) for w in walked] == [str(w) for w in order]
    assert str(order[-1].tk_focusNext()) == str(order[0])


def test_ctrl_f_highlights_in_the_log_and_follows_new_lines(panel, tk_root):
    log = logging.getLogger(datadir.LOGGER)
    for word in ("apple", "banana", "apple pie"):
        log.warning("fruit: %s", word)
    wait_until(lambda: "apple pie" in panel.log_text(), 5, tk_root, "the lines")
    panel.log_view.focus_force()
    tk_root.update()
    panel.log_view.event_generate("<Control-f>")
    tk_root.update()
    assert panel.findbar.shown
    panel.findbar.entry.focus_force()
    for ch in "apple":
        panel.findbar.entry.event_generate("<KeyPress>", keysym=ch)
    tk_root.update()
    assert panel.findbar.count.get() == "2 of 2", panel.log_text()
    assert len(panel.log_view.tag_ranges(MATCH_TAG)) == 4
    log.warning("fruit: another apple")
    wait_until(lambda: "another apple" in panel.log_text(), 5, tk_root, "the new line")
    assert panel.findbar.count.get() == "2 of 3"  # highlighted, and the view did not jump
    assert len(panel.log_view.tag_ranges(MATCH_TAG)) == 6
    panel.findbar.entry.event_generate("<Escape>")
    tk_root.update()
    assert not panel.findbar.shown and not panel.log_view.tag_ranges(MATCH_TAG)


def test_the_log_view_keeps_its_matches_when_old_lines_go(panel, tk_root, monkeypatch):
    monkeypatch.setattr(livelog, "MAX_LOG_LINES", 20)
    monkeypatch.setattr(livelog, "TRIM_STEP", 5)
    for i in range(20):
        panel.add_log(logging.INFO, f"line {i} {'needle' if i % 4 == 0 else ''}")
    panel.findbar.open()
    panel.findbar.query.set("needle")
    assert panel.findbar.count.get() == "5 of 5"
    for i in range(20, 26):
        panel.add_log(logging.INFO, f"line {i}")
    assert int(panel.log_view.index("end-1c").split(".")[0]) - 1 == 21  # 5 dropped
    assert len(panel.findbar.matches) == 3  # those of lines 0 and 4 went with them
    assert panel.findbar.count.get() == "3 of 3"
    for first, end in panel.findbar.matches:
        assert panel.log_view.get(first, end) == "needle"
    panel.findbar.next()
    start, end = panel.findbar.matches[panel.findbar.current]
    assert panel.log_view.get(start, end) == "needle"


def test_context_menus_are_bound(panel):
    for widget in (*panel.fields.values(), panel.filter_entry, panel.log_view, panel.clients,
                   panel.findbar.entry):
        assert widget.bind("<Button-3>"), widget


def test_lines_logged_while_the_file_is_read_are_shown_once(panel, tk_root):
    """The file's tail and the live feed overlap by the lines logged between
    the panel's start and the control thread's read."""
    loaded, load = [], panel._done[cmd.ReadLog]
    panel._done[cmd.ReadLog] = lambda lines: (loaded.append(lines), load(lines))
    wait_until(lambda: loaded, 5, tk_root, "the first read")
    def line(second: int, text: str) -> str:
        return f"2001-01-01 00:00:0{second},000 INFO    netdesk.t: {text}"

    # a and b came live before the read; b, c and d are in the file; c and
    # d's live copies come after it, then e, which is new.
    panel.log_records = [(logging.INFO, line(1, "a")), (logging.INFO, line(2, "b"))]
    panel.on_event(Done(cmd.ReadLog(5000), [line(0, "x"), line(1, "a"), line(2, "b"),
                                      line(3, "c"), "  traceback", line(4, "d")]))
    for second, text in ((3, "c\n  traceback"), (4, "d"), (5, "e")):
        panel.on_event(LogLine(logging.INFO, line(second, text)))
    assert [row.split()[-1] for row in panel.log_text().splitlines()] == \
        ["x", "a", "b", "c", "traceback", "d", "e"]


def test_a_start_that_fails_says_why_beside_the_fields(panel, tk_root):
    panel.host.set("192.0.2.1")  # a documentation address: not this computer's
    panel.echo_port.set("0")
    panel.chat_port.set("0")
    panel.buttons["start"].invoke()
    wait_until(lambda: panel.status.get().startswith("Could not start: "), 10, tk_root,
               "the failure")
    assert panel.field_error.winfo_ismapped()
    assert panel.field_error.cget("text") == panel.status.get()
    assert not panel.running and not panel.buttons["start"].instate(["disabled"])
    assert "?." not in panel.status.get() and ".." not in panel.status.get()


# -- in Russian (issue 11) ---------------------------------------------------------------
def test_the_panel_speaks_russian_with_a_server_running(tk_root, tmp_path, questions):
    """Under --lang ru: buttons, headings, the state and counters of a real
    server, a client's row, log levels and the questions, in Russian; the
    log file itself stays English."""
    i18n.setup("ru")
    handler = datadir.setup_logging(tmp_path)
    panel = ControlPanel(tk_root, tmp_path, None, handler)
    try:
        assert panel.title() == "netdesk — Управление сервером"
        assert [b.cget("text") for b in panel.buttons.values()] == [
            "Запустить", "Остановить", "Пауза", "Продолжить"]
        assert [panel.clients.heading(c, "text") for c in panel.clients["columns"]] == [
            "Имя", "Адрес", "TLS", "В сети с", "Через", "Сообщений"]
        assert panel.level_box.get() == "ИНФО" and panel.level.get() == "INFO"
        assert panel.state.get() == "Остановлен"
        chat, _echo = start(panel, tk_root)
        assert panel.state.get().startswith("Слушает — эхо ")
        assert ", чат " in panel.state.get()
        alice = login(chat, "alice")
        wait_until(lambda: row_of(panel, "alice"), 10, tk_root, "alice listed")
        since = panel.clients.set(row_of(panel, "alice"), "since")  # by name: columns move
        assert re.fullmatch(r"\d\d:\d\d:\d\d", since), since
        assert panel.clients.set(row_of(panel, "alice"), "via") == "чат"  # a chat session
        wait_until(lambda: "1 соединение" in panel.counters.get(), 10, tk_root, "the counters")
        counters = panel.counters.get()
        assert counters.startswith("работает ") and "в сети: 1" in counters, counters
        assert re.search(r"\d+ сообщени", counters), counters

        logging.getLogger(datadir.LOGGER).warning("a warning for the view")
        wait_until(lambda: "a warning for the view" in panel.log_text(), 5, tk_root, "the line")
        line = next(t for t in panel.log_text().splitlines() if "a warning for the view" in t)
        assert re.match(r"\d\d:\d\d:\d\d ВНИМАНИЕ ", line), line
        panel.level_box.set("ВНИМАНИЕ")
        panel.level_box.event_generate("<<ComboboxSelected>>")
        assert panel.level.get() == "WARNING"
        assert all("ИНФО" not in t for t in panel.log_text().splitlines())

        panel.buttons["stop"].invoke()
        asked = questions.answer(panel, tk_root, False)
        assert asked["title"] == "Остановка сервера"
        assert asked["loses"] == "Сервер остановится; 1 пользователь в сети будет отключён."
        alice.close()
        handler.flush()
        log = (tmp_path / "netdesk.log").read_text(encoding="utf-8")
        assert "WARNING" in log and not re.search("[а-яА-Я]", log)
    finally:
        panel.close_now()
        datadir.remove_logging(handler)


def test_the_live_logs_matches_stay_capped(panel, tk_root, monkeypatch):
    """Lines that keep arriving while a search is shown add their matches
    through the find bar's one capped loop (it used to copy the loop
    without the cap, so a busy log grew the list without bound)."""
    from gui.widgets import findbar
    monkeypatch.setattr(findbar, "MAX_MATCHES", 5)
    bar = panel.findbar
    text = bar.text
    text.configure(state="normal")
    text.insert("end", "hit\n" * 3)
    bar.query.set("hit")
    bar.open()
    assert len(bar.matches) == 3
    for _ in range(4):  # a busy log: more lines with the word
        start = text.index("end-1c")
        text.insert("end", "hit hit\n")
        bar.lines_added(start)
    assert len(bar.matches) == 5
    assert bar.count.get().endswith("+"), bar.count.get()


# -- issue 20: the panel's defects -------------------------------------------------------
BAD_PORTS = {"superscript": "²", "full-width": "\uff11\uff12\uff13", "long": "9" * 5000}


@pytest.mark.parametrize("key", ["echo_port", "chat_port", "irc_port"])
@pytest.mark.parametrize("kind", list(BAD_PORTS))
def test_a_bad_port_typed_in_any_field_is_named_and_nothing_raises(panel, tk_root, key,
                                                                   kind):
    for k, var in panel.port_vars.items():
        var.set(BAD_PORTS[kind] if k == key else "0")
    panel.host.set("127.0.0.1")
    panel.buttons["start"].invoke()  # a Tk callback that raised fails the test (conftest)
    tk_root.update()
    label = {"echo_port": "Echo port", "chat_port": "Chat port", "irc_port": "IRC port"}[key]
    assert panel.field_error.cget("text").startswith(f"{label}: '")
    assert panel.fields[key].instate(["invalid"])
    assert not panel.running and panel.status_now is None


def test_a_bad_remembered_port_is_forgotten_and_the_panel_opens(tk_root, tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"control": {
        "echo_port": BAD_PORTS["superscript"], "chat_port": BAD_PORTS["full-width"],
        "irc_port": BAD_PORTS["long"]}}), encoding="utf-8")
    p = ControlPanel(tk_root, tmp_path, Settings(path))
    try:
        assert (p.echo_port.get(), p.chat_port.get(), p.irc_port.get()) == (
            "9090", "9091", "6667")  # the defaults
    finally:
        p.close_now()


def test_the_irc_port_is_a_field_remembered_and_used(tk_root, tmp_path, questions):
    settings = Settings(tmp_path / "settings.json")
    p = ControlPanel(tk_root, tmp_path, settings)
    try:
        assert p.irc_port.get() == "6667" and "irc_port" in p.fields
        with socket.socket() as holder:  # a port the IRC field asks for, then frees
            holder.bind(("127.0.0.1", 0))
            wanted = holder.getsockname()[1]
        p.host.set("127.0.0.1")
        p.echo_port.set("0")
        p.chat_port.set("0")
        p.irc_port.set(str(wanted))
        p.buttons["start"].invoke()
        wait_until(lambda: p.status_now is not None, 10, tk_root, "the start")
        assert p.status_now.ports["irc"] == wanted
        assert settings.get("control", "irc_port") == wanted
        assert p.fields["irc_port"].instate(["disabled"])  # as the others while running
    finally:
        p.close_now()
        p.control.join(10)


def test_the_form_is_read_without_a_display():
    request, field, problem = read_form(" 127.0.0.1 ", {"echo_port": "0", "chat_port": "0",
                                                        "irc_port": "0"})
    assert (field, problem) == ("", "") and request.host == "127.0.0.1"
    config = request.config(require_tls=True)
    assert (config.echo_port, config.chat_port, config.irc_port) == (0, 0, 0)
    assert config.chat_options.require_tls
    _, field, problem = read_form("h", {"echo_port": "7000", "chat_port": "7001",
                                        "irc_port": "7000"})
    assert field == "irc_port"
    assert problem == "IRC port: 7000 is in the field Echo port too; choose another"
    _, field, problem = read_form("h", {"echo_port": "1", "chat_port": "2", "irc_port": "²"})
    assert (field, problem) == ("irc_port", "IRC port: '²' is not a port number (0-65535)")


def test_kick_asks_first_naming_the_user_and_no_keeps_them(panel, tk_root, questions):
    chat, _ = start(panel, tk_root)
    erin = login(chat, "erin")
    wait_until(lambda: row_of(panel, "erin"), 10, tk_root, "erin listed")
    panel.clients.selection_set(row_of(panel, "erin"))
    tk_root.update()
    questions.answers.append(False)
    panel.kick_button.invoke()
    assert questions.asked[-1]["title"] == "Kick erin"
    assert "erin" in questions.asked[-1]["question"]
    tk_root.update()
    erin.send({"type": "say", "text": "still here"})
    assert erin.recv_until("message")["text"] == "still here"  # No: not disconnected
    questions.answers.append(True)
    panel.kick_button.invoke()
    assert erin.recv_until("bye")["reason"] == "kicked"
    wait_until(lambda: "kicked erin: kicked from the control panel" in panel.log_text(), 10,
               tk_root, "the reason in the log")
    erin.close()


def test_kick_asks_with_no_as_the_default(panel, tk_root, monkeypatch):
    """The real question: Enter means No."""
    monkeypatch.setattr(control_panel, "confirm_destructive",
                        gui.widgets.confirm.confirm_destructive)
    calls = []
    monkeypatch.setattr(gui.widgets.confirm.messagebox, "askyesno",
                        lambda title, message, **options: calls.append(options) or False)
    chat, _ = start(panel, tk_root)
    fay = login(chat, "fay")
    wait_until(lambda: row_of(panel, "fay"), 10, tk_root, "fay listed")
    panel.clients.selection_set(row_of(panel, "fay"))
    tk_root.update()
    panel.kick_button.invoke()
    assert calls and calls[0]["default"] == "no"
    fay.close()


def test_a_new_certificate_asks_and_the_next_start_shows_another_fingerprint(panel, tk_root,
                                                                           questions):
    start(panel, tk_root)
    wait_until(lambda: panel.fingerprint.get(), 10, tk_root, "the fingerprint")
    old = panel.fingerprint.get()
    questions.answers.append(False)  # No: nothing changes
    panel.new_certificate_button.invoke()
    assert "warned" in questions.asked[-1]["loses"]
    questions.answers.append(True)
    panel.new_certificate_button.invoke()
    wait_until(lambda: "new certificate" in panel.status.get(), 10, tk_root, "the answer")
    assert panel.fingerprint.get() == old  # the running chat keeps its certificate
    panel.buttons["stop"].invoke()  # no one connected: no question
    wait_until(lambda: not panel.running, 10, tk_root, "the stop")
    start(panel, tk_root)
    wait_until(lambda: panel.fingerprint.get(), 10, tk_root, "the new fingerprint")
    assert panel.fingerprint.get() != old
    new = panel.fingerprint.get()
    panel.buttons["stop"].invoke()
    wait_until(lambda: not panel.running, 10, tk_root, "the stop")
    start(panel, tk_root)  # once: the start after keeps the new one
    wait_until(lambda: panel.fingerprint.get(), 10, tk_root, "the fingerprint")
    assert panel.fingerprint.get() == new


def test_counts_in_the_panel_are_pluralised(panel, tk_root, questions):
    chat, _ = start(panel, tk_root)
    for name in ("gil", "hal"):
        login(chat, name).close()
    wait_until(lambda: panel.status_now.connections == 0, 10, tk_root, "both gone")
    panel.buttons["stop"].invoke()
    wait_until(lambda: not panel.running, 10, tk_root, "the stop")
    panel.clear_users_button.invoke()
    questions.answer(panel, tk_root, True)
    wait_until(lambda: "identification file cleared (" in panel.log_text(), 10, tk_root,
               "the log line")
    assert "identification file cleared (2 accounts)" in panel.log_text()
    assert "(s)" not in panel.log_text()
    assert panel.status.get() == "Identification file cleared: 2 accounts forgotten"


# -- without a display: the form, the log lines, the questions' words ---------------------
def test_the_panels_parts_without_tk_import_no_tkinter():
    code = ("import sys; import gui.panel.form, gui.panel.loglines, gui.panel.questions; "
            "assert 'tkinter' not in sys.modules, sorted(m for m in sys.modules if 'tk' in m)")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parent.parent)


def test_log_lines_know_their_level_and_are_taken_once():
    assert level_of("2026-12-08 10:11:12,345 WARNING netdesk.chat: chat: x") == logging.WARNING
    assert level_of("  a continuation line") == logging.INFO
    recent = ["2026-12-08 10:11:12,345 INFO    netdesk.chat: chat: a"]
    assert take(recent, recent[0] + "\n  and its second line")
    assert recent == [] and not take(recent, "anything")


def test_who_a_stop_cuts_off_is_said_in_words():
    def impact(connections, online):
        return Impact(running=True, connections=connections, online=online, accounts=0,
                      log_lines=0)
    assert cut_off(impact(3, 2)) == "2 users online and 1 other connection are disconnected"
    assert cut_off(impact(1, 1)) == "1 user online is disconnected"
    assert cut_off(impact(2, 0)) == "2 open connections are closed"
    assert "no one is connected" in cut_off(impact(0, 0))
