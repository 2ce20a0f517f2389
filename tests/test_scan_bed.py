"""``netdesk scan`` against the scanner bed (``tests/scanbed.py``): issue 12.

Many targets, host states, adaptive timeouts, a starved scanner, banners
and Ctrl-C, all checked against hosts whose answers are known: every scan
runs in the bed's client namespace ``nd_sct_cli`` and reaches only the
bed's addresses in 10.200.0.0/16 (the namespace has no route anywhere
else). Needs root, iproute2 and iptables; skips with the reason without
them. ``nmap``, when installed, is asked the same question as a second
opinion.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests import scanbed
from tests.conftest import netdesk_cmd, run_env
from tests.netns import NetnsUnavailable
from tests.scanbed import (
    ALL_OPEN,
    BANNERS,
    HOST,
    HOST_FILTERED,
    SUBNET,
    SUBNET_PREFIX,
    host_expected,
    subnet_expected,
)

ROOT = Path(__file__).resolve().parents[1]
KEYS = {"host", "address", "ports_scanned", "open", "closed", "filtered", "elapsed_s"}
SUBNET_PORTS = [22, 80, 443, 8080]
HOST_OPEN_5000 = [22, 25, 80, 443, 1234, 4444]


@pytest.fixture(scope="module")
def scan_bed():
    """The bed, built once for this module (well under a second) and torn down after."""
    scanbed.skip_unless_available()
    bed = scanbed.ScanBed()
    try:
        bed.__enter__()
    except NetnsUnavailable as e:
        pytest.skip(str(e))
    try:
        yield bed
    finally:
        bed.close()


# -- helpers --------------------------------------------------------------------------
def scan(bed, *args: str, timeout: float = 50.0) -> subprocess.CompletedProcess:
    """``netdesk scan ARGS`` in the client namespace, from this clone."""
    return bed.run_in_client(netdesk_cmd("scan", *args), timeout=timeout, env=run_env(),
                             cwd=ROOT)


def scan_json(bed, *args: str, timeout: float = 50.0) -> dict:
    done = scan(bed, *args, "--json", timeout=timeout)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def start_scan(bed, *args: str) -> subprocess.Popen:
    """``netdesk scan ARGS`` in the client namespace, in a process group of its own
    (``os.killpg(proc.pid, ...)`` reaches any worker processes too)."""
    return bed.popen_in_client(netdesk_cmd("scan", *args), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=run_env(), cwd=ROOT,
                               start_new_session=True)


def addr(i: int) -> str:
    return f"{SUBNET_PREFIX}.{i}"


def check_multi(data: dict, addresses: list[str]) -> list[dict]:
    """The several-host JSON shape, hosts in target order; returns the hosts."""
    assert set(data) == {"hosts", "elapsed_s"}
    assert isinstance(data["elapsed_s"], (int, float))
    hosts = data["hosts"]
    assert [h["address"] for h in hosts] == addresses
    for h in hosts:
        assert set(h) == KEYS | {"state"}, h
        assert h["state"] in ("up", "down")
        assert h["open"] == sorted(h["open"])
        assert len(h["open"]) + h["closed"] + h["filtered"] == h["ports_scanned"]
    return hosts


def check_subnet_host(h: dict, i: int, ports: list[int]) -> None:
    state, open_ = subnet_expected(i, ports)
    assert (h["state"], set(h["open"])) == (state, open_), h
    if state == "down":
        assert h["closed"] == 0, h  # a closed port answers: the host would be up


def scanning(proc: subprocess.Popen) -> bool:
    """Whether a connect of the client namespace is waiting for its answer (a socket in
    SYN-SENT): then a scan is under way. Only the process's namespace is looked at."""
    for name in ("tcp", "tcp6"):
        try:
            with open(f"/proc/{proc.pid}/net/{name}") as f:
                next(f, None)
                if any(line.split()[3] == "02" for line in f if len(line.split()) > 3):
                    return True
        except OSError:
            pass
    return False


