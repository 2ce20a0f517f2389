"""Banner grabbing against real listeners on loopback, each on a port of its own
choosing; every thread a test starts is joined before it ends."""

from __future__ import annotations

import functools
import json
import os
import socket
import struct
import threading
import time
import types
import warnings
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from net import SERVER_NAME
from net.echo.server import EchoServer
from net.scan import banners
from net.scan.banners import (
    BANNER_BYTES,
    ECHO,
    HTTP_REQUEST,
    PROBE,
    describe,
    grab_banners,
    printable,
)
from tests.conftest import wait_until

V4 = socket.AF_INET
LOCAL = "127.0.0.1"
SSH = b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5\r\n"
SMTP = b"220 mail.example.test ESMTP Postfix (Ubuntu)\r\n"


class Greeter:
    """A listener on 127.0.0.1 port 0 whose one thread serves connections
    one after another: ``handler(conn)`` speaks, then everything the client
    sends is kept in ``received`` until it closes."""

    def __init__(self, handler, host: str = LOCAL, family: int = V4):
        self.handler = handler
        self.listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            self.listener.bind((host, 0))
            self.listener.listen(64)
        except OSError:
            self.listener.close()
            raise
        self.listener.settimeout(0.05)
        self.port = self.listener.getsockname()[1]
        self.stop = threading.Event()
        self.accepted = 0
        self.closed = 0
        self.received = bytearray()
        self.thread = threading.Thread(target=self._run, name=f"greeter-{self.port}")
        self.thread.start()

    def _run(self) -> None:
        with self.listener:
            while not self.stop.is_set():
                try:
                    conn, _ = self.listener.accept()
                except TimeoutError:
                    continue  # a look at the stop flag, ten times a second
                with conn:
                    self.accepted += 1
                    try:
                        self.handler(conn)
                        self._drain(conn)
                    except OSError:
                        pass  # the grabber hung up first: that is its right
                self.closed += 1

    def _drain(self, conn: socket.socket) -> None:
        conn.settimeout(0.05)
        deadline = time.monotonic() + 30
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                data = conn.recv(4096)
            except TimeoutError:
                continue
            if not data:
                return
            self.received += data

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive()


@pytest.fixture
def greeter():
    made: list[Greeter] = []

    def make(handler=None, **kwargs) -> Greeter:
        g = Greeter(handler or (lambda conn: None), **kwargs)
        made.append(g)
        return g

    yield make
    for g in made:
        g.close()


def says(data: bytes):
    return lambda conn: conn.sendall(data)


def says_and_hangs_up(data: bytes):
    def handler(conn: socket.socket) -> None:
        conn.sendall(data)
        conn.shutdown(socket.SHUT_WR)

    return handler


def frame(obj) -> bytes:
    payload = json.dumps(obj).encode() if not isinstance(obj, bytes) else obj
    return struct.pack(">I", len(payload)) + payload


def probes(*ports: int, address: str = LOCAL, family: int = V4) -> list[tuple[int, str, int]]:
    return [(family, address, p) for p in ports]


def closed_port() -> int:
    """A port nothing listens on: one the system gave a listener just closed."""
    with socket.socket() as s:
        s.bind((LOCAL, 0))
        return s.getsockname()[1]


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def grab_by_itself(targets, within: float = 10.0, **kwargs) -> dict:
    """``grab_banners`` on a thread of its own, which must come back by
    itself within ``within`` seconds (a deadline far beyond what the grab
    needs: a state, "it returned", not a clock a loaded machine would make
    flaky). Cancelled and joined on the way out whatever happens."""
    cancel = threading.Event()
    result: list[dict] = []
    worker = threading.Thread(target=lambda: result.append(
        grab_banners(targets, cancel=cancel, **kwargs)), name="grabber")
    worker.start()
    try:
        wait_until(lambda: not worker.is_alive(), within,
                   message="the grab to come back by itself")
    finally:
        cancel.set()
        worker.join(timeout=10)
    assert not worker.is_alive() and result, "the grab raised"
    return result[0]


