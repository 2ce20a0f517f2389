"""irssi, a real IRC client, sets its user modes on the gateway and sees its
server name (issue 24): Debian's irssi under tmux, as in test_irc_irssi.py.
Skips, saying why, when irssi or tmux is not installed."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from net.chat.server import ChatServer
from net.irc.server import IrcOptions, IrcServer
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


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_irssi_sets_invisible_and_reads_it_back(tmp_path):
    env = {**os.environ, "TMUX_TMPDIR": str(tmp_path), "TERM": "xterm-256color",
           "HOME": str(tmp_path)}
    env.pop("TMUX", None)

    def tmux(*args: str) -> str:
        return subprocess.run(["tmux", *args], env=env, capture_output=True, text=True,
                              timeout=10).stdout

    (tmp_path / "data").mkdir()
    chat = ChatServer(tmp_path / "data", "127.0.0.1", 0, chat_options())
    chat.start()
    irc = IrcServer(chat, "127.0.0.1", 0, IrcOptions(server_name="irc.example.test"))
    try:
        irc.start()
        home = tmp_path / "irssi"
        home.mkdir()
        (home / "config").write_text(CONFIG)
        tmux("new-session", "-d", "-s", "irc", "-x", "200", "-y", "50",
             f"irssi --home={home} --config={home / 'config'}")

        def screen() -> str:
            return tmux("capture-pane", "-p", "-J", "-t", "irc", "-S", "-300")

        def keys(text: str) -> None:
            tmux("send-keys", "-t", "irc", "-l", text)
            tmux("send-keys", "-t", "irc", "Enter")

        wait_until(lambda: "[(status)]" in screen() or "Irssi" in screen(), 20,
                   message="irssi to start")
        keys(f"/connect 127.0.0.1 {irc.address[1]} pw-irssi irssiuser")
        wait_until(lambda: chat.member("irssiuser") is not None, 20,
                   message="irssi to register")
        wait_until(lambda: "irc.example.test" in screen(), 20,
                   message="irssi to show the server's name")
        keys("/mode irssiuser +i")
        wait_until(lambda: chat.member("irssiuser").umodes == frozenset("i"), 20,
                   message="the session to be +i")
        # irssi shows the MODE echo as a mode change of its own nick.
        wait_until(lambda: "Mode change [+i] for user irssiuser" in screen(), 20,
                   message="irssi to show the +i it got back")
        keys("/mode irssiuser -i+w")
        wait_until(lambda: "Mode change [+w-i] for user irssiuser" in screen(), 20,
                   message="irssi to show the change it got back")
        keys("/quit")
        wait_until(lambda: chat.member("irssiuser") is None, 20, message="irssi to quit")
    finally:
        tmux("kill-server")
        irc.stop()
        chat.stop()
