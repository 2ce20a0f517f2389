"""Service names from the services file, read once, with a built-in fallback."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest

from net.scan import services
from net.scan.services import (
    FALLBACK,
    load_table,
    parse_services,
    service_name,
    services_path,
    services_table,
)

ETC_SERVICES = "/etc/services"


@pytest.mark.skipif(not os.path.exists(ETC_SERVICES), reason="no /etc/services here")
def test_names_match_getservbyport():
    table = load_table(ETC_SERVICES)
    assert table is not FALLBACK and 22 in table
    ports = sorted(table)
    sample = ports[::max(1, len(ports) // 200)] + [22, 25, 80, 443]
    for port in sample:
        if port in table:
            assert service_name(port) == socket.getservbyport(port, "tcp"), port


@pytest.mark.skipif(services_path() != Path(ETC_SERVICES)
                    or not os.path.exists(ETC_SERVICES), reason="not this platform's file")
def test_the_table_is_the_platforms_file():
    assert services_table() == load_table(ETC_SERVICES)


def test_unknown_ports_have_no_name():
    table = services_table()
    free = next(p for p in range(65535, 0, -1) if p not in table)
    assert service_name(free) == ""
    assert service_name(70000) == ""
    assert service_name(-1) == ""


def test_missing_file_falls_back(tmp_path):
    table = load_table(tmp_path / "no-such-services")
    assert table == FALLBACK
    assert table[22] == "ssh" and table[5432] == "postgresql" and table[3389] == "ms-wbt-server"
    assert len(FALLBACK) >= 40
    table[22] = "changed"  # a copy: the fallback itself is untouched
    assert FALLBACK[22] == "ssh"


def test_unreadable_or_useless_file_falls_back(tmp_path):
    assert load_table(tmp_path) == FALLBACK  # a directory
    (tmp_path / "empty").write_text("# nothing but comments\n\n")
    assert load_table(tmp_path / "empty") == FALLBACK
    assert load_table("bad\0path") == FALLBACK


def test_parsing_rules(tmp_path):
    path = tmp_path / "services"
    path.write_bytes(
        b"# a comment\n"
        b"ssh\t\t22/tcp\t\t\t# SSH Remote Login Protocol\n"
        b"secure-shell 22/tcp\n"          # the first name for a port wins
        b"domain 53/udp\n"                # udp only: not ours
        b"domain 53/tcp dns nameserver\n"  # aliases ignored
        b"weird 99/TCP\n"                 # glibc matches "tcp" exactly
        b"big 70000/tcp\n"
        b"digits \xd9\xa8\xd9\xa0/tcp\n"    # Arabic-Indic digits are no port number
        b"broken\n"
        b"   \n"
        b"caf\xe9 8081/tcp\n")            # not UTF-8: still a line
    table = load_table(path)
    assert table == {22: "ssh", 53: "domain", 8081: "caf\ufffd"}
    assert parse_services("x 0/tcp\n") == {0: "x"}


def test_read_once_by_many_threads(monkeypatch):
    """Lazily, once, however many threads ask at the same moment."""
    calls = []
    gate = threading.Barrier(8)

    def fake_load(path=None):
        calls.append(path)
        return {22: "ssh"}

    monkeypatch.setattr(services, "_table", None)
    monkeypatch.setattr(services, "load_table", fake_load)
    seen = []

    def ask():
        gate.wait(timeout=10)
        seen.append(service_name(22))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert seen == ["ssh"] * 8
    assert len(calls) == 1
    assert service_name(23) == "" and len(calls) == 1


def test_every_port_looked_up():
    """A full scan's worth of lookups: no file read per call."""
    names = [service_name(p) for p in range(1, 65536)]
    assert len(names) == 65535
    assert names[22 - 1] == services_table().get(22, "")
