"""The chat server against hostile clients: one test per attack of issue 9.

Real sockets on loopback. Loopback is trusted by default, so the budgets
that exempt trusted networks are tested with ``trusted=()`` and clients
bound to their own loopback addresses (127.0.0.2, 127.0.0.3, ...), which
the server sees as different addresses; ``test_chat_netns.py`` checks the
defaults from a real non-loopback address.
"""

from __future__ import annotations

import json
import logging
import socket
import sqlite3
import struct
import threading
import time

import pytest

from net import datadir
from net.budgets import Budgets
from net.chat.client import ChatConnection, ChatError
from net.chat.framing import encode
from net.chat.hashing import HashQueue
from net.chat.server import ChatServer
from net.cli.console_words import execute
from net.control.controller import ServerConfig, ServerController
from tests.conftest import wait_until

UNTRUSTED = dict(trusted=())


class Client(ChatConnection):
    def __init__(self, server: ChatServer, source: str | None = None):
        super().__init__(timeout=10, tls=False)  # some tests write raw frames
        self.hello_msg = self.connect(*server.address, source=source)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def next_of(self, *types: str, timeout: float = 10) -> dict:
        return self.recv_until(*types, timeout=timeout)

    def message_with(self, text: str, timeout: float = 10) -> dict:
        """The next message whose text is ``text`` (others are passed over)."""
        deadline = time.monotonic() + timeout
        while True:
            m = self.next_of("message", timeout=max(0.01, deadline - time.monotonic()))
            if m["text"] == text:
                return m

    def error_code(self) -> str:
        return self.next_of("error")["code"]

    def closed_by_server(self, timeout: float = 10) -> bool:
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if self.recv(deadline - time.monotonic()) is None:
                    return True
        except (ConnectionError, TimeoutError):
            return True
        return False


def login(server, name, password="pw", source=None) -> Client:
    c = Client(server, source)
    c.welcome = c.login(name, password)
    return c


# -- 1. invalid input leaves nothing behind ---------------------------------------------
def test_login_floods_with_new_invalid_names_keep_no_limiter_state(make_server):
    server = make_server(**UNTRUSTED)
    with Client(server, "127.0.0.2") as c:
        for i in range(300):
            c.send({"type": "login", "name": f"{i}" + "x" * 60_000, "password": "pw"})
            assert c.error_code() == "bad_name"
        # Valid but unknown names register (and that is budgeted); they leave
        # no failure counters either.
        c.send({"type": "ping"})
        c.next_of("pong")
    assert len(server.admissions.failures) == 0
    assert len(server.admissions.registrations) == 0


def test_failure_table_stays_bounded(make_server):
    server = make_server(table_entries=50)
    with login(server, "owner", "right") as owner:
        owner.send({"type": "ping"})
    for i in range(120):
        server.admissions.failures.add(f"addr:10.0.{i // 256}.{i % 256}")
    assert len(server.admissions.failures) == 50


# -- 2. replies count against the output budget ---------------------------------------
def test_a_client_that_asks_for_history_and_never_reads_is_dropped(make_server):
    server = make_server(backlog_limit=64 * 1024, history_burst=10_000, history_rate=10_000,
                         say_burst=10_000, say_rate=10_000)
    with login(server, "talker") as talker:
        for i in range(200):
            talker.send({"type": "say", "text": f"{i:04d}" + "x" * 500})
        wait_until(lambda: server.accepted == 200, message="200 messages stored")
    hog = Client(server)
    hog.login("hog", "pw")
    hog.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    for _ in range(300):  # ~100 KB of history each, never read
        try:
            hog.send({"type": "history", "limit": 500})
        except OSError:
            break
    wait_until(lambda: "hog" not in server.online_names(), 20,
               message="the server to drop the client that never reads")
    hog.close()
    with login(server, "victim") as v:  # everyone else is served as before
        v.send({"type": "say", "text": "still here"})
        assert v.next_of("message")["text"] == "still here"


