"""Budgets with their defaults, from a real non-loopback address.

The other budget tests make loopback untrusted; this one keeps every
default and puts the client in a network namespace of its own (needs
root; CI runs as root), so the server sees it at 10.200.50.2.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import pytest

from tests import netns

CLIENT = r"""
import json, socket, struct, sys
host, source = sys.argv[1], sys.argv[4]
chat, echo, count = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[5])
def first_frame(port):
    s = socket.create_connection((host, port), timeout=10, source_address=(source, 0))
    data = b""
    while len(data) < 4 or len(data) < 4 + struct.unpack(">I", data[:4])[0]:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    return s, json.loads(data[4:]) if len(data) > 4 else None
held, kinds = [], []
for _ in range(count):
    s, msg = first_frame(chat)
    held.append(s)
    kinds.append(msg.get("code") or msg.get("type") if msg else "closed")
echoes = []
for _ in range(count):
    s = socket.create_connection((host, echo), timeout=10, source_address=(source, 0))
    held.append(s)
    try:
        s.sendall(b"x")
        echoes.append("echo" if s.recv(1) == b"x" else "closed")
    except OSError:
        echoes.append("closed")
print(json.dumps({"chat": kinds, "echo": echoes}))
"""


@pytest.fixture
def bed():
    netns.skip_unless_available()
    with netns.TwoNamespaceBed(client_addrs=2, prefix="nd_atk_t", replace=True) as b:
        yield b


def start_server(bed, tmp_path):
    server = bed.popen_in(bed.server_ns, [
        sys.executable, "-m", "gui", "serve", "--host", "0.0.0.0", "--echo-port", "0",
        "--chat-port", "0", "--irc-port", "0", "--data-dir", str(tmp_path),
        "--connect-burst", "200"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    ports = {}
    deadline = time.monotonic() + 20
    while len(ports) < 2 and time.monotonic() < deadline:
        line = server.stdout.readline()
        if not line:
            break
        m = re.match(r"(echo|chat) listening on \S+:(\d+)", line)
        if m:
            ports[m[1]] = int(m[2])
    assert len(ports) == 2, "the server did not start"
    return server, ports


def test_default_budgets_hold_for_a_lan_address_and_not_for_loopback(bed, tmp_path):
    server, ports = start_server(bed, tmp_path)
    try:
        lan = bed.run_in(bed.client_ns, [sys.executable, "-c", CLIENT, bed.server_addr,
                                         str(ports["chat"]), str(ports["echo"]),
                                         bed.client_addrs[0], "33"], timeout=60)
        assert lan.returncode == 0, lan.stderr
        got = json.loads(lan.stdout)
        assert got["chat"] == ["hello"] * 32 + ["too_many_connections"]
        assert got["echo"] == ["echo"] * 32 + ["closed"]
        # Loopback, in the server's own namespace, is trusted by default.
        local = bed.run_in(bed.server_ns, [sys.executable, "-c", CLIENT, "127.0.0.1",
                                           str(ports["chat"]), str(ports["echo"]),
                                           "127.0.0.1", "40"], timeout=60)
        assert local.returncode == 0, local.stderr
        got = json.loads(local.stdout)
        assert got["chat"] == ["hello"] * 40 and got["echo"] == ["echo"] * 40
    finally:
        server.stdin.close()  # end of input keeps serving; the bed ends it
