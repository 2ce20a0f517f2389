"""``netdesk serve``'s console: every command through stdin of a subprocess."""

from __future__ import annotations

import signal
import socket
import time

import pytest

from net.chat.client import ChatConnection
from tests.conftest import reap, start_serve, wait_until


class Console:
    """Types a command and reads the reply up to a marker line."""

    def __init__(self, proc):
        self.proc = proc

    def run(self, command: str) -> str:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.write("help\n")  # its last line ends the reply we wait for
        self.proc.stdin.flush()
        lines = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            if line.startswith("  shutdown "):
                break
            lines.append(line)
        text = "".join(lines)
        return text.split("commands:")[0]


def login(addr, name, password="pw") -> ChatConnection:
    c = ChatConnection()
    c.connect(*addr)
    c.login(name, password)
    return c


def test_every_console_command(tmp_path):
    proc, services = start_serve(tmp_path)
    console = Console(proc)
    chat, echo = services["chat"], services["echo"]
    try:
        alice = login(chat, "alice")
        out = console.run("status")
        assert "listening: echo port" in out and f"chat port {chat[1]}" in out
        assert "1 user online" in out

        out = console.run("clients")
        assert "alice" in out and "127.0.0.1" in out

        assert "paused" in console.run("pause")
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(chat, timeout=5)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(echo, timeout=5)
        alice.send({"type": "say", "text": "still talking while paused"})
        assert alice.recv_until("message")["text"] == "still talking while paused"
        assert "paused" in console.run("status")
        assert "resumed" in console.run("resume")
        login(chat, "bob").close()  # accepted again, on the same port
        # Let bob's departure finish (it is logged last) before reading logs.
        wait_until(lambda: "bob" not in console.run("clients")
                   and console.run("logs 1").rstrip().endswith("disconnected"), 10,
                   message="bob to be gone")

        out = console.run("logs 50")
        assert "chat: alice logged in" in out and "chat paused" in out

        assert "log cleared" in console.run("clear-logs")
        assert (tmp_path / "netdesk.log").stat().st_size == 0

        assert "bob is not online" in console.run("kick bob")
        assert "alice disconnected" in console.run("kick alice")
        assert alice.recv_until("bye")["reason"] == "kicked"
        alice.close()

        assert "2 accounts forgotten" in console.run("clear-users")
        c = ChatConnection()
        c.connect(*chat)
        assert c.login("alice", "another password")["new_account"] is True
        c.close()

        assert "unknown command 'frobnicate'" in console.run("frobnicate")
        assert "usage: kick NAME" in console.run("kick")

        proc.stdin.write("shutdown\n")
        proc.stdin.flush()
        assert proc.wait(timeout=15) == 0
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(chat, timeout=5)
    finally:
        reap(proc)


def test_end_of_input_stops_reading_not_serving(tmp_path):
    proc, services = start_serve(tmp_path)
    try:
        proc.stdin.close()  # like `netdesk serve < /dev/null &`
        c = ChatConnection()
        c.connect(*services["chat"])  # still serving after end of input
        c.login("svc", "pw")
        with socket.create_connection(services["echo"], timeout=5) as e:
            e.sendall(b"up")
            assert e.recv(2) == b"up"
        proc.send_signal(signal.SIGTERM)
        assert c.recv_until("bye")["reason"] == "shutdown"  # chat clients are told
        c.close()
        assert proc.wait(timeout=15) == 0
    finally:
        reap(proc)


def test_prompt_on_a_terminal(tmp_path):
    """With a terminal on stdin the console prompts; help lists every command."""
    import os
    import pty
    import subprocess

    from tests.conftest import netdesk_cmd, run_env

    controller_fd, terminal_fd = pty.openpty()
    proc = subprocess.Popen(
        netdesk_cmd("--data-dir", str(tmp_path), "serve", "--host", "127.0.0.1",
                    "--echo-port", "0", "--chat-port", "0", "--irc-port", "0"),
        stdin=terminal_fd, stdout=terminal_fd, stderr=terminal_fd, env=run_env())
    os.close(terminal_fd)
    seen = b""
    try:
        deadline = time.monotonic() + 20
        while b"netdesk> " not in seen and time.monotonic() < deadline:
            seen += os.read(controller_fd, 4096)
        assert b"type 'help' for commands" in seen
        os.write(controller_fd, b"help\n")
        while b"shutdown" not in seen.split(b"help", 2)[-1] and time.monotonic() < deadline:
            seen += os.read(controller_fd, 4096)
        for word in (b"status", b"clients", b"kick NAME", b"pause", b"resume", b"logs [N]",
                     b"clear-logs", b"clear-users", b"shutdown"):
            assert word in seen
        os.write(controller_fd, b"shutdown\n")
        assert proc.wait(timeout=15) == 0
    finally:
        reap(proc)
        os.close(controller_fd)


# -- bad input: every command checks its words; nothing long is echoed back ------------
@pytest.fixture
def controller(tmp_path):
    from net.control.controller import ServerController

    return ServerController(tmp_path)  # not started: the words are checked first


def execute(controller, line):
    from net.cli.console_words import execute

    return execute(controller, line)


@pytest.mark.parametrize("line", [
    "status x y", "clients x", "pause x", "resume x", "clear-logs x", "clear-users x",
    "help x", "shutdown now", "quit now", "logs 5 6",
])
def test_a_command_given_extra_words_is_a_usage_error(controller, line, tmp_path):
    reply = execute(controller, line)
    assert reply.text.startswith("usage: ")
    assert not reply.stop and not controller.stopped.is_set()
    assert not (tmp_path / "users.db").exists()  # clear-users x cleared nothing


@pytest.mark.parametrize("arg", ["-5", "0", "abc", "99999999999999999999", "10001",
                                 "\u0663", "\uff15", "1_0", "9" * 5000])
def test_logs_takes_a_count_from_1_to_10000_in_ascii_digits(controller, arg):
    assert execute(controller, f"logs {arg}").text == (
        "usage: logs [N], N a number of lines from 1 to 10000")


def test_long_words_are_not_echoed_back(controller):
    reply = execute(controller, "x" * 1_000_000)
    assert reply.text == "unknown command 'xxxxxxxxxxxxxxxxxxxx...'; type 'help' for the list"
    reply = execute(controller, "kick " + "a" * 1_000_000)
    assert reply.text == "a" * 32 + "... is not online"


def test_console_drops_an_over_long_line_and_goes_on(tmp_path):
    import argparse
    import io

    from net.cli.console import run_serve

    args = argparse.Namespace(data_dir=str(tmp_path), log_level="info", host="127.0.0.1",
                              echo_port=0, chat_port=0, history_retention=100,
                              tls_cert=None, tls_key=None, require_tls=False,
                              new_certificate=False)
    stdin = io.StringIO("status " + "x" * 1_000_000 + "\n"  # a 1 MB line
                        + "x" * 4097 + "\n"  # one character too many
                        + "status" + " " * 4090 + "\n"  # 4096 characters: read whole
                        + "shutdown\n")
    stdout = io.StringIO()
    assert run_serve(args, stdin, stdout) == 0
    lines = stdout.getvalue().splitlines()
    assert [line for line in lines
            if "listening on" not in line and "tls fingerprint" not in line] == [
        "line too long (at most 4096 characters)",
        "line too long (at most 4096 characters)",
        lines[-3],
        lines[-2],
        "server stopped",
    ]
    assert lines[-3].startswith("listening: echo port")
    assert lines[-2].startswith("TLS: 0 of 0 chat connections")