def wait_scanning(proc: subprocess.Popen, seconds: float = 20.0) -> bool:
    """Wait until ``proc`` scans (True) or has ended (False)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if scanning(proc):
            return True
        time.sleep(0.001)  # a poll interval inside a deadline
    raise AssertionError(f"the scan did not start within {seconds:g} s")


def killpg(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def nmap_open(bed, ports: list[int], target: str) -> dict[str, set[int]]:
    """nmap's open ports per address (addresses it calls down are left out)."""
    done = bed.run_in_client(["nmap", "-sT", "-n", "-p", ",".join(map(str, ports)),
                              "-oX", "-", target], timeout=60)
    assert done.returncode == 0, done.stderr
    found: dict[str, set[int]] = {}
    for host in ET.fromstring(done.stdout).iter("host"):
        address = host.find("address").get("addr")
        found[address] = {int(p.get("portid")) for p in host.iter("port")
                          if p.find("state").get("state") == "open"}
    return found


PROBE = r"""
import concurrent.futures, errno, json, socket, sys
def probe(item):
    address, port, send, timeout = item
    s = socket.socket()
    s.settimeout(timeout)
    try:
        s.connect((address, port))
    except socket.timeout:
        s.close()
        return ["filtered", ""]
    except ConnectionRefusedError:
        s.close()
        return ["closed", ""]
    except OSError as e:
        s.close()
        return ["unreachable" if e.errno == errno.EHOSTUNREACH else str(e), ""]
    data = b""
    try:
        if send:
            s.sendall(send.encode())
        while len(data) < 4096:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    s.close()
    return ["open", data.decode(errors="replace")]
items = json.loads(sys.argv[1])
with concurrent.futures.ThreadPoolExecutor(len(items)) as pool:
    print(json.dumps(list(pool.map(probe, items))))
"""


# -- the bed itself (no netdesk): a failure here is the bed's, not the scanner's -----
def test_the_bed_answers_as_documented(scan_bed):
    head = "HEAD / HTTP/1.0\r\n\r\n"
    cases = [  # (address, port, bytes to send, connect timeout), expected state, text
        ((HOST, 22, "", 3), "open", BANNERS[22]),
        ((HOST, 25, "", 3), "open", BANNERS[25]),
        ((HOST, 80, head, 3), "open", scanbed.HTTP_RESPONSE),
        ((HOST, 31337, "", 3), "open", ""),
        ((HOST, 4444, "", 3), "open", ""),
        ((HOST, 2500, "", 1), "filtered", ""),
        ((HOST, 2999, "", 1), "filtered", ""),
        ((HOST, 1999, "", 3), "closed", ""),
        ((HOST, 3000, "", 3), "closed", ""),
        ((addr(7), 8080, "", 3), "open", ""),
        ((addr(7), 22, "", 1), "filtered", ""),
        ((addr(7), 2000, "", 3), "closed", ""),
        ((addr(9), 8080, "", 1), "filtered", ""),
        ((addr(30), 22, "", 3), "open", ""),
        ((addr(30), 443, "", 3), "open", ""),
        ((addr(1), 22, "", 3), "closed", ""),
        ((addr(41), 8080, "", 1), "filtered", ""),
        ((addr(60), 22, "", 1), "filtered", ""),
        ((addr(61), 8080, "", 10), "unreachable", ""),  # ARP gives up after ~3 s
        ((ALL_OPEN, 1, "", 3), "open", ""),
        ((ALL_OPEN, 2000, "", 3), "open", ""),
        ((ALL_OPEN, 2001, "", 3), "closed", ""),
    ]
    before = scan_bed.packets_sent()
    done = scan_bed.run_in_client([sys.executable, "-c", PROBE,
                                   json.dumps([c[0] for c in cases])], timeout=30)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert [g[0] for g in got] == [c[1] for c in cases]
    assert [g[1] for g in got] == [c[2] for c in cases]
    assert scan_bed.packets_sent() > before