# -- 3. connections per address, and the login deadline --------------------------------
def test_connections_per_address_are_capped_and_others_still_get_in(make_server):
    server = make_server(per_address_connections=4, **UNTRUSTED)
    held = [Client(server, "127.0.0.2") for _ in range(4)]
    try:
        s = socket.create_connection(server.address, timeout=10, source_address=("127.0.0.2", 0))
        with s:
            data = s.recv(4096)
            (n,) = struct.unpack(">I", data[:4])
            assert b'"too_many_connections"' in data[4:4 + n]
        with login(server, "other", source="127.0.0.3") as other:  # another address
            assert other.welcome["name"] == "other"
    finally:
        for c in held:
            c.close()


def test_new_connections_per_address_are_metered(make_server):
    server = make_server(connect_burst=5, connect_rate=0.001, **UNTRUSTED)
    codes = []
    for _ in range(6):
        with socket.create_connection(server.address, timeout=10,
                                      source_address=("127.0.0.2", 0)) as s:
            data = s.recv(4096)
            codes.append("refused" if b"too_many_connections" in data else "hello")
    assert codes == ["hello"] * 5 + ["refused"]
    with Client(server, "127.0.0.3") as other:
        assert other.hello_msg["type"] == "hello"


def test_trusted_addresses_skip_the_per_address_cap(make_server):
    server = make_server(per_address_connections=2)  # loopback is trusted by default
    clients = [Client(server) for _ in range(5)]
    assert all(c.hello_msg["type"] == "hello" for c in clients)
    for c in clients:
        c.close()


def test_a_client_that_never_logs_in_is_closed_at_the_deadline(make_server):
    server = make_server(login_deadline=0.8, ping_after=0.2, idle_close=5)
    with Client(server) as c:
        deadline = time.monotonic() + 10
        seen = []
        while time.monotonic() < deadline:
            msg = c.recv(5)
            if msg is None:
                break
            seen.append(msg)
            if msg["type"] == "ping":  # a client that only answers pings
                c.send({"type": "pong"})
        assert [m for m in seen if m["type"] == "error"][-1]["code"] == "login_timeout"


# -- 4. flood buckets belong to the account and the address ------------------------------
def test_reconnecting_does_not_refill_the_say_bucket(make_server):
    server = make_server(say_burst=5, say_rate=0.001)
    c = login(server, "flooder")
    token = c.welcome["token"]
    for i in range(5):
        c.send({"type": "say", "text": f"m{i}"})
        assert c.next_of("message")["text"] == f"m{i}"
    c.close()
    wait_until(lambda: server.online_names() == [], message="the flooder to leave")
    with Client(server) as again:
        again.resume(token)
        again.send({"type": "say", "text": "more"})
        assert again.error_code() == "rate_limited"


def test_the_address_bucket_is_shared_by_its_accounts(make_server):
    server = make_server(say_burst=3, say_rate=0.001, **UNTRUSTED)
    a = login(server, "ann", source="127.0.0.2")
    b = login(server, "ben", source="127.0.0.2")
    c = login(server, "cat", source="127.0.0.3")
    with a, b, c:
        for i in range(3):
            a.send({"type": "say", "text": f"a{i}"})
            a.next_of("message")
        b.send({"type": "say", "text": "b"})
        assert b.error_code() == "rate_limited"
        c.send({"type": "say", "text": "c"})  # another address is not affected
        assert c.message_with("c")["from"] == "cat"


def test_history_requests_have_their_own_bucket(make_server):
    server = make_server(history_burst=2, history_rate=0.001)
    with login(server, "reader") as r:
        for _ in range(2):
            r.send({"type": "history"})
            r.next_of("history")
        r.send({"type": "history"})
        assert r.error_code() == "rate_limited"
        r.send({"type": "say", "text": "says still work"})
        assert r.next_of("message")["text"] == "says still work"


