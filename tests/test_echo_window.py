"""The echo client window under Xvfb, against a real server on loopback."""

from __future__ import annotations

from gui.echo_window import EchoWindow
from gui.settings import Settings
from tests.conftest import wait_until


def transcript_text(window: EchoWindow) -> str:
    return window.transcript.get("1.0", "end")


def test_echo_window_round_trip_and_close(tk_root, echo_server, tmp_path, settle_threads):
    settings = Settings(tmp_path / "settings.json")
    window = EchoWindow(tk_root, settings)
    host, port = echo_server.address
    window.host.set(host)
    window.port.set(str(port))
    window.connect_button.invoke()
    wait_until(lambda: window.connected, root=tk_root, message="connected")
    assert "Connected to 127.0.0.1" in window.status.get()

    window.entry.focus_force()
    window.line.set("hello echo")
    window.entry.event_generate("<Return>")  # Enter sends
    wait_until(lambda: "← hello echo" in transcript_text(window), root=tk_root,
               message="the reply in the transcript")
    assert "→ hello echo" in transcript_text(window)
    assert " ms" in transcript_text(window).split("← hello echo")[1]
    assert window.line.get() == ""

    window.close()
    assert not window.session.alive
    settle_threads()
    # The server saw the client leave.
    wait_until(lambda: echo_server.listener.connection_count() == 0, 5)
    assert Settings(tmp_path / "settings.json").get("echo", "port") == port


def test_echo_window_shows_bad_port_and_refused_connection(tk_root, tmp_path):
    window = EchoWindow(tk_root, None)
    window.port.set("70000")
    window.connect_button.invoke()
    assert "65535" in window.field_error.cget("text")
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    window.port.set(str(free))
    window.connect_button.invoke()
    assert window.field_error.cget("text") == ""
    wait_until(lambda: "refused" in window.status.get(), root=tk_root, message="refusal")
    assert not window.connected
    assert "refused" in transcript_text(window)
    window.close()