# -- one host: today's JSON object ----------------------------------------------------
def test_one_host_json_is_todays_object(scan_bed):
    data = scan_json(scan_bed, HOST, "-p", "20-30,80,443,2500")
    assert set(data) == KEYS
    assert (data["host"], data["address"]) == (HOST, HOST)
    assert data["open"] == [22, 25, 80, 443]
    assert (data["ports_scanned"], data["closed"], data["filtered"]) == (14, 9, 1)


# -- target forms -----------------------------------------------------------------------
def test_lists_and_commas_keep_the_target_order(scan_bed):
    data = scan_json(scan_bed, f"{addr(3)},{addr(1)}", addr(2), "-p", "22,8080")
    hosts = check_multi(data, [addr(3), addr(1), addr(2)])
    for h, i in zip(hosts, (3, 1, 2)):
        assert h["host"] == h["address"]
        check_subnet_host(h, i, [22, 8080])
        assert h["ports_scanned"] == 2


def test_a_range_of_addresses(scan_bed):
    data = scan_json(scan_bed, f"{SUBNET_PREFIX}.1-40", "-p", "8080")
    hosts = check_multi(data, [addr(i) for i in range(1, 41)])
    for h, i in zip(hosts, range(1, 41)):
        check_subnet_host(h, i, [8080])
    assert [h["address"] for h in hosts if h["state"] == "down"] == [addr(9)]
    assert hosts[6]["open"] == [8080]  # .7: ports 1-1024 dropped, 8080 answers


def test_targets_from_a_file(scan_bed, tmp_path):
    listing = tmp_path / "targets.txt"
    listing.write_text(f"# bed hosts, one a line\n{addr(10)}\n# a range\n"
                       f"{SUBNET_PREFIX}.5-6\n{addr(11)}\n")
    data = scan_json(scan_bed, "-iL", str(listing), "-p", "80,443,8080")
    hosts = check_multi(data, [addr(10), addr(5), addr(6), addr(11)])
    for h, i in zip(hosts, (10, 5, 6, 11)):
        check_subnet_host(h, i, [80, 443, 8080])


def test_the_host_name_localhost(scan_bed):
    data = scan_json(scan_bed, "localhost", addr(2), "-p", "22,8080")
    hosts = data["hosts"]
    assert [h["host"] for h in hosts] == ["localhost", addr(2)]
    local, bed_host = hosts
    # The client namespace's loopback has no listeners: its closed ports answer.
    assert local["address"] in ("127.0.0.1", "::1")
    assert (local["state"], local["open"], local["closed"]) == ("up", [], 2)
    check_subnet_host(bed_host, 2, [22, 8080])


