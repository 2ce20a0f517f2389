"""Conformance of the chat server to PROTOCOL.md, over real loopback sockets."""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import stat
import struct
import threading
import time

import pytest

from net.chat.client import CLIENT_MAX_PAYLOAD, ChatConnection, ChatError
from net.chat.framing import FrameReader, encode
from net.chat.server import ChatServer
from net.chat.writer import TRIM_EVERY
from tests.conftest import wait_until


@pytest.fixture
def server(make_server):
    return make_server()


class Client(ChatConnection):
    def __init__(self, server: ChatServer):
        super().__init__(timeout=10, tls=False)  # byte-level tests: plain frames
        self.hello_msg = self.connect(*server.address)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def expect(self, type_: str, timeout: float = 10) -> dict:
        msg = self.recv(timeout)
        assert msg is not None, f"closed while waiting for {type_}"
        assert msg["type"] == type_, msg
        return msg

    def expect_error(self, code: str) -> dict:
        msg = self.expect("error")
        assert msg["code"] == code, msg
        assert isinstance(msg.get("message"), str)
        return msg

    def expect_closed(self, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                msg = self.recv(deadline - time.monotonic())
            except ConnectionError:
                return
            if msg is None:
                return
        raise AssertionError("the server did not close the connection")


def logged_in(server, name, password="pw") -> Client:
    c = Client(server)
    c.welcome = c.login(name, password)
    return c


def raw(server) -> socket.socket:
    s = socket.create_connection(server.address, timeout=10)
    return s


def read_frames(sock: socket.socket, timeout=10) -> list[dict]:
    """Every frame until the server closes."""
    sock.settimeout(timeout)
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    frames = []
    while len(data) >= 4:
        (n,) = struct.unpack(">I", data[:4])
        frames.append(json.loads(data[4:4 + n]))
        data = data[4 + n:]
    return frames


# -- session -------------------------------------------------------------------------
def test_hello_then_registration_welcome(server):
    with Client(server) as c:
        assert c.hello_msg["proto"] == 1
        assert c.hello_msg["server"].startswith("netdesk")
        assert c.hello_msg["known_name"] is None
        w = c.login("Alice", "secret")
        assert w["name"] == "Alice" and w["new_account"] is True
        assert w["online"] == ["Alice"] and w["history"] == []
        assert isinstance(w["token"], str) and len(w["token"]) >= 32


def test_known_address_is_greeted_by_name(server):
    logged_in(server, "bob").close()
    with Client(server) as c:
        assert c.hello_msg["known_name"] == "bob"


def test_login_checks_the_password_and_allows_retry(server):
    logged_in(server, "carol", "right").close()
    with Client(server) as c:
        c.send({"type": "login", "name": "CAROL", "password": "wrong"})
        c.expect_error("bad_password")
        w = c.login("carol", "right")  # same connection, again
        assert w["name"] == "carol" and w["new_account"] is False


@pytest.mark.parametrize("name", ["", "a" * 33, "has space", "semi;colon", "ünï code!"])
def test_bad_names(server, name):
    with Client(server) as c:
        c.send({"type": "login", "name": name, "password": "pw"})
        c.expect_error("bad_name")
        assert c.login("fine.name-1_é", "pw")["name"] == "fine.name-1_é"


@pytest.mark.parametrize("msg", [
    {"type": "login", "name": 5, "password": "pw"},
    {"type": "login", "name": "x"},
    {"type": "login", "name": "x", "password": ""},
    {"type": "login", "name": "x", "password": "p" * 257},
    {"type": "resume", "token": 12},
])
def test_bad_login_requests(server, msg):
    with Client(server) as c:
        c.send(msg)
        c.expect_error("bad_request")
        c.send({"type": "ping"})
        c.expect("pong")


def test_name_in_use_regardless_of_case(server):
    with logged_in(server, "Dave"), Client(server) as c:
        c.send({"type": "login", "name": "dave", "password": "pw"})
        c.expect_error("name_in_use")


def test_five_failures_give_too_many_attempts_and_close(server):
    logged_in(server, "erin", "right").close()
    with Client(server) as c:
        for _ in range(4):
            c.send({"type": "login", "name": "erin", "password": "wrong"})
            c.expect_error("bad_password")
        c.send({"type": "login", "name": "erin", "password": "wrong"})
        c.expect_error("too_many_attempts")
        c.expect_closed()
    with Client(server) as c:  # even the right password waits out the minute
        c.send({"type": "login", "name": "erin", "password": "right"})
        c.expect_error("too_many_attempts")


def test_resume_with_token(server):
    c = logged_in(server, "frank")
    token = c.welcome["token"]
    c.close()  # a dropped connection: the token stays good
    wait_until(lambda: server.online_names() == [], message="frank to leave")
    with Client(server) as again:
        w = again.resume(token)
        assert w["name"] == "frank" and w["new_account"] is False
        with Client(server) as twin:
            twin.send({"type": "resume", "token": token})
            twin.expect_error("name_in_use")
            twin.send({"type": "resume", "token": "nonsense"})
            twin.expect_error("bad_token")


def test_logout_revokes_the_token(server):
    c = logged_in(server, "franz")
    token = c.welcome["token"]
    c.send({"type": "logout"})
    c.expect("bye")
    c.close()
    with Client(server) as again:
        again.send({"type": "resume", "token": token})
        again.expect_error("bad_token")


def test_expired_token_is_refused(make_server):
    server = make_server(token_ttl=0.2)
    c = logged_in(server, "gina")
    token = c.welcome["token"]
    c.close()
    wait_until(lambda: server.online_names() == [], 5)
    time.sleep(0.3)  # let the token's lifetime pass: the lifetime is what is tested
    with Client(server) as again:
        again.send({"type": "resume", "token": token})
        again.expect_error("bad_token")


def test_bad_tokens_count_as_failed_attempts_per_address(server):
    with Client(server) as c:
        for _ in range(4):
            c.send({"type": "resume", "token": "guess"})
            c.expect_error("bad_token")
        c.send({"type": "resume", "token": "guess"})
        c.expect_error("too_many_attempts")
        c.expect_closed()


def test_already_logged_in(server):
    with logged_in(server, "hank") as c:
        c.send({"type": "login", "name": "hank", "password": "pw"})
        c.expect_error("already_logged_in")
        c.send({"type": "resume", "token": c.welcome["token"]})
        c.expect_error("already_logged_in")


def test_not_logged_in(server):
    with Client(server) as c:
        c.send({"type": "say", "text": "hi"})
        c.expect_error("not_logged_in")
        c.send({"type": "history"})
        c.expect_error("not_logged_in")


@pytest.mark.parametrize("msg", [{"type": "dance"}, {"no": "type"}, {"type": 7},
                                 {"type": None}])
def test_unknown_type_keeps_the_connection(server, msg):
    with Client(server) as c:
        c.send(msg)
        c.expect_error("unknown_type")
        c.send({"type": "ping", "extra": "fields are ignored"})
        c.expect("pong")


# -- messages ----------------------------------------------------------------------
def test_say_reaches_everyone_with_ids_and_join_leave(server):
    a = logged_in(server, "ann")
    b = logged_in(server, "ben")
    assert a.expect("joined")["name"] == "ben"
    assert sorted(b.welcome["online"]) == ["ann", "ben"]
    a.send({"type": "say", "text": "hello ✓"})
    ma, mb = a.expect("message"), b.expect("message")
    assert ma == mb
    assert ma["from"] == "ann" and ma["text"] == "hello ✓" and "to" not in ma
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)", ma["ts"])
    b.send({"type": "say", "text": "second"})
    assert a.expect("message")["id"] > ma["id"]
    b.close()
    assert a.expect("left")["name"] == "ben"
    a.close()


