"""The IRC gateway (issue 14): real sockets on loopback, real SQLite, no mocks.

An IRC client here is a socket and a line reader; a netdesk window is the
chat protocol's ``ChatConnection``. Both talk to one ``ChatServer`` with its
``IrcServer`` beside it, as ``netdesk serve`` runs them.
"""

from __future__ import annotations

import base64
import socket
import subprocess
import threading
import time

import pytest

from net.chat.client import ChatConnection
from net.chat.server import ChatServer
from net.cli.console_words import execute
from net.control.controller import ServerConfig, ServerController
from net.irc.lines import LineSplitter, LineTooLong, line, parse, split_text
from net.irc.server import IrcServer
from tests.conftest import chat_options, netdesk_cmd, reap, run_env, start_serve, wait_until
from tests.ircclient import Irc, said


@pytest.fixture
def clients():
    opened = []

    def irc(port: int) -> Irc:
        c = Irc(port)
        opened.append(c)
        return c

    def window(chat: ChatServer, name: str, password: str = "pw-window") -> ChatConnection:
        c = ChatConnection(timeout=5)
        c.connect("127.0.0.1", chat.address[1])
        c.login(name, password)
        opened.append(c)
        return c

    yield irc, window
    for c in opened:
        c.close()


# -- lines ------------------------------------------------------------------------------
def test_parse_reads_tags_source_params_and_trailing():
    m = parse(r"@time=2026-01-01T00:00:00Z;msgid=a\sb :nick!u@h PRIVMSG #netdesk :hi there")
    assert m.command == "PRIVMSG" and m.source == "nick!u@h"
    assert m.params == ["#netdesk", "hi there"]
    assert m.tags == {"time": "2026-01-01T00:00:00Z", "msgid": "a b"}
    assert parse("") is None and parse("   ") is None
    assert parse("ping x").command == "PING"


def test_line_never_carries_a_line_break_and_stays_within_512_bytes():
    data = line("PRIVMSG", "#netdesk", "a\r\nQUIT\0" + "é" * 600, source="x!y@z")
    assert data.endswith(b"\r\n") and data.count(b"\r\n") == 1 and b"\0" not in data
    assert len(data) <= 512
    data.decode("utf-8")  # cut on a character boundary


def test_split_text_cuts_lines_and_long_text_on_characters():
    assert split_text("one\n\ntwo", 100) == ["one", "two"]
    pieces = split_text("ж" * 100, 51)
    assert all(len(p.encode()) <= 51 for p in pieces) and "".join(pieces) == "ж" * 100


def test_splitter_skips_an_over_long_line_and_reads_the_next():
    s = LineSplitter()
    out = s.feed(b"x" * 600 + b"\r\nPING a\r\n")
    assert isinstance(out[0], LineTooLong) and out[1] == b"PING a"
    out = s.feed(b"y" * 20000)
    assert len(out) == 1 and isinstance(out[0], LineTooLong)
    assert s.feed(b"yyy\r\nPING b\r\n") == [b"PING b"]


# -- registration --------------------------------------------------------------------
def test_pass_registers_a_new_account_that_the_chat_port_then_knows(gateway, clients):
    chat, irc = gateway()
    new_irc, window = clients
    c = new_irc(irc.address[1])
    welcome = c.register("alice", "s3cret")
    assert parse(welcome).params[0] == "alice"
    c.expect(lambda ln: " 005 " in ln and "UTF8ONLY" in ln and "CHANTYPES=#" in ln)
    c.expect("422")
    c.send("QUIT")
    c.wait_closed()
    wait_until(lambda: chat.member("alice") is None)
    window(chat, "alice", "s3cret")  # the same account: the password holds (else it raises)


def test_wrong_password_and_no_password_are_refused(gateway, clients):
    chat, irc = gateway()
    new_irc, window = clients
    window(chat, "bob", "right-one").close()
    wait_until(lambda: chat.member("bob") is None)
    c = new_irc(irc.address[1])
    c.send("PASS wrong-one")
    c.send("NICK bob")
    c.send("USER u 0 * :x")
    c.expect("464")
    c.expect("ERROR")
    c.wait_closed()
    d = new_irc(irc.address[1])
    d.send("NICK carol")
    d.send("USER u 0 * :x")
    assert "PASS" in d.expect("464")
    d.wait_closed()