def test_an_ipv6_literal(scan_bed):
    if not scan_bed.ipv6_loopback():
        pytest.skip("no IPv6 on the client namespace's loopback")
    listener = scan_bed.popen_in_client(
        [sys.executable, "-c", "import socket, sys; s = socket.socket(socket.AF_INET6);"
         "s.bind(('::1', 0)); s.listen(); print(s.getsockname()[1], flush=True);"
         "sys.stdin.read()"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        port = int(listener.stdout.readline())
        data = scan_json(scan_bed, f"::1,{addr(3)}", "-p", f"{port},8080")
        hosts = check_multi(data, ["::1", addr(3)])
        assert (hosts[0]["state"], hosts[0]["open"]) == ("up", [port])
        check_subnet_host(hosts[1], 3, [port, 8080])
    finally:
        scan_bed.end(listener)


# -- --max-hosts: refused before anything is sent -------------------------------------------
def check_refused(done: subprocess.CompletedProcess) -> None:
    assert done.returncode == 2, (done.returncode, done.stdout[-300:], done.stderr[-300:])
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "max-hosts" in done.stderr
    assert done.stdout == ""


def test_a_slash_8_is_more_than_the_default_max_hosts(scan_bed):
    # Built from parts: the address is only ever an argument that must be refused
    # before any probe (and the client namespace has no route to it anyway).
    wide = ".".join(["10", "0", "0", "0"]) + "/8"
    check_refused(scan(scan_bed, wide, "-p", "80", timeout=20))


def test_max_hosts_counts_every_target_and_nothing_is_sent(scan_bed):
    before = scan_bed.packets_sent()
    check_refused(scan(scan_bed, SUBNET, "--max-hosts", "255", "-p", "8080", timeout=20))
    check_refused(scan(scan_bed, f"{SUBNET_PREFIX}.1-20", f"{SUBNET_PREFIX}.21-40",
                       "--max-hosts", "39", "-p", "8080", timeout=20))
    assert scan_bed.packets_sent() == before  # no probe went out
    data = scan_json(scan_bed, f"{SUBNET_PREFIX}.1-20", f"{SUBNET_PREFIX}.21-40",
                     "--max-hosts", "40", "-p", "8080")
    assert len(data["hosts"]) == 40


# -- host states ------------------------------------------------------------------------
@pytest.mark.parametrize("flags", [[], ["--skip-down"], ["-Pn"]])
def test_down_hosts_are_listed_as_down(scan_bed, flags):
    targets = [addr(8), addr(9), addr(41), addr(61)]
    data = scan_json(scan_bed, ",".join(targets), "-p", "22,8080", *flags, timeout=50)
    hosts = check_multi(data, targets)
    for h, i in zip(hosts, (8, 9, 41, 61)):
        check_subnet_host(h, i, [22, 8080])
    assert hosts[0]["ports_scanned"] == 2
    if flags == ["-Pn"]:  # every host scanned: the dropping ones read filtered
        assert [h["ports_scanned"] for h in hosts] == [2, 2, 2, 2]
        assert (hosts[1]["filtered"], hosts[2]["filtered"]) == (2, 2)


@pytest.mark.timeout(180)
def test_a_subnet_matches_the_listener_rule_and_nmap(scan_bed):
    data = scan_json(scan_bed, SUBNET, "-p", ",".join(map(str, SUBNET_PORTS)), timeout=120)
    hosts = check_multi(data, [addr(i) for i in range(256)])
    for i, h in enumerate(hosts):
        check_subnet_host(h, i, SUBNET_PORTS)
        if h["state"] == "up":
            assert h["ports_scanned"] == 4
            assert h["filtered"] == (3 if i == scanbed.SUBNET_DROP_LOW else 0), h
    assert [i for i, h in enumerate(hosts) if h["state"] == "up"] == [
        i for i in range(1, 41) if i != scanbed.SUBNET_DROP_ALL]
    if shutil.which("nmap") is None:
        return  # the second opinion needs nmap; the rule above was checked
    theirs = nmap_open(scan_bed, SUBNET_PORTS, SUBNET)
    ours = {h["address"]: set(h["open"]) for h in hosts}
    assert ours == {a: theirs.get(a, set()) for a in ours}


def test_text_output_for_several_hosts(scan_bed):
    done = scan(scan_bed, f"{SUBNET_PREFIX}.1-4,{addr(9)}", "-p", "22,80,443,8080")
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    starts = [n for n, line in enumerate(lines) if line.startswith("Host ")]
    for i in range(1, 5):
        head = f"Host {addr(i)} ({addr(i)}) up"
        at = [n for n in starts if lines[n].startswith(head)]
        assert len(at) == 1, (head, done.stdout)
        following = [n for n in starts if n > at[0]]
        section = lines[at[0] + 1: following[0] if following else len(lines)]
        ports = {int(line.split()[1]) for line in section if line.startswith("Port ")}
        assert ports == subnet_expected(i, SUBNET_PORTS)[1], (i, section)
        assert any("open," in line and "closed" in line for line in section), section
    assert not any(lines[n].startswith(f"Host {addr(9)} ") and " up" in lines[n]
                   for n in starts)
    last = lines[-1]
    assert "up" in last and "down" in last, last
    assert {"4", "1"} <= set(re.findall(r"\d+", last)), last


# -- timing -------------------------------------------------------------------------------
@pytest.mark.parametrize("flags", [[], ["--timeout", "5"]])
def test_timeouts_come_from_the_measured_round_trip(scan_bed, flags):
    data = scan_json(scan_bed, HOST, "-p", "1-5000", *flags)
    want = host_expected(range(1, 5001))
    assert want["open"] == HOST_OPEN_5000 and want["filtered"] == len(HOST_FILTERED)
    assert data["open"] == HOST_OPEN_5000
    assert (data["ports_scanned"], data["filtered"], data["closed"]) == (
        5000, 1000, want["closed"])
    if flags:
        # Generous: the bed's round trip is tens of microseconds, so a timeout
        # derived from it (with any sane margin, floor and one retry) is far
        # below a second. A scanner that let the 1000 dropped ports wait the
        # 5 s --timeout cap, even all at once, would take 5 s; waiting it
        # twice (a retry) 10 s.
        assert data["elapsed_s"] < 5


def test_a_starved_scanner_calls_only_the_dropped_ports_filtered(scan_bed):
    """SIGSTOP freezes the whole scan (every process of its group) past its
    deadlines while the kernel collects answers; ports that answered
    meanwhile must not expire as 'filtered'."""
    proc = start_scan(scan_bed, HOST, "-p", "1-5000", "--timeout", "0.5", "--json")
    try:
        wait_scanning(proc)
        for _ in range(5):  # freeze it five times, each as long as the --timeout
            killpg(proc, signal.SIGSTOP)
            time.sleep(0.5)  # the starvation itself, not a synchronisation
            killpg(proc, signal.SIGCONT)
            time.sleep(0.05)
        out, err = proc.communicate(timeout=50)
    finally:
        killpg(proc, signal.SIGCONT)
        scan_bed.end(proc)
    assert proc.returncode == 0, err
    data = json.loads(out)
    assert data["open"] == HOST_OPEN_5000
    assert (data["ports_scanned"], data["filtered"]) == (5000, 1000)


# -- banners ------------------------------------------------------------------------------
def test_banners_in_json(scan_bed):
    data = scan_json(scan_bed, HOST, "-p", "22,25,80", "--banners")
    assert set(data) == KEYS | {"banners"}
    assert data["open"] == [22, 25, 80]
    banners = data["banners"]
    assert "SSH-2.0-OpenSSH_9.2p1" in banners["22"]
    assert "220" in banners["25"]
    assert "HTTP/1.0 200" in banners["80"] and "netdesk-bed" in banners["80"]


def test_banners_in_text_follow_their_port(scan_bed):
    done = scan(scan_bed, HOST, "-p", "22,25,80", "--banners")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()

    def where(predicate, what):
        found = [n for n, line in enumerate(lines) if predicate(line)]
        assert found, (what, done.stdout)
        return found[0]

    port_at = {p: where(lambda line, p=p: line.startswith(f"Port {p} open"), p)
               for p in (22, 25, 80)}
    assert port_at[22] < port_at[25] < port_at[80]
    ssh = where(lambda line: "SSH-2.0-OpenSSH_9.2p1" in line, "ssh banner")
    smtp = where(lambda line: "220 bed.example" in line, "smtp banner")
    http = where(lambda line: "HTTP/1.0 200" in line, "http banner")
    assert port_at[22] <= ssh < port_at[25] <= smtp < port_at[80] <= http


# -- Ctrl-C -------------------------------------------------------------------------------
def test_ctrl_c_exits_130_with_what_was_found(scan_bed):
    proc = start_scan(scan_bed, SUBNET, "-Pn", "-p", "1-65535")
    try:
        assert wait_scanning(proc), "the scan ended before it could be interrupted"
        killpg(proc, signal.SIGINT)  # what Ctrl-C does: the whole foreground group
        out, err = proc.communicate(timeout=30)
    finally:
        scan_bed.end(proc)
    assert proc.returncode == 130, err[-500:]
    assert "interrupted" in err
    assert "Host " in out or "interrupted" in out, out[-500:]