class CountedSockets:
    """Counts the sockets ``grab_banners`` has open at once (real sockets,
    only counted): how many connections were in flight together."""

    def __init__(self, monkeypatch):
        self.lock = threading.Lock()
        self.open = self.peak = self.made = 0
        counter = self

        class Counted(socket.socket):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                self._counted = True
                with counter.lock:
                    counter.open += 1
                    counter.made += 1
                    counter.peak = max(counter.peak, counter.open)

            def close(self):
                if getattr(self, "_counted", False):
                    self._counted = False
                    with counter.lock:
                        counter.open -= 1
                super().close()

        module = types.ModuleType("socket")
        module.__dict__.update(vars(socket))
        module.socket = Counted
        monkeypatch.setattr(banners, "socket", module)

    def reset(self) -> None:
        with self.lock:
            self.open = self.peak = self.made = 0


# -- services that speak first ---------------------------------------------------
def test_greeters_give_their_first_line(greeter):
    ssh, smtp = greeter(says(SSH)), greeter(says(SMTP + b"220-second line\r\n"))
    ftp = greeter(says(b"\r\n220 (vsFTPd 3.0.5)\r\n"))
    pop = greeter(says_and_hangs_up(b"+OK Dovecot ready."))  # no line end, then EOF
    found = grab_banners(probes(ssh.port, smtp.port, ftp.port, pop.port), timeout=30)
    assert found == {
        (LOCAL, ssh.port): "SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5",
        (LOCAL, smtp.port): "220 mail.example.test ESMTP Postfix (Ubuntu)",
        (LOCAL, ftp.port): "220 (vsFTPd 3.0.5)",
        (LOCAL, pop.port): "+OK Dovecot ready.",
    }
    # Nobody waited for the half-time probe (15 s away): they had all spoken,
    # so none of them was ever sent it.
    wait_until(lambda: all(g.closed == 1 for g in (ssh, smtp, ftp, pop)), 10,
               message="every greeter to see the close")
    assert ssh.received == smtp.received == ftp.received == pop.received == b""


def test_http_server_is_asked_head(tmp_path):
    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer((LOCAL, 0), functools.partial(Handler, directory=tmp_path))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        port = server.server_address[1]
        # Asked at once, not after the half-time wait (30 s away): the
        # answer is in long before that.
        found = grab_by_itself(probes(port), http_ports={port}, timeout=60)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    assert found == {(LOCAL, port): f"HTTP/1.0 200 OK; Server: {Handler.server_version} "
                                     f"{Handler.sys_version}"}


def test_http_without_server_header(greeter):
    asked = []
    reply = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
    web = greeter(lambda conn: (asked.append(conn.recv(100)), conn.sendall(reply)))
    assert grab_banners(probes(web.port), http_ports={web.port}) == \
        {(LOCAL, web.port): "HTTP/1.1 404 Not Found"}
    assert asked == [HTTP_REQUEST]


# -- silence, floods and hostile text ---------------------------------------------
def test_a_silent_port_has_no_banner_and_keeps_the_time_bound(greeter):
    quiet = greeter()
    start = time.monotonic()
    # It gives up by itself (the bound kept)...
    found = grab_by_itself(probes(quiet.port), timeout=0.6)
    assert found == {}
    # ...and not before its time (a lower bound: a loaded machine only adds to it).
    assert time.monotonic() - start >= 0.6
    # It was sent the probe halfway, and nothing else.
    wait_until(lambda: quiet.closed == 1, 5, message="the silent port to see the close")
    assert quiet.received == PROBE


def test_refused_and_silent_ports_never_raise(greeter):
    quiet = greeter(says_and_hangs_up(b""))  # accepts, then hangs up at once
    assert grab_banners(probes(closed_port(), quiet.port), timeout=0.5) == {}


def test_a_flood_is_read_only_up_to_max_bytes(greeter):
    flood = greeter(says(b"0123456789" * 100_000))  # 1 MB, no line end
    found = grab_banners(probes(flood.port), max_bytes=100, timeout=5)
    assert found == {(LOCAL, flood.port): "0123456789" * 10}