def test_sasl_plain_logs_in(gateway, clients):
    chat, irc = gateway()
    new_irc, _ = clients
    c = new_irc(irc.address[1])
    c.send("CAP LS 302")
    assert "sasl=PLAIN" in c.expect("CAP")
    c.send("CAP REQ :sasl")
    c.expect(lambda ln: "ACK" in ln)
    c.send("AUTHENTICATE PLAIN")
    c.expect("AUTHENTICATE")
    c.send("AUTHENTICATE " + base64.b64encode(b"dave\0dave\0pw-dave").decode())
    c.expect("903")
    c.send("NICK dave")
    c.send("USER u 0 * :x")
    c.send("CAP END")
    c.expect("001")
    assert chat.member("dave").via == "irc"


def test_guests_take_free_names_only(gateway, clients):
    chat, irc = gateway(guests=True)
    new_irc, window = clients
    window(chat, "erin")
    c = new_irc(irc.address[1])
    c.send("NICK erin")
    c.send("USER u 0 * :x")
    c.expect("433")  # online, and an account too
    c.send("NICK frank")
    c.expect("001")


# -- one room ------------------------------------------------------------------------------
def test_irc_and_window_share_one_room_in_one_order(gateway, clients):
    chat, irc = gateway()
    new_irc, window = clients
    w = window(chat, "win")
    c = new_irc(irc.address[1])
    c.register("ircer", "pw", caps="server-time message-tags echo-message")
    quiet = new_irc(irc.address[1])
    quiet.register("quiet", "pw")
    for client in (c, quiet):
        client.send("JOIN #netdesk")
        client.expect("JOIN")
        names = client.expect("353")
        assert "win" in names and "ircer" in names
        client.expect("366")
    texts = [f"line {i} from {'the window' if i % 2 else 'irc'}" for i in range(20)]
    for text in texts:  # both ports at once: the server picks one order
        if "window" in text:
            w.send({"type": "say", "text": text})
        else:
            c.send(f"PRIVMSG #netdesk :{text}")
    by_window = {}
    while len(by_window) < len(texts):
        try:
            msg = w.recv(5)
        except TimeoutError:
            raise AssertionError(f"the window got only {sorted(by_window)}") from None
        if msg and msg.get("type") == "message":
            by_window[msg["text"]] = msg
    window_order = sorted(texts, key=lambda t: by_window[t]["id"])
    irc_lines = [c.expect(lambda ln: "PRIVMSG #netdesk" in ln) for _ in texts]
    assert [parse(ln).params[1] for ln in irc_lines] == window_order
    first = irc_lines[0]
    assert f"msgid={by_window[window_order[0]]['id']}" in first and "time=" in first
    assert by_window["line 0 from irc"]["from"] == "ircer"
    # Without echo-message a sender does not get its own line back; others do.
    quiet.send("PRIVMSG #netdesk :my own")
    said(w, "my own")
    quiet.send("PING sync")
    quiet.expect("PONG")
    assert not any("my own" in ln for ln in quiet.lines)
    assert c.expect(lambda ln: ln.endswith(":my own")).split(" ")[1].startswith(":quiet!")


def test_join_replays_history_with_server_time_or_as_notices(gateway, clients):
    chat, irc = gateway()
    new_irc, window = clients
    w = window(chat, "old")
    for i in range(60):
        w.send({"type": "say", "text": f"line {i}"})
    said(w, "line 59")
    tagged = new_irc(irc.address[1])
    tagged.register("tagged", "pw", caps="server-time")
    tagged.send("JOIN #netdesk")
    first = tagged.expect(lambda ln: "PRIVMSG #netdesk" in ln)
    assert first.startswith("@time=") and first.endswith(":line 10")  # the last 50
    tagged.expect(lambda ln: ln.endswith(":line 59"))
    plain = new_irc(irc.address[1])
    plain.register("plain", "pw")
    plain.send("JOIN #netdesk")
    note = plain.expect(lambda ln: "NOTICE #netdesk" in ln)
    assert note.startswith(":old!") and note.endswith("line 10") and "UTC]" in note


def test_private_messages_both_ways_and_other_channels_403(gateway, clients):
    chat, irc = gateway()
    new_irc, window = clients
    w = window(chat, "win")
    c = new_irc(irc.address[1])
    c.register("ircer", "pw")
    c.send("PRIVMSG win :psst")
    msg = said(w, "psst")
    assert msg["to"] == "win" and msg["from"] == "ircer"
    w.send({"type": "say", "text": "hush", "to": "ircer"})
    assert c.expect(lambda ln: "hush" in ln).startswith(":win!chat@netdesk PRIVMSG ircer")
    c.send("JOIN #other")
    c.expect("403")
    c.send("PRIVMSG nobody :x")
    c.expect("401")
    c.send("PRIVMSG #netdesk :not joined")
    c.expect("404")