# -- 5. registrations, and hashing that is fair between addresses ----------------------------
def test_new_accounts_per_address_are_limited(make_server):
    server = make_server(registrations_per_hour=3, **UNTRUSTED)
    with Client(server, "127.0.0.2") as c:
        for i in range(3):
            c.send({"type": "login", "name": f"bot{i}", "password": "pw"})
            c.next_of("welcome")
            c.close()
            c.connect(*server.address, source="127.0.0.2")
        c.send({"type": "login", "name": "bot3", "password": "pw"})
        assert c.error_code() == "registration_limited"
    with login(server, "human", source="127.0.0.3") as h:  # another address may
        assert h.welcome["new_account"] is True


def test_one_address_flooding_hashes_waits_behind_another_s_single_one():
    hashes = HashQueue(workers=1)
    gate = threading.Event()
    order: list[str] = []

    def job(tag):
        def run():
            gate.wait(10)
            order.append(tag)
        return run

    threads = [threading.Thread(target=hashes.run, args=("attacker", job(f"a{i}")))
               for i in range(10)]
    for t in threads:
        t.start()
    wait_until(lambda: hashes.waiting() == 9, message="the attacker's jobs to queue")
    victim = threading.Thread(target=hashes.run, args=("victim", job("v")))
    victim.start()
    wait_until(lambda: hashes.waiting() == 10, message="the victim's job to queue")
    gate.set()
    for t in [*threads, victim]:
        t.join(10)
    hashes.close()
    # a0 was running when the victim came; the victim's is the next hash run.
    assert order[:2] == ["a0", "v"], order


# -- 6. strangers cannot lock the owner out -------------------------------------------------------
def test_failures_from_strangers_do_not_lock_the_owner_out(make_server):
    server = make_server(**UNTRUSTED)
    login(server, "owner", "right", source="127.0.0.9").close()
    wait_until(lambda: server.online_names() == [], message="the owner to leave")
    for i in range(2, 7):  # five wrong passwords from five addresses
        with Client(server, f"127.0.0.{i}") as c:
            c.send({"type": "login", "name": "owner", "password": "wrong"})
            assert c.error_code() in ("bad_password", "too_many_attempts")
    with Client(server, "127.0.0.8") as stranger:  # the name is locked for strangers
        stranger.send({"type": "login", "name": "owner", "password": "right"})
        assert stranger.error_code() == "too_many_attempts"
    with login(server, "owner", "right", source="127.0.0.9") as o:  # not for its owner
        assert o.welcome["name"] == "owner"


# -- 7. store, then deliver; never an id twice --------------------------------------------------
def _fill(server: ChatServer) -> None:
    """Make the history's file full, as a full disk would: SQLite's own page cap."""
    with server.history._store.read() as db:
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {pages}")


def test_a_say_that_cannot_be_stored_reaches_nobody_and_uses_no_id(make_server, tmp_path,
                                                                     logged_errors):
    server = make_server()
    a, b = login(server, "ada"), login(server, "bob")
    with a, b:
        a.send({"type": "say", "text": "first"})
        first = b.next_of("message")
        a.message_with("first")
        _fill(server)
        stored = [first]
        for _ in range(10):  # 8000 bytes each: new pages soon, free ones first
            a.send({"type": "say", "text": "é" * 4000})
            reply = a.next_of("message", "error")
            if reply["type"] == "error":
                assert reply["code"] == "server_error"
                break
            stored.append(reply)
        else:
            pytest.fail("every say was stored in a full file")
        with server.history._store.read() as db:
            db.execute("PRAGMA max_page_count = 1073741823")  # room again
        a.send({"type": "say", "text": "after"})
        seen_by_bob = [b.next_of("message") for _ in stored[1:]]  # what was stored
        assert [m["id"] for m in seen_by_bob] == [m["id"] for m in stored[1:]]
        got = b.next_of("message")  # never the refused one, whose id was not used
        assert got["text"] == "after" and got["id"] == stored[-1]["id"] + 1
    server.stop()
    again = make_server()
    with login(again, "ada") as a2:
        a2.send({"type": "say", "text": "after restart"})
        assert a2.message_with("after restart")["id"] == got["id"] + 1
    assert logged_errors and all("cannot store messages" in r.getMessage()
                                 for r in logged_errors)


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX") or __import__("os").geteuid() != 0,
                    reason="needs root to mount a small tmpfs")