def test_binary_garbage_comes_out_as_one_printable_line(greeter):
    noise = bytes(b for b in range(256) if b != 0x0A) * 4200  # 1 MB, no "\n"
    flood = greeter(says(noise))
    banner = grab_banners(probes(flood.port), timeout=5)[(LOCAL, flood.port)]
    assert len(banner) == 160 and banner.endswith("…")
    assert banner.isprintable() and "\x1b" not in banner
    assert banner.startswith("\\x00\\x01\\x02")  # escaped, not dropped


def test_control_characters_and_bidi_overrides_are_neutralised(greeter):
    hostile = greeter(says(b"220 \x1b[2J\x1b]0;pwned\x07 hello\t\t\x00 \xc2\x9b31m "
                           b"\xe2\x80\xaetxt.exe\xe2\x81\xa6x\xe2\x81\xa9 \xe2\x80\x8bend\r\n"))
    banner = grab_banners(probes(hostile.port), timeout=5)[(LOCAL, hostile.port)]
    assert banner.isprintable()
    for bad in ("\x1b", "\x07", "\x00", "\x9b", "\u202e", "\u2066", "\u2069", "\u200b", "\t"):
        assert bad not in banner
    assert banner == ("220 \\x1b[2J\\x1b]0;pwned\\x07 hello \\x00 \\x9b31m "
                      "\\u202etxt.exe\\u2066x\\u2069 \\u200bend")


def test_invalid_utf8_is_replaced(greeter):
    bad = greeter(says(b"220 caf\xe9 \xff\xfe\xc3\r\n"))
    assert grab_banners(probes(bad.port), timeout=5) == \
        {(LOCAL, bad.port): "220 caf\ufffd \ufffd\ufffd\ufffd"}


# -- netdesk's own services -----------------------------------------------------
def test_netdesk_echo_server():
    server = EchoServer(LOCAL, 0)
    _, port = server.start()
    try:
        # ECHO: what it sent back was the half-time probe, so it was sent and answered.
        assert grab_banners(probes(port), timeout=1.0) == {(LOCAL, port): ECHO}
        # On a port taken for HTTP, the echoed request gives it away as well.
        assert grab_banners(probes(port), http_ports={port}) == {(LOCAL, port): ECHO}
    finally:
        server.stop()


def test_netdesk_chat_server(make_server):
    server = make_server()
    port = server.address[1]
    assert grab_banners(probes(port)) == {
        (LOCAL, port): f"netdesk chat ({SERVER_NAME}), TLS available"}


@pytest.mark.parametrize("hello, shown", [
    ({"type": "hello", "proto": 1, "server": "netdesk 1.1", "known_name": None,
      "tls": False, "tls_required": False}, "netdesk chat (netdesk 1.1), TLS available"),
    ({"type": "hello", "proto": 1, "server": "netdesk 1.1", "known_name": "ann",
      "tls": False, "tls_required": True}, "netdesk chat (netdesk 1.1), TLS required"),
    ({"type": "hello", "proto": 1, "server": "evil\x1b[2J\u202e"},
     "netdesk chat (evil\\x1b[2J\\u202e)"),
    ({"type": "error", "code": "too_many_connections", "message": "..."},
     "netdesk chat (error too_many_connections)"),
])
def test_chat_frames(greeter, hello, shown):
    """A v1.1 server waits 250 ms for a ClientHello before it says hello."""
    chat = greeter(lambda conn: (time.sleep(0.25), conn.sendall(frame(hello))))
    assert grab_banners(probes(chat.port)) == {(LOCAL, chat.port): shown}
    assert chat.received == b""  # spoke well before the probe was due


@pytest.mark.parametrize("data", [
    frame(b'{"type": "hello", "server": '),      # invalid JSON
    frame(b"[1, 2, 3]"),                         # not an object
    frame(b'{"type": "other", "server": "x"}'),  # not a netdesk frame
    struct.pack(">I", 1_000_000) + b"x" * 50 + b"\n",  # a length over the bound
])
def test_frames_that_are_not_chat_are_ordinary_bytes(greeter, data):
    fake = greeter(says_and_hangs_up(data))
    banner = grab_banners(probes(fake.port), timeout=5).get((LOCAL, fake.port), "")
    assert not banner.startswith("netdesk chat")
    assert banner.isprintable()


