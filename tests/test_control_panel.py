"""The server control panel under Xvfb, driving real services on loopback."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from gui.control_panel import ControlPanel
from net import datadir
from net.chat.client import ChatConnection
from tests.conftest import wait_until


@pytest.fixture
def panel(tk_root, tmp_path):
    handler = datadir.setup_logging(tmp_path)
    answers = []
    p = ControlPanel(tk_root, tmp_path, None, handler,
                     confirm=lambda parent, title, question: answers.pop(0) if answers else True)
    p.answers = answers
    yield p
    if not p.closed:
        p.controller.shutdown()
        p.close()
    datadir.remove_logging(handler)


def start(panel, root):
    panel.host.set("127.0.0.1")
    panel.echo_port.set("0")
    panel.chat_port.set("0")
    panel.buttons["start"].invoke()
    wait_until(lambda: panel.status_now is not None and panel.status_now.running, 10, root,
               "the services to start")
    return panel.controller.chat.address, panel.controller.echo.address


def login(addr, name, password="pw"):
    c = ChatConnection()
    c.connect(*addr)
    c.login(name, password)
    return c


def test_panel_start_pause_resume_logs_kick_clear_and_stop(panel, tk_root, tmp_path):
    before = set(threading.enumerate())
    chat, echo = start(panel, tk_root)
    assert panel.state.get().startswith("Listening — echo")
    assert str(panel.buttons["start"].state()) == "('disabled',)"

    alice = login(chat, "alice")
    wait_until(lambda: any(panel.clients.item(i, "values")[0] == "alice"
                           for i in panel.clients.get_children()), 10, tk_root, "alice listed")

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
    panel.search.set("bob")
    assert all("bob" in line for line in panel.log_text().splitlines())
    panel.search.set("")

    # Kick from the table.
    wait_until(lambda: any(panel.clients.item(i, "values")[0] == "bob"
                           for i in panel.clients.get_children()), 10, tk_root, "bob listed")
    item = next(i for i in panel.clients.get_children()
                if panel.clients.item(i, "values")[0] == "bob")
    panel.clients.selection_set(item)
    panel.kick_button.invoke()
    assert bob.recv_until("bye")["reason"] == "kicked"
    bob.close()
    wait_until(lambda: "chat: client 127.0.0.1" in panel.log_text().split("bob left")[-1]
               and "disconnected" in panel.log_text().split("bob left")[-1], 10, tk_root,
               "bob's departure in the log")

    # Clear logs: file and view.
    panel.clear_logs()
    wait_until(lambda: panel.log_text() == "", 10, tk_root, "the view to empty")
    assert (tmp_path / "netdesk.log").stat().st_size == 0

    # Clear the identification file, after a confirmation; "no" leaves it be.
    panel.answers.append(False)
    panel.clear_users_button.invoke()
    panel.answers.append(True)
    panel.clear_users_button.invoke()
    wait_until(lambda: "Identification file cleared: 2" in panel.status.get(), 10, tk_root,
               "the clear")
    c = ChatConnection()
    c.connect(*chat)
    assert c.login("bob", "a new password")["new_account"] is True
    c.close()
    alice.close()

    start_stop = time.monotonic()
    panel.buttons["stop"].invoke()
    wait_until(lambda: panel.state.get() == "Stopped", 10, tk_root, "stopped")
    wait_until(lambda: not (set(threading.enumerate()) - before - {panel.control._thread}),
               2, tk_root, "every service thread to end")
    assert time.monotonic() - start_stop < 2.5
    for addr in (chat, echo):
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(addr, timeout=5)


def test_bad_port_fields_are_refused_in_the_panel(panel, tk_root):
    panel.echo_port.set("70000")
    panel.buttons["start"].invoke()
    assert "65535" in panel.field_error.cget("text")
    assert not panel.controller.running


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


def test_closing_while_running_asks_and_stops_everything(panel, tk_root, settle_threads):
    chat, _ = start(panel, tk_root)
    c = login(chat, "stayer")
    panel.answers.append(False)  # "no": the panel stays open, services too
    panel.close()
    assert not panel.closed and panel.controller.running
    panel.answers.append(True)
    panel.close()
    wait_until(lambda: panel.closed, 10, tk_root, "the panel to close")
    assert c.recv_until("bye")["reason"] == "shutdown"
    c.close()
    settle_threads()


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
