"""``netdesk serve --irc-server-name`` (issue 24): the name every reply of the
gateway comes from, checked before anything starts."""

from __future__ import annotations

import subprocess

import pytest

from net.irc.lines import parse
from net.irc.options import SERVER_NAME_MAX, is_server_name
from tests.conftest import netdesk_cmd, reap, run_env, start_serve
from tests.ircclient import Irc


@pytest.mark.parametrize("name", ["irc.netdesk", "My.Little.Server", "a.b", "irc-1.example.org",
                                  "x" * 50 + ".example"])
def test_host_like_names_are_server_names(name):
    assert is_server_name(name)


@pytest.mark.parametrize("name", ["", "netdesk", "bad name.org", "-irc.org", "irc-.org",
                                  "irc..org", ".irc.org", "irc.org.", "ирк.org", "irc_1.org",
                                  "irc.org:6667", "a." + "b" * SERVER_NAME_MAX, "nick!u@h.x"])
def test_other_text_is_not(name):
    assert not is_server_name(name)


def test_serve_names_the_gateway_in_every_reply(tmp_path):
    proc, services = start_serve(tmp_path, "--irc-guests", "--irc-server-name",
                                 "My.Little.Server")
    c = Irc(services["irc"][1])
    try:
        c.register("named", None)
        c.send("PING :fence")
        welcome = []
        while not welcome or parse(welcome[-1]).command != "PONG":
            welcome.append(c.expect(lambda _ln: True))
        numerics = [parse(ln) for ln in welcome if parse(ln).command.isdigit()]
        assert numerics and all(m.source == "My.Little.Server" for m in numerics)
        assert next(m for m in numerics if m.command == "004").params[1] == "My.Little.Server"
        assert parse(welcome[-1]).source == "My.Little.Server"  # the PONG
        c.send("WHOIS named")
        assert parse(c.expect("312")).params[2] == "My.Little.Server"
        c.send("WHO named")
        assert parse(c.expect("352")).params[4] == "My.Little.Server"
        proc.stdin.write("shutdown\n")
        proc.stdin.flush()
        proc.communicate(timeout=30)
        assert proc.returncode == 0
    finally:
        c.close()
        reap(proc)


@pytest.mark.parametrize("name", ["not a name", "netdesk", "x" * 64 + ".org"])
def test_serve_refuses_a_bad_server_name_before_starting(tmp_path, name):
    done = subprocess.run(
        netdesk_cmd("--data-dir", str(tmp_path), "serve", "--host", "127.0.0.1",
                    "--echo-port", "0", "--chat-port", "0", "--irc-port", "0",
                    "--irc-server-name", name),
        input="shutdown\n", capture_output=True, text=True, env=run_env(), timeout=30)
    assert done.returncode == 2
    assert "--irc-server-name: not a server name" in done.stderr
    assert "listening" not in done.stdout
