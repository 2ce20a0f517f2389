"""A real IRC client on the gateway: Debian's irssi, driven under tmux.

irssi connects with the account's password, joins #netdesk, says a line
that a netdesk chat connection (what a chat window runs) receives, and
shows the lines said from there, in the same order as the window got them.
Skips, saying why, when irssi or tmux is not installed (the README's test
command installs both).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from net.chat.client import ChatConnection
from net.chat.server import ChatServer
from net.irc.server import IrcServer
from tests.conftest import chat_options, wait_until

pytestmark = pytest.mark.skipif(
    not (shutil.which("irssi") and shutil.which("tmux")),
    reason="needs irssi and tmux (apt-get install irssi tmux; the README's test command does)")

CONFIG = """servers = ( );
chatnets = { };
channels = ( );
settings = {
  core = { real_name = "netdesk test"; user_name = "irssi"; nick = "irssiuser"; };
  "fe-common/core" = { timestamps = "no"; };
};
"""


@pytest.fixture
def tmux(tmp_path):
    """A tmux server of the test's own (its socket in tmp_path), killed after."""
    env = {**os.environ, "TMUX_TMPDIR": str(tmp_path), "TERM": "xterm-256color",
           "HOME": str(tmp_path)}
    env.pop("TMUX", None)

    def run(*args: str) -> str:
        return subprocess.run(["tmux", *args], env=env, capture_output=True, text=True,
                              timeout=10).stdout

    yield run
    subprocess.run(["tmux", "kill-server"], env=env, capture_output=True, timeout=10)


@pytest.mark.timeout(90)
def test_irssi_joins_and_talks_with_a_window_in_one_order(tmp_path, tmux):
    (tmp_path / "data").mkdir()
    chat = ChatServer(tmp_path / "data", "127.0.0.1", 0, chat_options())
    chat.start()
    irc = IrcServer(chat, "127.0.0.1", 0)
    window = ChatConnection(timeout=5)
    try:
        irc.start()
        window.connect("127.0.0.1", chat.address[1])
        window.login("win", "pw-window")
        home = tmp_path / "irssi"
        home.mkdir()
        (home / "config").write_text(CONFIG)
        tmux("new-session", "-d", "-s", "irc", "-x", "200", "-y", "50",
             f"irssi --home={home} --config={home / 'config'}")

        def screen() -> str:
            return tmux("capture-pane", "-p", "-J", "-t", "irc", "-S", "-200")

        def keys(text: str) -> None:
            tmux("send-keys", "-t", "irc", "-l", text)
            tmux("send-keys", "-t", "irc", "Enter")

        wait_until(lambda: "[(status)]" in screen() or "Irssi" in screen(), 20,
                   message="irssi to start")
        keys(f"/connect 127.0.0.1 {irc.address[1]} pw-irssi irssiuser")
        wait_until(lambda: chat.member("irssiuser") is not None, 20,
                   message="irssi to register")
        keys("/join #netdesk")
        wait_until(lambda: getattr(chat.member("irssiuser"), "in_channel", False), 20,
                   message="irssi to join #netdesk")
        window.send({"type": "say", "text": "first from the window"})
        keys("hello from irssi")
        got = []
        deadline = time.monotonic() + 20
        while len(got) < 2 and time.monotonic() < deadline:
            try:
                msg = window.recv(1)
            except TimeoutError:
                continue
            if msg and msg.get("type") == "message":
                got.append(msg)
        window.send({"type": "say", "text": "last from the window"})
        while len(got) < 3 and time.monotonic() < deadline:
            try:
                msg = window.recv(1)
            except TimeoutError:
                continue
            if msg and msg.get("type") == "message":
                got.append(msg)
        assert [m["text"] for m in got if m["from"] == "irssiuser"] == ["hello from irssi"]
        order = [m["text"] for m in sorted(got, key=lambda m: m["id"])]
        wait_until(lambda: all(text in screen() for text in order), 20,
                   message="irssi to show every line")
        shown = screen()
        assert sorted(order, key=shown.index) == order, shown
        keys("/quit")
        wait_until(lambda: chat.member("irssiuser") is None, 20, message="irssi to quit")
    finally:
        window.close()
        irc.stop()
        chat.stop()
