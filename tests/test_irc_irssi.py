"""A real IRC client on the gateway: Debian's irssi, driven under tmux,
in the clear and over TLS (pinning the server's fingerprint).

irssi connects with the account's password, joins #netdesk, says a line
that a netdesk chat window (a real ``ChatWindow`` under Xvfb) shows, and
shows the lines typed in that window, in the same order as the window.
Skips, saying why, when irssi or tmux is not installed (the README's test
command installs both).
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from net.chat.server import ChatServer
from net.irc.server import IrcServer
from tests.conftest import chat_options, open_window, say, wait_until

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


@pytest.mark.timeout(120)
@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
def test_irssi_joins_and_talks_with_a_window_in_one_order(tmp_path, tmux, tk_root, tls):
    (tmp_path / "data").mkdir()
    chat = ChatServer(tmp_path / "data", "127.0.0.1", 0, chat_options())
    chat.start()
    irc = IrcServer(chat, "127.0.0.1", 0)
    window = None
    try:
        irc.start()
        window = open_window(tk_root, chat, "win", "pw-window")
        assert window.logged_in
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

        def shown_in_window(text: str) -> bool:
            return text in window.transcript_text()

        wait_until(lambda: "[(status)]" in screen() or "Irssi" in screen(), 20, tk_root,
                   "irssi to start")
        # Over TLS, irssi pins the fingerprint `netdesk serve` prints (the
        # certificate is self-signed: no CA vouches for it).
        pin = chat.certificate.fingerprint.removeprefix("SHA256:")
        how = f"-tls -notls_verify -tls_pinned_cert {pin} " if tls else ""
        keys(f"/connect {how}127.0.0.1 {irc.address[1]} pw-irssi irssiuser")
        wait_until(lambda: chat.member("irssiuser") is not None, 20, tk_root,
                   "irssi to register")
        keys("/join #netdesk")
        wait_until(lambda: getattr(chat.member("irssiuser"), "in_channel", False), 20,
                   tk_root, "irssi to join #netdesk")
        say(window, "first from the window")
        wait_until(lambda: shown_in_window("first from the window"), 20, tk_root,
                   "the window to show its line")
        keys("hello from irssi")
        wait_until(lambda: shown_in_window("hello from irssi"), 20, tk_root,
                   "the window to show irssi's line")
        say(window, "last from the window")
        wait_until(lambda: shown_in_window("last from the window"), 20, tk_root,
                   "the window to show its last line")
        texts = ["first from the window", "hello from irssi", "last from the window"]
        transcript = window.transcript_text()
        order = sorted(texts, key=transcript.index)
        assert "irssiuser" in next(ln for ln in transcript.splitlines()
                                   if "hello from irssi" in ln)
        wait_until(lambda: all(text in screen() for text in texts), 20, tk_root,
                   "irssi to show every line")
        shown = screen()
        assert sorted(texts, key=shown.index) == order, shown
        assert "win" in next(ln for ln in shown.splitlines() if "first from the window" in ln)
        if tls:
            assert [r["tls"] for r in irc.clients() if r["name"] == "irssiuser"] == [True]
        keys("/quit")
        wait_until(lambda: chat.member("irssiuser") is None, 20, tk_root, "irssi to quit")
    finally:
        if window is not None:
            window.close()
        irc.stop()
        chat.stop()
