"""The echo service over real loopback sockets."""

from __future__ import annotations

import logging
import socket
import struct
import threading

import pytest

from net.echo.server import EchoServer
from net.listener import ListenError, bind_listener
from tests.conftest import wait_until


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    parts, got = [], 0
    while got < n:
        chunk = sock.recv(n - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def test_fifty_clients_each_get_exactly_their_own_bytes(echo_server):
    host, port = echo_server.address
    n_clients, rounds = 50, 20
    barrier = threading.Barrier(n_clients + 1, timeout=20)
    results: dict[int, bytes] = {}
    sent: dict[int, bytes] = {}
    errors: list[BaseException] = []

    def client(i: int) -> None:
        try:
            with socket.create_connection((host, port), timeout=10) as s:
                barrier.wait()
                mine, back = [], []
                for r in range(rounds):
                    # Sizes differ per client and round, some over the 1 KiB chunk.
                    piece = bytes([i]) * (1 + (i * 37 + r * 101) % 3000)
                    mine.append(piece)
                    s.sendall(piece)
                    back.append(recv_exactly(s, len(piece)))
                sent[i], results[i] = b"".join(mine), b"".join(back)
        except BaseException as e:  # reported below with the client number
            errors.append(e)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(n_clients)]
    for t in threads:
        t.start()
    barrier.wait()  # every client is connected at once before any sends
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert len(results) == n_clients
    for i in range(n_clients):
        assert results[i] == sent[i], f"client {i} got bytes that were not its own"


def test_a_client_vanishing_mid_stream_harms_no_other(echo_server):
    addr = echo_server.address
    steady = socket.create_connection(addr, timeout=10)
    rude = socket.create_connection(addr, timeout=10)
    rude.sendall(b"x" * 50_000)  # much more than it will ever read back
    # RST instead of FIN: the server's next send to it fails.
    rude.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    rude.close()
    for i in range(100):
        msg = f"line {i}\n".encode()
        steady.sendall(msg)
        assert recv_exactly(steady, len(msg)) == msg
    with socket.create_connection(addr, timeout=10) as late:
        late.sendall(b"after\n")
        assert recv_exactly(late, 6) == b"after\n"
    steady.close()


def test_keeps_listening_after_a_client_leaves(echo_server):
    for _ in range(3):
        with socket.create_connection(echo_server.address, timeout=10) as s:
            s.sendall(b"hi")
            assert recv_exactly(s, 2) == b"hi"
    wait_until(lambda: echo_server.listener.connection_count() == 0, 5)


def test_busy_port_moves_to_the_next_and_says_which(echo_server, caplog):
    busy = echo_server.address[1]
    second = EchoServer("127.0.0.1", busy)
    with caplog.at_level(logging.INFO, logger="netdesk"):
        host, port = second.start()
    try:
        assert port != busy and busy < port <= busy + 20
        assert f"port {busy} was busy, moved to port {port}" in caplog.text
        with socket.create_connection((host, port), timeout=5) as s:
            s.sendall(b"ok")
            assert recv_exactly(s, 2) == b"ok"
    finally:
        second.stop()


def test_busy_port_with_no_room_left_is_a_clear_error():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(ListenError, match="busy"):
            bind_listener("127.0.0.1", port, tries=1)


@pytest.mark.parametrize("port", [-1, 65536, "80"])
def test_port_out_of_range_is_refused(port):
    with pytest.raises(ValueError, match="0 to 65535"):
        EchoServer("127.0.0.1", port)


def test_stop_leaves_no_thread_and_no_listening_socket(settle_threads):
    server = EchoServer("127.0.0.1", 0)
    addr = server.start()
    clients = [socket.create_connection(addr, timeout=5) for _ in range(5)]
    for c in clients:
        c.sendall(b"x")
        assert c.recv(1) == b"x"
    server.stop()
    settle_threads()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(addr, timeout=5)
    for c in clients:  # the server closed its side of each session
        assert c.recv(1) == b""
        c.close()


def test_pause_refuses_new_connections_and_keeps_sessions(echo_server):
    addr = echo_server.address
    with socket.create_connection(addr, timeout=5) as s:
        echo_server.listener.pause()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(addr, timeout=5)
        s.sendall(b"still here")
        assert recv_exactly(s, 10) == b"still here"
        echo_server.listener.resume()
        with socket.create_connection(addr, timeout=5) as t:
            t.sendall(b"back")
            assert recv_exactly(t, 4) == b"back"


def test_idle_client_is_closed_after_the_idle_limit():
    server = EchoServer("127.0.0.1", 0, idle_timeout=0.3)
    addr = server.start()
    try:
        with socket.create_connection(addr, timeout=5) as s:
            s.sendall(b"a")
            assert s.recv(1) == b"a"
            assert s.recv(1) == b""  # closed by the server, not by our timeout
    finally:
        server.stop()


def test_an_unknown_echo_session_command_raises_at_the_caller():
    """EchoSession used to drop a command it did not know on its thread."""
    from net.echo.client import EchoSession

    events = []
    session = EchoSession(events.append)
    try:
        with pytest.raises(TypeError):
            session._put(("sned", "hello"))
        with pytest.raises(TypeError):
            session._put("send")
        session.send("no connection yet")  # a known command still goes through
        wait_until(lambda: events, 5, message="the NotSent event")
        assert type(events[0]).__name__ == "NotSent"
    finally:
        session.close(5)
    assert not session.alive
