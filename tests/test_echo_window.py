"""The echo client window under Xvfb, against real servers on loopback:
round trips, a server that goes away (issue 10 row 4), closing during a
connect, typed events, Ctrl+F and the context menus."""

from __future__ import annotations

import re
import socket

import pytest

from gui.echo.window import EchoWindow
from gui.kit.settings import Settings
from gui.widgets.findbar import MATCH_TAG
from net import i18n
from net.echo.server import EchoServer
from tests.conftest import wait_until


def transcript_text(window: EchoWindow) -> str:
    return window.transcript.get("1.0", "end")


def type_into(widget, text: str) -> None:
    """Type ``text`` key by key (letters, digits and spaces)."""
    widget.focus_force()
    widget.update()
    for ch in text:
        widget.event_generate("<KeyPress>", keysym="space" if ch == " " else ch)
    widget.update()


def open_on(tk_root, address, settings=None) -> EchoWindow:
    window = EchoWindow(tk_root, settings)
    host, port = address
    window.host.set(host)
    window.port.set(str(port))
    window.connect_button.invoke()
    wait_until(lambda: window.connected, root=tk_root, message="connected")
    return window


def disabled(widget) -> bool:
    return widget.instate(["disabled"])


def test_echo_window_round_trip_and_close(tk_root, echo_server, tmp_path, settle_threads,
                                          blocking_joins):
    settings = Settings(tmp_path / "settings.json")
    window = open_on(tk_root, echo_server.address, settings)
    port = echo_server.address[1]
    assert "Connected to 127.0.0.1" in window.status.get()

    type_into(window.entry, "hello echo")
    window.entry.event_generate("<Return>")  # Enter sends
    wait_until(lambda: "← hello echo" in transcript_text(window), root=tk_root,
               message="the reply in the transcript")
    assert "→ hello echo" in transcript_text(window)
    assert " ms" in transcript_text(window).split("← hello echo")[1]
    assert window.line.get() == ""

    window.close()
    assert blocking_joins.joins == [], "close() waited for a thread on the Tk thread"
    settle_threads()
    assert not window.session.alive
    # The server saw the client leave.
    wait_until(lambda: echo_server.listener.connection_count() == 0, 5)
    assert Settings(tmp_path / "settings.json").get("echo", "port") == port


def test_echo_window_shows_bad_port_and_refused_connection(tk_root, tmp_path):
    window = EchoWindow(tk_root, None)
    window.port.set("70000")
    window.connect_button.invoke()
    assert "65535" in window.field_error.cget("text")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    window.port.set(str(free))
    window.connect_button.invoke()
    assert window.field_error.cget("text") == ""
    wait_until(lambda: "refused" in window.status.get(), root=tk_root, message="refusal")
    assert not window.connected
    assert "refused" in transcript_text(window)
    assert "?." not in window.status.get()
    assert not disabled(window.connect_button)
    type_into(window.entry, "hello")
    window.entry.event_generate("<Return>")
    tk_root.update()
    note = window.entry_note.cget("text")
    assert note.startswith("Not sent: cannot reach 127.0.0.1:") and "refused" in note
    assert "?." not in note and ".." not in note
    window.close()


def test_a_server_that_goes_away_is_shown_at_once(tk_root, settle_threads):
    """Row 4: the window notices the server left without being asked to send."""
    server = EchoServer("127.0.0.1", 0)
    server.start()
    address = server.address
    window = open_on(tk_root, address)
    window.entry.focus_force()
    assert not disabled(window.send_button)

    server.stop()
    # Nothing is sent: the window notices by itself, not at the next line.
    wait_until(lambda: not window.connected, 5, tk_root, "the window to notice")
    assert window.status.get().startswith("Disconnected: the server closed the connection")
    assert "disconnected: the server closed the connection" in transcript_text(window)
    assert disabled(window.send_button)
    assert window.connect_button.cget("text") == "Reconnect"
    assert not disabled(window.connect_button)

    # A line typed now stays in the entry, with the reason beside it.
    type_into(window.entry, "still here")
    window.entry.event_generate("<Return>")
    tk_root.update()
    assert window.line.get() == "still here"
    note = window.entry_note.cget("text")
    assert window.entry_note.winfo_ismapped()
    assert note == ("Not sent: the server closed the connection. Reconnect, then press Enter "
                    "to send it.")
    assert "→ still here" not in transcript_text(window)

    # Reconnect, once the server is back, and the kept line goes with Enter.
    again = EchoServer("127.0.0.1", address[1])
    again.start()
    try:
        window.connect_button.invoke()
        wait_until(lambda: window.connected, 5, tk_root, "reconnected")
        assert window.connect_button.cget("text") == "Connect"
        window.entry.focus_force()
        window.entry.event_generate("<Return>")
        wait_until(lambda: "← still here" in transcript_text(window), 5, tk_root, "the echo")
        assert window.line.get() == "" and not window.entry_note.winfo_ismapped()
        window.close()
    finally:
        again.stop()
    settle_threads()