def test_window_sees_irc_users_come_and_go_and_irc_sees_windows(gateway, clients):
    chat, irc = gateway()
    new_irc, window = clients
    c = new_irc(irc.address[1])
    c.register("ircer", "pw")
    c.send("JOIN #netdesk")
    c.expect("366")
    w = window(chat, "win")
    assert c.expect("JOIN").startswith(":win!chat@netdesk")
    c.send("WHOIS win")
    c.expect("311")
    c.expect("318")
    c.send("QUIT :bye")
    c.wait_closed()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            msg = w.recv(1)
        except TimeoutError:
            continue
        if msg and msg.get("type") == "left" and msg["name"] == "ircer":
            break
    else:
        raise AssertionError("the window never heard that ircer left")


# -- budgets and bad input -------------------------------------------------------------
def test_bad_lines_get_errors_and_the_connection_goes_on(gateway, clients):
    chat, irc = gateway()
    new_irc, _ = clients
    c = new_irc(irc.address[1])
    c.register("tough", "pw")
    c.send(b"PRIVMSG tough :\xff\xfe")
    assert "INVALID_UTF8" in c.expect("FAIL")
    c.send("PRIVMSG tough :" + "x" * 600)
    c.expect("417")
    c.send("NOSUCHCOMMAND")
    c.expect("421")
    c.send("PING still-here")
    assert c.expect("PONG").endswith("still-here")


def test_registration_deadline_closes(gateway, clients):
    chat, irc = gateway(login_deadline=0.5)
    new_irc, _ = clients
    c = new_irc(irc.address[1])
    c.send("NICK slow")
    assert "register within" in c.expect("ERROR", timeout=5)
    c.wait_closed()


def test_idle_client_is_pinged_then_closed(gateway, clients):
    chat, irc = gateway(ping_after=0.3, idle_close=0.8)
    new_irc, _ = clients
    c = new_irc(irc.address[1])
    c.register("sleepy", "pw")
    c.expect("PING", timeout=5)
    assert "Ping timeout" in c.expect("ERROR", timeout=5)
    c.wait_closed()


def test_say_rate_is_the_accounts_across_both_ports(gateway, clients):
    chat, irc = gateway(say_burst=3, say_rate=0.01)
    new_irc, window = clients
    w = window(chat, "speaker")
    for i in range(3):
        w.send({"type": "say", "text": f"w{i}"})
    said(w, "w2")
    w.close()
    wait_until(lambda: chat.member("speaker") is None)
    c = new_irc(irc.address[1])
    c.register("speaker", "pw-window")
    c.send("JOIN #netdesk")
    c.send("PRIVMSG #netdesk :one too many")
    assert "RATE_LIMITED" in c.expect("FAIL")


def test_failed_logins_count_across_both_ports(gateway, clients):
    chat, irc = gateway(max_failures=3)
    new_irc, window = clients
    window(chat, "target", "the-password").close()
    wait_until(lambda: chat.member("target") is None)
    for _ in range(2):
        bad = ChatConnection(timeout=5)
        bad.connect("127.0.0.1", chat.address[1])
        with pytest.raises(Exception):
            bad.login("target", "wrong")
        bad.close()
    c = new_irc(irc.address[1])
    c.send("PASS wrong")
    c.send("NICK target")
    c.send("USER u 0 * :x")
    assert "too many" in c.expect("464")


def test_connections_per_address_count_across_both_ports(gateway, clients):
    chat, irc = gateway(per_address_connections=2, trusted=())
    new_irc, _ = clients
    held = [socket.create_connection(chat.address) for _ in range(2)]
    try:
        wait_until(lambda: chat.listener.connection_count() == 2)
        c = new_irc(irc.address[1])
        assert "too many connections" in c.expect("ERROR")
        c.wait_closed()
    finally:
        for s in held:
            s.close()