def test_a_genuinely_full_disk(make_server, tmp_path, logged_errors):
    import subprocess
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], check=True)
    try:
        server = make_server(data_dir=mount, say_burst=10_000, say_rate=10_000)
        with login(server, "ann") as a:
            a.send({"type": "say", "text": "before"})
            before = a.next_of("message")["id"]
            filler = mount / "filler"
            with open(filler, "wb") as f:
                try:
                    while True:
                        f.write(b"\0" * 65536)
                except OSError:
                    pass
            codes = []
            for i in range(100):  # until the WAL needs a page it cannot have
                a.send({"type": "say", "text": f"{i}" + "z" * 3000})
                m = a.next_of("message", "error")
                codes.append(m.get("code", "ok"))
                if m["type"] == "error":
                    break
            assert codes[-1] == "server_error"
            filler.unlink()
            a.send({"type": "say", "text": "room again"})
            m = a.next_of("message")
            assert m["text"] == "room again" and m["id"] == before + len(codes)
        server.stop()
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
    assert logged_errors and all("cannot store messages" in r.getMessage()
                                 for r in logged_errors)


@pytest.mark.skipif(not __import__("os").path.exists("/dev/full"), reason="needs /dev/full")
def test_a_log_file_that_cannot_be_written_goes_to_stderr(capfd, logged_errors):
    handler = datadir.PrivateRotatingFileHandler("/dev/full", encoding="utf-8")  # always full
    logger = logging.getLogger("netdesk.test-full-log")
    logger.addHandler(handler)
    try:
        logger.error("history.db cannot be written")
    finally:
        logger.removeHandler(handler)
        handler.close()
    err = capfd.readouterr().err
    assert "log file not writable" in err and "history.db cannot be written" in err
    assert "Traceback" not in err
    assert {r.getMessage() for r in logged_errors} == {"history.db cannot be written"}


# -- 8. a data file deleted while the server runs -----------------------------------------
def test_a_deleted_users_db_is_written_back(make_server, tmp_path, logged_errors):
    server = make_server()
    login(server, "keeper", "secret").close()
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"users.db{suffix}").unlink(missing_ok=True)
    login(server, "newcomer", "pw").close()  # a write: the file is put back first
    assert (tmp_path / "users.db").exists()
    server.stop()
    again = make_server()
    with Client(again) as c:
        assert c.login("keeper", "secret")["new_account"] is False
    with Client(again) as c, pytest.raises(ChatError) as e:
        c.login("keeper", "not the password")  # not free for a stranger to take
    assert e.value.code == "bad_password"
    assert logged_errors and all("users.db was deleted or replaced" in r.getMessage()
                                 for r in logged_errors)


def test_a_deleted_history_db_is_written_back_without_a_write(make_server, tmp_path,
                                                              logged_errors):
    server = make_server()
    with login(server, "hal") as h:
        h.send({"type": "say", "text": "keep me"})
        h.next_of("message")
    (tmp_path / "history.db").unlink()
    wait_until(lambda: (tmp_path / "history.db").exists(), 15,
               message="the history to be written back")
    with sqlite3.connect(tmp_path / "history.db") as db:
        assert db.execute("SELECT text FROM messages").fetchall() == [("keep me",)]
    assert logged_errors and all("history.db was deleted or replaced" in r.getMessage()
                                 for r in logged_errors)