@pytest.mark.parametrize("text,code", [("", "bad_text"), ("x" * 4001, "bad_text"),
                                       (5, "bad_request"), (None, "bad_request")])
def test_bad_say(server, text, code):
    with logged_in(server, "ivy") as c:
        c.send({"type": "say", "text": text})
        c.expect_error(code)
        c.send({"type": "say", "text": "y" * 4000})
        assert len(c.expect("message")["text"]) == 4000


def test_private_message(server):
    a, b, c = (logged_in(server, n) for n in ("pa", "pb", "pc"))
    a.send({"type": "say", "text": "psst", "to": "PB"})
    got_a, got_b = a.recv_until("message"), b.recv_until("message")
    assert got_a == got_b and got_a["to"] == "pb"
    a.send({"type": "say", "text": "public"})
    while (m := c.recv())["type"] != "message":
        pass
    assert m["text"] == "public" and m["id"] == got_a["id"] + 1  # same id sequence
    a.send({"type": "say", "text": "x", "to": "nobody"})
    while (m := a.recv())["type"] != "error":
        pass
    assert m["code"] == "no_such_user"
    # v1.1: a private message is in the history of its two participants only.
    for x, seen in ((a, ["psst", "public"]), (b, ["psst", "public"]), (c, ["public"])):
        x.send({"type": "history"})
        assert [m["text"] for m in x.recv_until("history")["messages"]] == seen
    with logged_in(server, "pd") as d:
        assert [m["text"] for m in d.welcome["history"]] == ["public"]
    for x in (a, b, c):
        x.close()