# -- many at once, cancelling, cleaning up ------------------------------------------
def test_parallel_bounds_the_connections_in_flight(greeter, monkeypatch):
    quiet = [greeter() for _ in range(6)]
    sockets = CountedSockets(monkeypatch)
    assert grab_banners(probes(*(g.port for g in quiet)), timeout=0.3, parallel=2) == {}
    assert (sockets.made, sockets.peak, sockets.open) == (6, 2, 0)  # three rounds of two
    sockets.reset()
    assert grab_banners(probes(*(g.port for g in quiet)), timeout=0.3) == {}
    assert (sockets.made, sockets.peak, sockets.open) == (6, 6, 0)  # one round


def test_cancel_stops_promptly(greeter):
    quiet = [greeter() for _ in range(5)]
    ssh = greeter(says(SSH))
    cancel = threading.Event()
    result: list[dict] = []
    worker = threading.Thread(target=lambda: result.append(grab_banners(
        probes(ssh.port, *(g.port for g in quiet)), timeout=30, cancel=cancel)))
    worker.start()
    try:
        wait_until(lambda: all(g.accepted for g in quiet) and ssh.closed, 10,
                   message="every port to be connected to")
        cancel.set()
        # It ends on the cancel, not on its 30 s: long before the half-time
        # probe (15 s away), which no quiet port was ever sent.
        wait_until(lambda: not worker.is_alive(), 10, message="the cancel to end the grab")
        assert all(g.received == b"" for g in quiet)
    finally:
        cancel.set()
        worker.join(timeout=10)
    assert result == [{(LOCAL, ssh.port): "SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5"}]
    wait_until(lambda: all(g.closed for g in quiet), 5, message="every socket to be closed")
    assert grab_banners(probes(ssh.port), cancel=cancel) == {}  # set before it starts


class CancelAfter(threading.Event):
    """Set after being looked at ``n`` times: a cancel while sockets are in
    flight, without a thread to time it."""

    def __init__(self, n: int):
        super().__init__()
        self.n = n

    def is_set(self) -> bool:
        self.n -= 1
        return self.n < 0 or super().is_set()