def test_a_corrupt_history_file_is_a_clear_error(tmp_path):
    (tmp_path / "history.db").write_bytes(b"this is not a database" * 100)
    server = ChatServer(tmp_path, "127.0.0.1", 0)
    with pytest.raises(OSError, match="history.db"):
        server.start()
    assert server.listener.port is None  # nothing left listening


# -- 9. bad fields get bad_request and the session goes on ---------------------------------
@pytest.mark.parametrize("request_", [
    {"type": "history", "before": 10**30},
    {"type": "history", "limit": -(10**30)},
    {"type": "history", "limit": True},
    {"type": "say", "text": "hi", "to": "\ud800"},
    {"type": "say", "text": "\udfff"},
    {"type": "login", "name": 5, "password": "x"},
])
def test_bad_fields_get_bad_request(make_server, request_):
    server = make_server()
    with login(server, "fields") as c:
        # ASCII escapes carry the lone surrogates that no UTF-8 frame holds.
        payload = json.dumps(request_).encode("ascii")
        c.sock.sendall(struct.pack(">I", len(payload)) + payload)
        assert c.error_code() in ("bad_request", "already_logged_in")
        c.send({"type": "ping"})
        c.next_of("pong")


# -- 10. resume when another program took the port -------------------------------------------
def test_resume_when_the_port_was_taken_says_so_and_stays_paused(tmp_path):
    controller = ServerController(tmp_path, ServerConfig(host="127.0.0.1", echo_port=0,
                                                         chat_port=0, irc_port=None))
    controller.start()
    try:
        chat_port = controller.status().ports["chat"]
        execute(controller, "pause")
        thief = socket.socket()
        thief.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        thief.bind(("127.0.0.1", chat_port))
        thief.listen()
        with thief:
            reply = execute(controller, "resume").text
            assert "chat" in reply and "still paused" in reply
            status = execute(controller, "status").text
            assert f"paused: chat port {chat_port}" in status
            assert "listening: echo" in status
        assert "chat on port" in execute(controller, "resume").text
        assert controller.status().listening == {"echo": True, "chat": True}
    finally:
        controller.shutdown()


# -- 12, 13. framing ----------------------------------------------------------------------------
def test_a_valid_say_before_a_bad_frame_in_one_write_is_carried_out(make_server):
    server = make_server()
    with login(server, "watcher") as w, login(server, "sayer") as s:
        s.sock.sendall(encode({"type": "say", "text": "made it"}) + struct.pack(">I", 3) + b"{{{")
        assert s.next_of("error")["code"] == "bad_frame"
        assert w.next_of("message")["text"] == "made it"


def test_duplicate_keys_are_a_bad_frame(make_server):
    server = make_server()
    with Client(server) as c:
        payload = b'{"type":"ping","type":"login","name":"dup","password":"pw"}'
        c.sock.sendall(struct.pack(">I", len(payload)) + payload)
        assert c.error_code() == "bad_frame"
        assert c.closed_by_server()


def test_budgets_are_listed_whole():
    rows = dict(Budgets().describe())
    assert rows["per address connections"] == "32"
    assert rows["registrations per hour"] == "20"
    assert rows["login deadline"] == "30 s"
    assert rows["say rate"] == "20 a second" and rows["max payload"] == "64 KiB"
    assert rows["trusted"] == "127.0.0.0/8, ::1/128"
    assert Budgets().is_trusted("::ffff:127.0.0.1") and not Budgets().is_trusted("10.200.0.1")