def test_history_paging(make_server):
    server = make_server(say_burst=10_000, say_rate=10_000)
    count = 600  # past the cap of 500 on one page
    with logged_in(server, "hist") as c:
        for i in range(count):
            c.send({"type": "say", "text": f"m{i}"})
        ids = [c.expect("message")["id"] for _ in range(count)]
        c.send({"type": "history"})
        page = c.recv_until("history")["messages"]
        assert [m["text"] for m in page] == [f"m{i}" for i in range(count - 50, count)]
        c.send({"type": "history", "before": ids[10], "limit": 5})
        assert [m["id"] for m in c.recv_until("history")["messages"]] == ids[5:10]
        c.send({"type": "history", "limit": 10_000})
        page = c.recv_until("history")["messages"]
        assert [m["id"] for m in page] == ids[-500:]  # capped at 500, the newest
        for bad in ({"limit": "5"}, {"before": "x"}, {"limit": 0}, {"before": True}):
            c.send({"type": "history", **bad})
            c.expect_error("bad_request")
    with logged_in(server, "late") as late:  # a late joiner sees the last 100
        assert [m["text"] for m in late.welcome["history"]] == [
            f"m{i}" for i in range(count - 100, count)]


def test_flood_limit(make_server):
    server = make_server(say_burst=5, say_rate=0.001)
    with logged_in(server, "loud") as c:
        for i in range(7):
            c.send({"type": "say", "text": f"{i}"})
        replies = [c.recv() for _ in range(7)]
        assert [r["type"] for r in replies].count("message") == 5
        assert [r.get("code") for r in replies if r["type"] == "error"] == ["rate_limited"] * 2
        c.send({"type": "history"})
        assert len(c.recv_until("history")["messages"]) == 5  # nothing stored


def test_ping_pong_and_idle_close(make_server):
    server = make_server(ping_after=0.3, idle_close=0.8)
    with Client(server) as c:
        c.send({"type": "ping"})
        c.expect("pong")
        assert c.expect("ping", timeout=5)["type"] == "ping"  # we stay silent
        c.expect_closed(5)
    with Client(server) as d:  # one that answers pings stays
        for _ in range(3):
            d.expect("ping", timeout=5)
            d.send({"type": "pong"})
        d.send({"type": "ping"})
        d.expect("pong")


def test_logout(server):
    with logged_in(server, "leaver") as c:
        c.send({"type": "logout"})
        c.expect("bye")
        c.expect_closed()


def test_shutdown_says_bye_to_everyone(make_server):
    server = make_server()
    a = logged_in(server, "s1")
    b = Client(server)  # connected, not logged in
    server.stop()
    assert a.recv_until("bye")["reason"] == "shutdown"
    assert b.recv_until("bye")["reason"] == "shutdown"
    a.close()
    b.close()


def test_kick(server):
    with logged_in(server, "victim") as a:
        assert server.kick("VICTIM")
        assert a.recv_until("bye")["reason"] == "kicked"
        a.expect_closed()
    assert not server.kick("nobody")