def test_a_client_that_stops_reading_is_cut_off_alone(gateway, clients):
    chat, irc = gateway(backlog_limit=65536, stall_timeout=1.0, say_burst=20_000)
    new_irc, _ = clients
    stuck = new_irc(irc.address[1])
    stuck.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.register("stuck", "pw")
    stuck.send("JOIN #netdesk")
    loud, ok = new_irc(irc.address[1]), new_irc(irc.address[1])
    for c, nick in ((loud, "loud"), (ok, "okay")):
        c.register(nick, "pw")
        c.send("JOIN #netdesk")
        c.expect("366")
    last = 9999
    body = "y" * 440
    loud.sock.sendall(b"".join(f"PRIVMSG #netdesk :{i} {body}\r\n".encode()
                               for i in range(last + 1)))
    ok.expect(lambda ln: f":{last} yy" in ln, timeout=60)
    wait_until(lambda: chat.member("stuck") is None, 15, message="the stuck client cut off")
    assert chat.member("okay") is not None and chat.member("loud") is not None


# -- the operator ---------------------------------------------------------------------------
def test_controller_lists_and_kicks_irc_sessions(tmp_path, clients):
    new_irc, _ = clients
    controller = ServerController(tmp_path, ServerConfig(host="127.0.0.1", echo_port=0,
                                                         chat_port=0, irc_port=0))
    started = controller.start()
    try:
        port = next(p for service, _, p in started if service == "irc")
        c = new_irc(port)
        c.register("kickme", "pw")
        rows = controller.clients()
        assert [r["via"] for r in rows if r["name"] == "kickme"] == ["irc"]
        assert "irc" in execute(controller, "clients").text
        # The TLS share counts IRC sessions too (this one is plain).
        status = controller.status()
        assert (status.tls_connections, status.chat_connections) == (0, 1)
        assert "TLS: 0 of 1 chat connection;" in execute(controller, "tls").text
        assert execute(controller, "kick kickme").text == "kickme disconnected"
        assert "kicked" in c.expect("ERROR")
        c.wait_closed()
        wait_until(lambda: not controller.clients())
    finally:
        controller.shutdown()


def test_stop_leaves_no_thread_behind(tmp_path, settle_threads):
    chat = ChatServer(tmp_path, "127.0.0.1", 0, chat_options())
    chat.start()
    irc = IrcServer(chat, "127.0.0.1", 0)
    irc.start()
    a = Irc(irc.address[1])
    a.register("leaver", "pw")
    b = Irc(irc.address[1])  # never registers
    b.send("NICK half")
    irc.stop()
    chat.stop()
    a.expect("ERROR")
    a.close()
    b.close()
    settle_threads()
    assert not [t for t in threading.enumerate() if t.name.startswith("irc")]


# -- netdesk serve ---------------------------------------------------------------------------
def test_serve_prints_the_irc_port_and_no_irc_turns_it_off(tmp_path, clients):
    new_irc, _ = clients
    proc, services = start_serve(tmp_path / "on")
    try:
        c = new_irc(services["irc"][1])  # "irc listening on H:P" names a live IRC port
        c.register("fromcli", "pw")
        proc.stdin.write("clients\nshutdown\n")
        proc.stdin.flush()
        out, _err = proc.communicate(timeout=30)
        assert "fromcli" in out and " irc " in out
    finally:
        reap(proc)
    off = subprocess.run(
        netdesk_cmd("--data-dir", str(tmp_path / "off"), "serve", "--host", "127.0.0.1",
                    "--echo-port", "0", "--chat-port", "0", "--no-irc"),
        input="shutdown\n", capture_output=True, text=True, env=run_env(), timeout=30)
    assert off.returncode == 0, off.stderr
    assert "chat listening on" in off.stdout and "irc listening" not in off.stdout


def test_chat_peers_and_irc_sessions_both_fill_the_member_protocol(gateway, clients):
    """The hub, the writer and the IRC room treat members of both front ends
    alike through ``Member``: each must have all it declares."""
    from net.chat.member import Caller, Member
    declared = [*Caller.__annotations__, *Member.__annotations__, "deliver", "kick"]
    chat, irc = gateway()
    new_irc, window = clients
    w = window(chat, "winnie")
    c = new_irc(irc.address[1])
    c.register("ircy", "pw")
    wait_until(lambda: chat.member("ircy") is not None)
    try:
        for name in ("winnie", "ircy"):
            member = chat.member(name)
            missing = [a for a in declared if not hasattr(member, a)]
            assert not missing, (name, missing)
        assert chat.member("winnie").in_room and chat.member("winnie").away is None
        assert not chat.member("ircy").in_room  # until it joins the channel
    finally:
        w.close()
        c.send("QUIT")
        c.wait_closed()
