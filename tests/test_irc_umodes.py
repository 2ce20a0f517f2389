"""User modes on the IRC gateway (issue 24): ``MODE <nick> +i`` and what
invisibility hides from WHO, on real loopback sockets; ``net.irc.umodes``
without any."""

from __future__ import annotations

import pytest

from net.irc.lines import parse
from net.irc.umodes import apply, shown
from tests.conftest import wait_until
from tests.ircclient import Irc


@pytest.fixture
def irc_clients():
    opened: list[Irc] = []

    def new(port: int, nick: str) -> Irc:
        c = Irc(port)
        opened.append(c)
        c.register(nick, None)
        c.send("PING :welcomed")  # the rest of the welcome comes before its PONG
        c.expect("PONG")
        return c

    yield new
    for c in opened:
        c.close()


def _command(ln: str) -> str:
    return parse(ln).command


def _after(c: Irc, sent: str, end: str) -> list[str]:
    """The lines ``sent`` gets, up to the line whose command is ``end`` (a PING
    sent after it closes the answer when nothing else would)."""
    c.lines.clear()
    c.send(sent)
    c.send("PING :fence")
    got = []
    while True:
        ln = c.expect(lambda _ln: True)
        got.append(ln)
        if _command(ln) in (end, "PONG"):
            if _command(ln) == "PONG":
                return got
            c.expect("PONG")
            return got


def _whos(lines: list[str]) -> list[str]:
    return [parse(ln).params[5] for ln in lines if _command(ln) == "352"]


# -- without sockets ----------------------------------------------------------------------
def test_apply_echoes_only_what_changed():
    none = frozenset()
    assert apply(none, "+i") == (frozenset("i"), "+i", False)
    assert apply(frozenset("i"), "+i").echo == ""  # already set: nothing to say
    assert apply(frozenset("i"), "-i") == (none, "-i", False)
    assert apply(frozenset("w"), "+i-w") == (frozenset("i"), "+i-w", False)
    assert apply(none, "iw").modes == frozenset("iw")  # no sign: adding
    assert apply(none, "+i-i").echo == ""


def test_apply_skips_unknown_flags_and_keeps_the_known_ones():
    change = apply(frozenset(), "+ioZ")
    assert change.modes == frozenset("i") and change.echo == "+i" and change.unknown
    assert shown(frozenset()) == "+" and shown(frozenset("wi")) == "+iw"


# -- on the wire ----------------------------------------------------------------------------
def test_mode_on_own_nick_echoes_and_221_reports(gateway, irc_clients):
    _chat, irc = gateway(guests=True)
    c = irc_clients(irc.address[1], "evan")
    c.send("MODE evan")
    assert parse(c.expect("221")).params == ["evan", "+"]
    c.send("MODE evan +i")
    echo = parse(c.expect("MODE"))
    assert echo.params == ["evan", "+i"] and echo.source.startswith("evan!")
    c.send("MODE evan +w")
    assert parse(c.expect("MODE")).params == ["evan", "+w"]
    c.send("MODE Evan")  # nicks are case-insensitive
    assert parse(c.expect("221")).params == ["evan", "+iw"]
    c.send("MODE evan -i")
    assert parse(c.expect("MODE")).params == ["evan", "-i"]
    c.send("MODE evan")
    assert parse(c.expect("221")).params == ["evan", "+w"]
    # Setting what is already set says nothing; the fence comes straight back.
    assert [_command(ln) for ln in _after(c, "MODE evan +w", "MODE")] == ["PONG"]


def test_unknown_flags_get_501_and_other_nicks_502(gateway, irc_clients):
    _chat, irc = gateway(guests=True)
    c = irc_clients(irc.address[1], "evan")
    irc_clients(irc.address[1], "other")
    got = _after(c, "MODE evan +iX", "MODE")
    assert [_command(ln) for ln in got] == ["501", "MODE"]
    assert parse(got[1]).params == ["evan", "+i"]
    c.send("MODE evan +X")
    c.expect("501")
    c.send("MODE other +i")
    c.expect("502")
    c.send("MODE other")
    c.expect("502")
    c.send("MODE nobody +i")
    c.expect("401")


def test_modes_are_per_session(gateway, irc_clients):
    _chat, irc = gateway(guests=True)
    a = irc_clients(irc.address[1], "alice")
    b = irc_clients(irc.address[1], "bob")
    a.send("MODE alice +i")
    a.expect("MODE")
    b.send("MODE bob")
    assert parse(b.expect("221")).params == ["bob", "+"]
    a.send("QUIT")
    a.wait_closed()
    again = irc_clients(irc.address[1], "alice")  # a new session starts with none
    again.send("MODE alice")
    assert parse(again.expect("221")).params == ["alice", "+"]


def test_who_by_mask_hides_an_invisible_user_from_outside_the_room(gateway, irc_clients):
    """The check of irctest's WhoInvisibleTestCase, with the one room."""
    _chat, irc = gateway(guests=True)
    evan = irc_clients(irc.address[1], "evan")
    evan.send("MODE evan +i")
    evan.expect("MODE")
    shiv = irc_clients(irc.address[1], "shivaram")
    for mask in ("eva*", "*", "0", "#netdesk"):
        assert "evan" not in _whos(_after(shiv, f"WHO {mask}", "315")), mask
    assert _whos(_after(shiv, "WHO evan", "315")) == ["evan"]  # a plain nick: always
    assert "evan" in _whos(_after(evan, "WHO eva*", "315"))  # oneself: always
    evan.send("JOIN #netdesk")
    evan.expect("366")
    # Only sharing the room shows them: shivaram outside it still does not see evan.
    assert "evan" not in _whos(_after(shiv, "WHO eva*", "315"))
    shiv.send("JOIN #netdesk")
    shiv.expect("366")
    for mask in ("eva*", "*", "#netdesk"):
        assert "evan" in _whos(_after(shiv, f"WHO {mask}", "315")), mask
    evan.send("MODE evan -i")
    evan.expect("MODE")
    shiv.send("PART #netdesk")
    shiv.expect("PART")
    assert "evan" in _whos(_after(shiv, "WHO eva*", "315"))


def test_chat_windows_and_visible_users_stay_listed(gateway, irc_clients, tmp_path):
    from net.chat.client import ChatConnection
    chat, irc = gateway(guests=True)
    w = ChatConnection(timeout=5)
    w.connect("127.0.0.1", chat.address[1])
    try:
        w.login("winnie", "pw-window")
        c = irc_clients(irc.address[1], "visible")
        wait_until(lambda: chat.member("winnie") is not None)
        assert {"winnie", "visible"} <= set(_whos(_after(c, "WHO *", "315")))
    finally:
        w.close()


def test_lusers_counts_invisible_users(gateway, irc_clients):
    _chat, irc = gateway(guests=True)
    a = irc_clients(irc.address[1], "alice")
    irc_clients(irc.address[1], "bob")
    assert "There are 2 users and 0 invisible" in _after(a, "LUSERS", "255")[0]
    a.send("MODE alice +i")
    a.expect("MODE")
    assert "There are 1 users and 1 invisible" in _after(a, "LUSERS", "255")[0]