# -- malformed frames end only that connection ------------------------------------------
BAD_FRAMES = {
    "huge length": struct.pack(">I", 10_000_000),
    "zero length": struct.pack(">I", 0),
    "bad utf-8": struct.pack(">I", 4) + b"\xff\xfe\xfd\xfc",
    "bad json": struct.pack(">I", 5) + b"{nope",
    "not an object": struct.pack(">I", 7) + b"[1,2,3]",
    "NaN is not JSON": struct.pack(">I", 3) + b"NaN",
}


@pytest.mark.parametrize("frame", BAD_FRAMES.values(), ids=BAD_FRAMES.keys())
def test_malformed_frames_end_only_that_connection(server, frame):
    with logged_in(server, "bystander") as good:
        s = raw(server)
        s.sendall(frame)
        frames = read_frames(s)
        s.close()
        assert frames[0]["type"] == "hello"
        assert frames[-1] == {**frames[-1], "type": "error", "code": "bad_frame"}
        good.send({"type": "say", "text": "still fine"})
        assert good.recv_until("message")["text"] == "still fine"


def test_half_a_frame_then_disconnect(server):
    with logged_in(server, "calm") as good:
        s = raw(server)
        s.sendall(struct.pack(">I", 100) + b'{"type": "sa')
        s.close()
        with logged_in(server, "next") as n:
            assert "next" in n.welcome["online"]
        good.send({"type": "say", "text": "ok"})
        assert good.recv_until("message")["text"] == "ok"


def test_frame_over_the_configured_limit(make_server):
    server = make_server(max_payload=100)
    with Client(server) as c:
        c.send({"type": "say", "text": "x" * 200})
        c.expect_error("bad_frame")
        c.expect_closed()


def ascii_frame(obj: dict) -> bytes:
    """A frame whose JSON escapes every non-ASCII character, lone surrogates
    included ("\\udc80"): what a client's UTF-8 encoder could never send."""
    payload = json.dumps(obj).encode("ascii")
    return struct.pack(">I", len(payload)) + payload


@pytest.mark.parametrize("field", ["text", "to"])
def test_a_lone_surrogate_in_a_say_is_a_bad_request(server, field):
    with logged_in(server, "surr") as c, logged_in(server, "other") as other:
        assert c.expect("joined")["name"] == "other"
        say = {"type": "say", "text": "fine", "to": "other", field: "a\udc80b"}
        c.sock.sendall(ascii_frame(say))
        c.expect_error("bad_request")
        c.send({"type": "ping"})  # the connection stays usable
        c.expect("pong")
        c.send({"type": "say", "text": "after"})
        assert c.expect("message")["text"] == "after"
        assert other.expect("message")["text"] == "after"  # nothing reached anyone before
        c.send({"type": "history"})
        assert [m["text"] for m in c.expect("history")["messages"]] == ["after"]


def test_a_lone_surrogate_in_a_login_is_a_bad_request(server):
    with Client(server) as c:
        c.sock.sendall(ascii_frame({"type": "login", "name": "\ud800", "password": "x"}))
        c.expect_error("bad_request")
        assert c.login("unpaired", "pw")["name"] == "unpaired"