# -- 11. look-alike names ------------------------------------------------------------------
def test_look_alike_names_are_not_new_accounts(make_server):
    server = make_server()
    login(server, "admin", "the-password").close()
    login(server, "cop", "pw").close()
    wait_until(lambda: server.online_names() == [], message="both to leave")
    with Client(server) as c:
        c.send({"type": "login", "name": "\u0430dmin", "password": "x"})  # Cyrillic а
        assert c.error_code() == "bad_name"  # one script per name
        c.send({"type": "login", "name": "\u0441\u043e\u0440", "password": "x"})  # Cyrillic сор
        assert c.error_code() == "name_too_similar"
        for look_alike in ("ａｄｍｉｎ", "𝐚𝐝𝐦𝐢𝐧"):  # NFKC: the same account
            c.send({"type": "login", "name": look_alike, "password": "wrong"})
            assert c.error_code() == "bad_password"
        c.send({"type": "login", "name": "ａｄｍｉｎ", "password": "the-password"})
        w = c.next_of("welcome")
        assert w["name"] == "admin" and w["new_account"] is False
    with Client(server) as c:
        c.send({"type": "login", "name": "_.-", "password": "x"})
        assert c.error_code() == "bad_name"


def test_a_lower_retention_is_applied_when_the_server_starts(make_server, tmp_path):
    server = make_server()
    with login(server, "ret") as r:
        for i in range(15):
            r.send({"type": "say", "text": f"m{i}"})
        r.message_with("m14")
    server.stop()
    make_server(retention=5)  # restarted with less room: trimmed at once
    with sqlite3.connect(tmp_path / "history.db") as db:
        assert db.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 5


# -- from an attacker's review ------------------------------------------------------------
def test_pages_are_capped_in_bytes_too(make_server):
    server = make_server(page_bytes=20_000, say_burst=100, say_rate=100)
    with login(server, "escapes") as c:
        for i in range(5):  # each ~24 KB as JSON: \u0001 takes six bytes
            c.send({"type": "say", "text": f"{i}" + "\x01" * 3999})
            c.next_of("message")
        c.send({"type": "history", "limit": 500})
        page = c.next_of("history")["messages"]
        assert [m["text"][0] for m in page] == ["4"]  # the newest that fits, and no more
    with login(server, "late") as late:
        assert [m["text"][0] for m in late.welcome["history"]] == ["4"]


def test_an_online_name_is_refused_before_any_password_check(make_server):
    server = make_server()
    with login(server, "busy", "right"), Client(server) as c:
        c.send({"type": "login", "name": "busy", "password": "wrong"})
        assert c.error_code() == "name_in_use"  # not bad_password: nothing was hashed


def test_an_address_s_frames_are_read_at_its_budget(make_server):
    server = make_server(frame_burst=5, frame_rate=4, **UNTRUSTED)
    with Client(server, "127.0.0.2") as c:
        started = time.monotonic()
        c.sock.sendall(encode({"type": "ping"}) * 13)
        for _ in range(13):
            c.next_of("pong")
        # 5 at once, then 8 more at 4 a second: at least 2 s, however fast the machine.
        assert time.monotonic() - started >= 1.9
    with Client(server, "127.0.0.3") as other:  # another address has its own budget
        other.send({"type": "ping"})
        other.next_of("pong")


def test_reaching_the_registration_limit_is_logged_once(make_server, caplog):
    server = make_server(registrations_per_hour=2, **UNTRUSTED)
    with Client(server, "127.0.0.2") as c:
        for i in range(8):
            c.send({"type": "login", "name": f"reg{i}", "password": "pw"})
            reply = c.next_of("welcome", "error")
            if reply["type"] == "welcome":
                c.close()
                c.connect(*server.address, source="127.0.0.2")
    assert sum("refusing more" in r.getMessage() for r in caplog.records) == 1


def test_ipv6_clients_are_counted_by_their_64():
    from net.budgets import address_key
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::9")
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("::ffff:10.200.0.1") == "10.200.0.1"


def test_a_refused_connection_is_explained_to_the_client(make_server):
    server = make_server(per_address_connections=1, **UNTRUSTED)
    with Client(server, "127.0.0.2"):
        refused = ChatConnection(timeout=10)
        # The code, in the client's words: the server's own text is not shown.
        with pytest.raises(ConnectionError, match="refused the connection: too many "
                                                  "connections from this computer"):
            refused.connect(*server.address, source="127.0.0.2")
        refused.close()