def test_a_line_typed_before_connecting_is_kept_with_a_reason(tk_root):
    window = EchoWindow(tk_root, None)
    type_into(window.entry, "early")
    window.entry.event_generate("<Return>")
    tk_root.update()
    assert window.line.get() == "early"
    assert window.entry_note.cget("text") == ("Not sent: not connected. Connect, then "
                                              "press Enter to send it.")
    window.close()


@pytest.fixture
def hanging_listener():
    """A loopback address where a connect hangs: the backlog is full."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    fill = []
    for _ in range(4):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(listener.getsockname())
        fill.append(s)
    yield listener.getsockname()
    for s in [*fill, listener]:
        s.close()


def test_closing_during_a_connect_never_blocks(tk_root, hanging_listener, settle_threads,
                                              blocking_joins):
    window = EchoWindow(tk_root, None)
    window.host.set(hanging_listener[0])
    window.port.set(str(hanging_listener[1]))
    window.connect_button.invoke()
    wait_until(lambda: window.session._sock is not None, 5, tk_root, "the connect to begin")
    tk_root.update()
    assert window.state == "connecting" and "Connecting" in window.status.get()
    window.close()
    assert blocking_joins.joins == [], "close() waited for the connect on the Tk thread"
    settle_threads(2)


def test_disconnect_cancels_a_connect_in_progress(tk_root, hanging_listener, settle_threads):
    window = EchoWindow(tk_root, None)
    window.host.set(hanging_listener[0])
    window.port.set(str(hanging_listener[1]))
    window.connect_button.invoke()
    wait_until(lambda: window.session._sock is not None, 5, tk_root, "the connect to begin")
    assert not disabled(window.disconnect_button)
    window.disconnect_button.invoke()
    wait_until(lambda: window.state != "connecting", 2, tk_root, "the cancel")
    assert "cancelled" in window.status.get()
    assert not disabled(window.connect_button)
    window.close()
    settle_threads(2)


def test_an_unknown_event_is_an_error_not_a_silence(tk_root):
    window = EchoWindow(tk_root, None)
    try:
        with pytest.raises(KeyError):
            window.on_event(("connected", "127.0.0.1", 9090))  # the old tuple form
    finally:
        window.close()


def test_ctrl_f_finds_in_the_transcript_and_menus_open(tk_root, echo_server):
    window = open_on(tk_root, echo_server.address)
    for word in ("alpha", "beta", "alphabet"):
        window.line.set(word)
        window.send_button.invoke()
        wait_until(lambda w=word: f"← {w}" in transcript_text(window), 5, tk_root, word)
    window.transcript.focus_force()
    window.update()
    window.transcript.event_generate("<Control-f>")
    tk_root.update()
    assert window.findbar.shown
    type_into(window.findbar.entry, "alpha")
    assert window.findbar.count.get() == "4 of 4"  # two sent, two echoed
    assert len(window.transcript.tag_ranges(MATCH_TAG)) == 8
    window.findbar.entry.event_generate("<Escape>")
    tk_root.update()
    assert not window.findbar.shown
    # Right-click menus are bound on the transcript and the entries.
    for widget in (window.transcript, window.entry, window.host_entry, window.port_entry):
        assert widget.bind("<Button-3>"), widget
    window.close()


def test_tab_follows_the_screen_and_skips_what_is_off(tk_root, echo_server):
    window = EchoWindow(tk_root, None)
    tk_root.update()

    def walk() -> list[str]:
        widget, seen = window.host_entry, []
        for _ in range(8):
            seen.append(str(widget))
            widget = widget.tk_focusNext()
            if str(widget) == str(window.host_entry):
                break
        return seen

    assert walk() == [str(w) for w in (window.host_entry, window.port_entry,
                                       window.connect_button, window.transcript, window.entry)]
    window.host.set(echo_server.address[0])
    window.port.set(str(echo_server.address[1]))
    window.connect_button.focus_force()
    window.connect_button.invoke()
    wait_until(lambda: window.connected, root=tk_root, message="connected")
    assert window.focus_get() is not window.connect_button  # not left on a grey button
    assert walk() == [str(w) for w in (window.host_entry, window.port_entry,
                                       window.disconnect_button, window.transcript,
                                       window.entry, window.send_button)]
    window.close()


# -- in Russian (issue 11) ---------------------------------------------------------------
def test_the_echo_window_speaks_russian(tk_root, settle_threads):
    """Under --lang ru: the buttons, the status, the transcript and the
    reasons the client library gives, in Russian; the round trip with a comma."""
    i18n.setup("ru")
    server = EchoServer("127.0.0.1", 0)
    server.start()
    window = EchoWindow(tk_root, None)
    assert window.title() == "netdesk — Эхо-клиент"
    assert window.connect_button.cget("text") == "Подключиться"
    assert window.send_button.cget("text") == "Отправить"
    window.port.set("70000")
    window.connect_button.invoke()
    assert window.field_error.cget("text") == "порт: 70000 вне диапазона (1-65535)"
    host, port = server.address
    window.port.set(str(port))
    window.connect_button.invoke()
    wait_until(lambda: window.connected, root=tk_root, message="connected")
    assert window.status.get() == f"Подключено к {host}:{port}"
    window.line.set("привет")
    window.send_button.invoke()
    wait_until(lambda: "← привет" in transcript_text(window), root=tk_root, message="the echo")
    assert re.search(r"← привет   \d+,\d\d мс", transcript_text(window))
    assert re.fullmatch(r"Последний круг \d+,\d\d мс", window.status.get())

    server.stop()
    wait_until(lambda: not window.connected, 5, tk_root, "the window to notice")
    assert window.status.get() == "Отключено: сервер закрыл соединение"
    assert window.connect_button.cget("text") == "Переподключиться"
    window.line.set("ещё")
    window.send_button.state(["!disabled"])
    window.send()
    assert window.entry_note.cget("text") == (
        "Не отправлено: сервер закрыл соединение. Переподключитесь, затем нажмите Enter, "
        "чтобы отправить.")
    window.close()
    settle_threads()


@pytest.mark.parametrize("port", ["²", "１２３", "9" * 5000, "80 80", ""])
def test_a_port_that_is_no_port_is_named_not_raised(tk_root, port):
    """``²`` passed isdigit() and then int() raised inside the Tk callback;
    full-width digits were taken as port 123; 5,000 digits raised in int()."""
    window = EchoWindow(tk_root, None)
    try:
        window.port.set(port)
        window.connect_button.invoke()
        tk_root.update()
        assert window.field_error.cget("text").startswith("port: ")
        assert window.state != "connecting"
    finally:
        window.close()


@pytest.mark.parametrize("remembered", ["²", "9" * 5000, True, [9090], {"p": 1}, 70000])
def test_a_bad_remembered_port_opens_with_the_default(tk_root, tmp_path, remembered):
    settings = Settings(tmp_path / "settings.json")
    settings.update("echo", port=remembered, host="127.0.0.1")
    window = EchoWindow(tk_root, settings)
    try:
        assert window.port.get() == "9090"
    finally:
        window.close()


def test_a_host_with_spaces_is_refused_and_not_remembered(tk_root, tmp_path):
    settings = Settings(tmp_path / "settings.json")
    window = EchoWindow(tk_root, settings)
    try:
        window.host.set("my host")
        window.port.set("9090")
        window.connect_button.invoke()
        tk_root.update()
        assert "is not a host name or address" in window.field_error.cget("text")
        assert window.state != "connecting"
    finally:
        window.close()
    assert Settings(tmp_path / "settings.json").get("echo", "host") != "my host"