# -- slow clients ------------------------------------------------------------------
def slow_reader(server: ChatServer, name: str) -> tuple[socket.socket, FrameReader]:
    """A client logged in with a tiny receive buffer, read up to its welcome."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect, to count
    sock.settimeout(10)
    try:
        sock.connect(server.address)
        reader = FrameReader(sock, CLIENT_MAX_PAYLOAD)
        assert reader.read(10)["type"] == "hello"
        sock.sendall(encode({"type": "login", "name": name, "password": "pw"}))
        assert reader.read(10)["type"] == "welcome"
    except BaseException:
        sock.close()
        raise
    return sock, reader


def backlog_of(server: ChatServer, name: str) -> int:
    """Bytes the server has queued for ``name`` (0 when not online)."""
    peer = server.member(name)
    if peer is None:
        return 0
    with peer.lock:
        return len(peer.backlog)


def test_a_stalled_client_is_dropped_after_the_stall_timeout(make_server, caplog):
    stall = 0.5
    # A budget far above what this test queues: only the stall path can drop "stuck".
    server = make_server(stall_timeout=stall, backlog_limit=64 << 20,
                         say_burst=100_000, say_rate=100_000)
    stuck, _ = slow_reader(server, "stuck")  # logged in, and never reads again
    with stuck, logged_in(server, "sender") as sender, logged_in(server, "reader") as reader:
        text = "z" * 4000

        def one_round() -> float:
            """One say through the server; how long the reader waited for it."""
            t = time.monotonic()
            sender.send({"type": "say", "text": text})
            assert reader.recv_until("message")["text"] == text
            sender.recv_until("message")
            return time.monotonic() - t

        deadline = time.monotonic() + 20
        while backlog_of(server, "stuck") == 0:  # until the kernel buffers are full
            assert time.monotonic() < deadline, "no backlog ever formed for stuck"
            one_round()
        queued_at = time.monotonic()
        while "stuck" in server.online_names():  # the others are served meanwhile
            assert one_round() < 1.0
            assert time.monotonic() - queued_at < stall + 2.5, "stuck was not dropped in time"
        assert one_round() < 1.0
        assert f"writes stalled for {stall:g} s" in caplog.text
        assert "unsent output passed" not in caplog.text
        wait_until(lambda: backlog_of(server, "stuck") == 0 and len(server.clients()) == 2, 5,
                   message="the stalled connection to be gone")


def test_queued_output_is_delivered_whole_and_in_order_once_the_client_reads(make_server):
    server = make_server(backlog_limit=64 << 20, stall_timeout=30,
                         say_burst=100_000, say_rate=100_000)
    slow, slow_in = slow_reader(server, "slow")
    with slow, logged_in(server, "talker") as talker:
        # The server's socket may buffer megabytes in the kernel (send buffer
        # autotuning), and the flusher is woken when much of that is free: so
        # queue twice that, or the queue would leave in one send, never in parts.
        peer = server.member("slow")
        sent: list[int] = []
        while backlog_of(server, "slow") < 2 * peer.sock.getsockopt(socket.SOL_SOCKET,
                                                                     socket.SO_SNDBUF):
            assert len(sent) < 5000, "the backlog for slow stayed small after 20 MB"
            for _ in range(50):
                talker.send({"type": "say", "text": f"{len(sent):05d}" + "q" * 3995})
                sent.append(talker.recv_until("message")["id"])
        count = len(sent)
        got = []
        while len(got) < count:
            m = slow_in.read(10)
            assert m is not None, f"closed after {len(got)} messages"
            if m["type"] == "message":
                got.append(m)
        assert [m["id"] for m in got] == sent
        assert [m["text"][:5] for m in got] == [f"{i:05d}" for i in range(count)]
        assert all(len(m["text"]) == 4000 for m in got)
        wait_until(lambda: backlog_of(server, "slow") == 0, 5, message="the queue to empty")
        talker.send({"type": "say", "text": "still here"})
        assert slow_in.read(10)["text"] == "still here"


# -- ordering ------------------------------------------------------------------------
def test_every_client_receives_the_same_order(make_server):
    server = make_server(say_burst=10_000)
    clients = [logged_in(server, f"o{i}") for i in range(6)]
    for c in clients:  # drain the joins
        c.sock.settimeout(None)
    per_sender = 40

    def blast(c):
        for i in range(per_sender):
            c.send({"type": "say", "text": f"{c.welcome['name']}:{i}"})

    threads = [threading.Thread(target=blast, args=(c,)) for c in clients[:3]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    seqs = []
    for c in clients:
        ids = []
        while len(ids) < 3 * per_sender:
            m = c.recv(10)
            if m["type"] == "message":
                ids.append((m["id"], m["text"]))
        seqs.append(ids)
    assert all(s == seqs[0] for s in seqs)
    ids = [i for i, _ in seqs[0]]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    for c in clients:
        c.close()


# -- persistence, identification file ------------------------------------------------------
def test_restart_keeps_accounts_and_history(tmp_path):
    s1 = ChatServer(tmp_path, "127.0.0.1", 0)
    s1.start()
    with logged_in(s1, "persist", "pw1") as c:
        c.send({"type": "say", "text": "remember me"})
        first = c.recv_until("message")["id"]
    s1.stop()
    s2 = ChatServer(tmp_path, "127.0.0.1", 0)
    s2.start()
    try:
        with Client(s2) as c:
            assert c.hello_msg["known_name"] == "persist"
            with pytest.raises(ChatError) as e:
                c.login("persist", "other")
            assert e.value.code == "bad_password"
            w = c.login("persist", "pw1")
            assert w["new_account"] is False
            assert [m["text"] for m in w["history"]] == ["remember me"]
            c.send({"type": "say", "text": "again"})
            assert c.recv_until("message")["id"] == first + 1
    finally:
        s2.stop()


def stored_ids(data_dir) -> list[int]:
    """The ids in the history file, read beside the running server (WAL allows it)."""
    db = sqlite3.connect(f"file:{data_dir / 'history.db'}?mode=ro", uri=True)
    try:
        return [i for (i,) in db.execute("SELECT id FROM messages ORDER BY id")]
    finally:
        db.close()


def test_retention_trims_the_file_and_ids_go_on_after_a_restart(make_server, tmp_path):
    retention = 10
    server = make_server(retention=retention)
    with logged_in(server, "keeper") as c:
        ids = []
        for i in range(TRIM_EVERY):  # one batch each: the writer trims after the last
            c.send({"type": "say", "text": f"r{i}"})
            ids.append(c.expect("message")["id"])
        assert ids == sorted(ids)
        wait_until(lambda: len(stored_ids(tmp_path)) <= retention, 5,
                   message=f"the history to be trimmed to {retention}")
        assert stored_ids(tmp_path) == ids[-retention:]
        c.send({"type": "history", "limit": 100})
        assert [m["id"] for m in c.expect("history")["messages"]] == ids[-retention:]
    server.stop()
    again = make_server(retention=retention)
    with logged_in(again, "keeper") as c:
        assert [m["id"] for m in c.welcome["history"]] == ids[-retention:]
        c.send({"type": "say", "text": "after the restart"})
        assert c.expect("message")["id"] == ids[-1] + 1
    assert stored_ids(tmp_path) == [*ids[-retention:], ids[-1] + 1]


def test_clear_users_lets_a_known_name_register_anew(server):
    logged_in(server, "oldname", "old").close()
    wait_until(lambda: server.online_names() == [], 5)
    assert server.clear_users() == 1
    with Client(server) as c:
        assert c.hello_msg["known_name"] is None
        w = c.login("oldname", "new")
        assert w["new_account"] is True


def test_passwords_and_tokens_never_stored_or_logged_in_clear(tmp_path, caplog):
    import logging
    caplog.set_level(logging.DEBUG, logger="netdesk")
    server = ChatServer(tmp_path, "127.0.0.1", 0)
    server.start()
    password = "Sup3r-Secret-Passw0rd"
    try:
        c = logged_in(server, "private", password)
        token = c.welcome["token"]
        c.close()
        with Client(server) as d:
            d.send({"type": "login", "name": "private", "password": password + "x"})
            d.expect_error("bad_password")
    finally:
        server.stop()
    for path in tmp_path.iterdir():
        blob = path.read_bytes()
        assert password.encode() not in blob, path
        assert token.encode() not in blob, path
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
    assert password not in caplog.text and token not in caplog.text
    assert "failed login for 'private'" in caplog.text
    assert b"$argon2id$" in (tmp_path / "users.db").read_bytes()


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_stop_leaves_no_thread_socket_or_file_behind(tmp_path, settle_threads):
    def fds() -> set[str]:
        return {os.readlink(f"/proc/self/fd/{n}") for n in os.listdir("/proc/self/fd")
                if os.path.exists(f"/proc/self/fd/{n}")}

    before = fds()
    server = ChatServer(tmp_path, "127.0.0.1", 0)
    server.start()
    clients = [logged_in(server, f"fd{i}") for i in range(3)]
    clients[0].send({"type": "say", "text": "x"})
    clients[0].recv_until("message")
    server.stop()
    for c in clients:
        c.recv_until("bye")
        c.close()
    settle_threads()
    left = fds() - before
    assert not [f for f in left if "socket" in f or f.endswith(".db") or ".db-" in f], left