@pytest.fixture
def unclosed():
    """The ResourceWarnings of sockets and selectors dropped unclosed: CPython
    closes them when they are freed, so the fd count alone would not tell."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        yield lambda: [str(w.message) for w in caught if w.category is ResourceWarning]


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="no /proc")
def test_no_socket_is_left_open(greeter, make_server, unclosed):
    greeters = [greeter(says(SSH)), greeter(says(b"0123456789" * 100_000)),
                greeter(says_and_hangs_up(b""))] + [greeter() for _ in range(3)]
    chat = make_server()
    echo = EchoServer(LOCAL, 0)
    _, echo_port = echo.start()
    ports = [g.port for g in greeters] + [chat.address[1], echo_port, closed_port()]
    rounds = 0

    def servers_idle() -> bool:
        return all(g.closed == rounds for g in greeters) and \
            chat.listener.connection_count() == 0 and echo.listener.connection_count() == 0

    try:
        # A first round, so that whatever the servers open on first use
        # (their accept loops' selectors, say) is open before counting.
        rounds += 1
        assert len(grab_banners(probes(*ports), timeout=1.0)) == 4
        wait_until(servers_idle, 10, message="the servers to close their ends")
        before = fd_count()
        # A whole round, one cancelled with connections in flight, one
        # cancelled before it starts.
        for cancel in (None, CancelAfter(3), CancelAfter(0)):
            found = grab_banners(probes(*ports), timeout=1.0, cancel=cancel)
            if cancel is None:
                assert len(found) == 4
            else:  # the fast talkers may be done; the echo, due at 0.5 s, is not
                assert (LOCAL, echo_port) not in found
        assert unclosed() == []
        # The servers' ends close as they see ours close.
        wait_until(lambda: fd_count() <= before, 10, message="the fd count to go back")
    finally:
        echo.stop()


def test_ipv6_loopback(greeter):
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        ssh = greeter(says(SSH), host="::1", family=socket.AF_INET6)
    except OSError:
        pytest.skip("no IPv6 loopback")
    assert grab_banners([(socket.AF_INET6, "::1", ssh.port)], timeout=5) == \
        {("::1", ssh.port): "SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5"}


def test_nothing_to_do():
    assert grab_banners([]) == {}


@pytest.mark.parametrize("bad, kwargs", [
    (probes(0), {}),
    (probes(65536), {}),
    (probes(True), {}),
    (probes(22, address="localhost"), {}),  # names would block the loop: numbers only
    (probes(22, address="::1"), {}),       # not an IPv4 address
    (probes(22), {"timeout": 0}),
    (probes(22), {"timeout": float("nan")}),
    (probes(22), {"parallel": 0}),
    (probes(22), {"max_bytes": 0}),
])
def test_bad_arguments(bad, kwargs):
    with pytest.raises(ValueError):
        grab_banners(bad, **kwargs)


# -- the pure parts --------------------------------------------------------------
@pytest.mark.parametrize("data, text", [
    (b"  SSH-2.0-x \r\n\r\n", "SSH-2.0-x"),
    (b"a\r\n\t b\x0b\x0cc\xc2\x85d\xe2\x80\xa8e\xc2\xa0f", "a b c d e f"),
    (b"\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
    (b"\xc2\x9b1m", "\\x9b1m"),  # C1 CSI
    (b"\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad\xe2\x80\xae",
     "\\u202a\\u202b\\u202c\\u202d\\u202e"),
    (b"\xe2\x81\xa6\xe2\x81\xa7\xe2\x81\xa8\xe2\x81\xa9", "\\u2066\\u2067\\u2068\\u2069"),
    (b"\xf3\xa0\x80\x81tag", "\\U000e0001tag"),  # a format character past the BMP
    (b"\x7f", "\\x7f"),
    (b"\xff", "\ufffd"),
    (b"caf\xc3\xa9 \xf0\x9f\x90\x8d", "caf\u00e9 \U0001f40d"),
    (b"", ""),
    (b" \r\n\t ", ""),
])
def test_printable(data, text):
    assert printable(data) == text


def test_printable_limit():
    assert printable(b"x" * 160) == "x" * 160
    assert printable(b"x" * 161) == "x" * 159 + "…"
    assert printable(b"abcdef", limit=4) == "abc…"
    assert printable(b"ab" + b" " * 100_000 + b"cd", limit=10) == "ab cd"
    assert len(printable(b"\x1b" * 1_000_000)) == 160


def test_describe():
    assert describe(b"") == ""
    assert describe(PROBE, PROBE) == ECHO
    assert describe(PROBE[:5], PROBE) == "netde"  # half an echo is just bytes
    assert describe(b"HTTP/1.1 200 OK\nserver:  nginx/1.24.0 \n\n<html>") == \
        "HTTP/1.1 200 OK; Server: nginx/1.24.0"
    assert describe(frame({"type": "hello", "proto": 1, "server": "x"})[:-1]) != "netdesk chat (x)"
    assert describe(frame({"type": "bye", "reason": "shutdown"})) == "netdesk chat (bye)"
    big = frame({"type": "hello", "proto": 1, "server": "y" * 2000})
    assert describe(big, max_bytes=BANNER_BYTES) != describe(big, max_bytes=4096)


def test_a_slow_talker_is_not_probed(greeter):
    """Half a line before the half-time mark, the rest after: no probe sent."""
    def handler(conn):
        conn.sendall(b"220 slow")
        time.sleep(0.5)  # the service's own pace, not a synchronisation
        conn.sendall(b" server\r\n")

    slow = greeter(handler)
    assert grab_banners(probes(slow.port), timeout=0.8) == {(LOCAL, slow.port): "220 slow server"}
    wait_until(lambda: slow.closed == 1, 5, message="the slow port to see the close")
    assert slow.received == b""
