"""A scanner test bed in two network namespaces, for pytest.

    with ScanBed() as bed:
        done = bed.run_in_client(["nmap", "-sT", "-n", "-Pn", "-p", "1-100", HOST], 60)

A scaled-down copy of ``../shared/testbed/scanbed``: namespaces
``nd_sct_cli`` (``10.200.0.1/16``, where scanners run) and ``nd_sct_tgt``
(every target address) joined by a veth pair. Nothing is routed anywhere
else: neither namespace has a default route, so nothing sent from them
leaves the machine. The targets, all reached from the client namespace:

  10.200.0.2      open 22 25 80 443 1234 4444 31337 (``HOST_OPEN``); ports
                  2000-2999 silently dropped, so 1000 filtered (2500 listens
                  behind the drop and reads "filtered"); closed the rest.
                  22 greets ``SSH-2.0-OpenSSH_9.2p1 bed``, 25 greets
                  ``220 bed.example ESMTP`` (``BANNERS``), 80 answers an HTTP
                  request with ``HTTP_RESPONSE`` (``Server: netdesk-bed``).
  10.200.1.0/24   .1-.40 up: host i listens on 8080, on 22 when i is even, on
                  80 when i % 3 == 0, on 443 when i % 5 == 0 (``subnet_open``);
                  .7 drops TCP ports 1-1024, .9 drops everything;
                  .41-.60 drop everything; .0 and .61-.255 are not assigned
                  (nothing answers ARP: connects end "unreachable" after ~3 s).
                  ``subnet_expected`` gives each address's state and open set.
  10.200.2.1      ports 1-2000 all open (``ALL_OPEN_PORTS``), closed the rest;
                  ``ScanBed(all_open_ports=EVERY_PORT)`` opens all 1-65535
                  (the benchmarks' stress case), in listener processes of
                  their own (``LISTENERS_PER_PROCESS`` each, under the fd limit).

``ScanBed(namespaces=("nd_xyz_cli", "nd_xyz_tgt"))`` builds the same bed under
other names, beside a test run's (which deletes beds of the default names).

Every listener lives in one Python process in the target namespace (a
selector loop, as in scanbed); it also ends by itself when the process that
built the bed goes away (its stdin is a pipe from us). The client namespace
counts the IPv4 packets it sends into the bed (``packets_sent``), so a test
can show that a command sent nothing.

Needs Linux, root, ``ip`` (iproute2) and ``iptables``; without them
``__enter__`` raises ``NetnsUnavailable`` with the reason, and
``skip_unless_available()`` skips a pytest test with it. Namespaces of the
bed's names left by a run that died are deleted (their processes ended by
id) before building. On exit every process the bed started is ended and both
namespaces are deleted, also when the body raised. The module prints nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence

from tests.netns import (
    IP_TIMEOUT,
    NamespaceBed,
    NetnsError,
    NetnsUnavailable,
    _ip,
    existing_namespaces,
)
from tests.netns import unavailable_reason as _netns_unavailable_reason

CLIENT_NS = "nd_sct_cli"
TARGET_NS = "nd_sct_tgt"
CLIENT_VETH, TARGET_VETH = "nd_sct_vc", "nd_sct_vt"
CLIENT_ADDR = "10.200.0.1"

HOST = "10.200.0.2"
HOST_OPEN = (22, 25, 80, 443, 1234, 4444, 31337)
HOST_FILTERED = range(2000, 3000)  # dropped; 2500 listens behind the drop
HOST_HIDDEN = 2500

SUBNET = "10.200.1.0/24"
SUBNET_PREFIX = "10.200.1"
SUBNET_UP = range(1, 41)  # .1-.40 have listeners (.7 and .9 behind drops)
SUBNET_ASSIGNED = range(1, 61)  # .41-.60 exist but drop everything
SUBNET_DROP_LOW = 7  # drops TCP ports 1-1024
SUBNET_DROP_ALL = 9  # drops everything

ALL_OPEN = "10.200.2.1"
ALL_OPEN_PORTS = range(1, 2001)
EVERY_PORT = range(1, 65536)
# Listeners one process holds when the all-open range is wider than the
# default: well under a 20,000-file limit, as ../shared/testbed/scanbed does.
LISTENERS_PER_PROCESS = 16384

BANNERS = {22: "SSH-2.0-OpenSSH_9.2p1 bed\r\n", 25: "220 bed.example ESMTP\r\n"}
HTTP_RESPONSE = "HTTP/1.0 200 OK\r\nServer: netdesk-bed\r\n\r\n"

BUILD_TIMEOUT = 20.0  # seconds for the listeners to show up

_IPTABLES_RULES = [
    ["-A", "INPUT", "-d", HOST, "-p", "tcp", "--dport",
     f"{HOST_FILTERED.start}:{HOST_FILTERED.stop - 1}", "-j", "DROP"],
    ["-A", "INPUT", "-d", f"{SUBNET_PREFIX}.{SUBNET_DROP_LOW}", "-p", "tcp", "--dport",
     "1:1024", "-j", "DROP"],
    ["-A", "INPUT", "-d", f"{SUBNET_PREFIX}.{SUBNET_DROP_ALL}", "-j", "DROP"],
    ["-A", "INPUT", "-m", "iprange", "--dst-range",
     f"{SUBNET_PREFIX}.{SUBNET_UP.stop}-{SUBNET_PREFIX}.{SUBNET_ASSIGNED.stop - 1}",
     "-j", "DROP"],
]
# The client namespace's own counter: a rule with no target only counts.
_COUNT_RULE = ["OUTPUT", "-d", "10.200.0.0/16"]


# -- what the bed holds ------------------------------------------------------------
def subnet_open(i: int, ports: Sequence[int] | None = None) -> set[int]:
    """The open ports of ``10.200.1.<i>`` (among ``ports`` when given)."""
    if i not in SUBNET_UP or i == SUBNET_DROP_ALL:
        found: set[int] = set()
    else:
        found = {8080} | {p for p, m in ((22, 2), (80, 3), (443, 5)) if i % m == 0}
        if i == SUBNET_DROP_LOW:
            found = {p for p in found if p > 1024}
    return found if ports is None else found & set(ports)


def subnet_expected(i: int, ports: Sequence[int]) -> tuple[str, set[int]]:
    """(``"up"`` or ``"down"``, open ports) of ``10.200.1.<i>`` scanned on ``ports``:
    up when any port answers (open or closed). Only the dropping hosts keep
    quiet on some ports; a host that exists and drops nothing answers them all."""
    if i not in SUBNET_UP or i == SUBNET_DROP_ALL:
        return "down", set()
    if i == SUBNET_DROP_LOW and all(p <= 1024 for p in ports):
        return "down", set()
    return "up", subnet_open(i, ports)


def host_expected(ports: Sequence[int]) -> dict:
    """open (sorted), closed and filtered counts of ``HOST`` scanned on ``ports``."""
    ports = set(ports)
    filtered = len(ports & set(HOST_FILTERED))
    open_ = sorted(ports & (set(HOST_OPEN) - set(HOST_FILTERED)))
    return {"open": open_, "filtered": filtered,
            "closed": len(ports) - filtered - len(open_)}


def _listener_spec(all_open: range | None = ALL_OPEN_PORTS) -> list[list]:
    """[address, first port, last port, kind] for the listener process
    (without the all-open host when ``all_open`` is None)."""
    spec: list[list] = [[HOST, 22, 22, "ssh"], [HOST, 25, 25, "smtp"],
                        [HOST, 80, 80, "http"]]
    spec += [[HOST, p, p, "plain"] for p in (443, 1234, 4444, HOST_HIDDEN, 31337)]
    for i in SUBNET_UP:
        # .7 and .9 listen like the others; their drops hide the listeners.
        ports = {8080} | {p for p, m in ((22, 2), (80, 3), (443, 5)) if i % m == 0}
        spec += [[f"{SUBNET_PREFIX}.{i}", p, p, "plain"] for p in sorted(ports)]
    if all_open is not None:
        spec.append([ALL_OPEN, all_open.start, all_open.stop - 1, "plain"])
    return spec


def _all_open_chunks(all_open: range) -> list[list[list]]:
    """The wide all-open range as one listener spec per extra process."""
    return [[[ALL_OPEN, first, min(first + LISTENERS_PER_PROCESS, all_open.stop) - 1, "plain"]]
            for first in range(all_open.start, all_open.stop, LISTENERS_PER_PROCESS)]


def _listener_count(spec: list[list]) -> int:
    return sum(last - first + 1 for _, first, last, _ in spec)


# One process, one selector: plain listeners accept and close; "ssh" and
# "smtp" send their greeting; "http" answers the first request (HEAD: the head
# alone, other methods: a short body too, a first line that is no request
# line: 400 at once). Each then shuts down its sending side and drains what
# the client still sends until the client closes (or 5 s pass), so the client
# reads the text and then end-of-file, never a reset. End of file on stdin
# (the bed's owner is gone) ends the process.
_LISTENER = r"""
import json, re, resource, selectors, socket, sys, time
spec = json.loads(sys.argv[1])
banners = {k: v.encode() for k, v in json.loads(sys.argv[2]).items()}
http_head = sys.argv[3].encode()
bad_request = b"HTTP/1.0 400 Bad Request\r\nServer: netdesk-bed\r\n\r\n"
request_line = re.compile(rb"[A-Z]+ \S+ HTTP/\d\.\d\r?$")
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
sel = selectors.DefaultSelector()
for addr, first, last, kind in spec:
    for port in range(first, last + 1):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
        s.listen(1024)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, ("listen", kind))
sel.register(sys.stdin, selectors.EVENT_READ, ("owner", None))
conns = {}  # socket -> [kind, received bytes, deadline, answered]
end_of_life = time.monotonic() + 3 * 3600

def drop(c):
    sel.unregister(c)
    conns.pop(c, None)
    c.close()

def answer(c, data):
    try:
        c.sendall(data)
        c.shutdown(socket.SHUT_WR)
    except OSError:
        drop(c)
        return
    conns[c][3] = True

while time.monotonic() < end_of_life:
    for key, _ in sel.select(1.0):
        what, kind = key.data
        if what == "owner":
            sys.exit(0)
        if what == "listen":
            while True:
                try:
                    c, _ = key.fileobj.accept()
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    break
                if kind == "plain":
                    c.close()
                    continue
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ, ("conn", kind))
                conns[c] = [kind, b"", time.monotonic() + 5.0, False]
                if kind in banners:
                    answer(c, banners[kind])
            continue
        c = key.fileobj
        try:
            data = c.recv(65536)
        except OSError:
            data = b""
        if not data:
            drop(c)
            continue
        state = conns[c]
        if kind == "http" and not state[3]:
            state[1] += data
            head = state[1]
            first = head.split(b"\n", 1)[0]
            if b"\n" in head and not request_line.match(first):
                answer(c, bad_request)
            elif b"\r\n\r\n" in head or b"\n\n" in head:
                body = b"" if head.startswith(b"HEAD") else b"netdesk bed\n"
                reply = http_head
                if body:
                    reply = reply[:-2] + b"Content-Length: %d\r\n\r\n" % len(body) + body
                answer(c, reply)
    now = time.monotonic()
    for c in [c for c, state in conns.items() if state[2] < now]:
        drop(c)
"""


def unavailable_reason() -> str | None:
    """Why the bed cannot be built here, or None when it can."""
    reason = _netns_unavailable_reason()
    if reason is not None:
        return reason
    if shutil.which("iptables") is None:
        return "the 'iptables' command is missing (apt-get install -y iptables)"
    return None


def skip_unless_available() -> None:
    """In a pytest test or fixture: skip, with the reason, when the bed cannot be built."""
    reason = unavailable_reason()
    if reason is not None:
        import pytest

        pytest.skip(reason)


def _run(argv: Sequence[str], what: str, input: str | None = None,
         check: bool = True) -> subprocess.CompletedProcess:
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, input=input,
                              timeout=IP_TIMEOUT)
    except subprocess.TimeoutExpired as e:
        raise NetnsError(f"{what} took over {IP_TIMEOUT:g} s") from e
    if check and done.returncode != 0:
        raise NetnsError(f"{what} failed: {done.stderr.strip()}")
    return done


def remove_stale(names: Sequence[str] = (CLIENT_NS, TARGET_NS)) -> list[str]:
    """Delete namespaces of the bed's names left by a run that died, ending the
    processes still inside them (by id) first. Returns the names deleted."""
    stale = sorted(existing_namespaces() & set(names))
    for ns in stale:
        pids = _ip("netns", "pids", ns, check=False).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ValueError, ProcessLookupError):
                pass
        _ip("netns", "del", ns, check=False)
    return stale


class ScanBed(NamespaceBed):
    """The bed as a context manager; see the module docstring."""

    client_ns = CLIENT_NS
    target_ns = TARGET_NS
    unavailable_reason = staticmethod(unavailable_reason)

    def __init__(self, all_open_ports: range = ALL_OPEN_PORTS,
                 namespaces: tuple[str, str] = (CLIENT_NS, TARGET_NS)) -> None:
        if not (all_open_ports and all_open_ports.step == 1 and all_open_ports.start >= 1
                and all_open_ports.stop <= 65536):
            raise ValueError("all_open_ports must be a range within 1-65535")
        super().__init__()
        self.all_open_ports = all_open_ports
        # A bed of other names (a benchmark's) lives beside the tests' bed,
        # which a test run rebuilds whenever it starts.
        self.client_ns, self.target_ns = namespaces
        self.namespaces = (self.client_ns, self.target_ns)
        self._listener: subprocess.Popen | None = None

    # -- building ----------------------------------------------------------------------
    def _build(self) -> None:
        remove_stale(self.namespaces)
        self._add_namespaces()
        # Both ends are created inside their namespaces: no name meets the host's.
        _ip("link", "add", CLIENT_VETH, "netns", self.client_ns, "type", "veth",
            "peer", "name", TARGET_VETH, "netns", self.target_ns)
        # IPv4 only on the veth: no router solicitations or MLD reports, so the
        # only packets on the wire are the ones tests send (lo keeps ::1).
        for ns, dev in ((self.client_ns, CLIENT_VETH), (self.target_ns, TARGET_VETH)):
            _run(["ip", "netns", "exec", ns, "sysctl", "-qw",
                  f"net.ipv6.conf.{dev}.disable_ipv6=1"], "disabling IPv6 on the veth",
                 check=False)
        _ip("-n", self.client_ns, "addr", "add", f"{CLIENT_ADDR}/16", "dev", CLIENT_VETH)
        addrs = [HOST] + [f"{SUBNET_PREFIX}.{i}" for i in SUBNET_ASSIGNED] + [ALL_OPEN]
        batch = "".join(f"addr add {a}/16 dev {TARGET_VETH}\n" for a in addrs)
        _run(["ip", "-n", self.target_ns, "-batch", "-"], "adding the target addresses",
             input=batch)
        for ns, dev in ((self.client_ns, CLIENT_VETH), (self.target_ns, TARGET_VETH)):
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", ns, "link", "set", dev, "up")
        self._firewall()
        self._start_listeners()
        self._wait_link_up(self.client_ns, CLIENT_VETH)

    def _firewall(self) -> None:
        for i, rule in enumerate(_IPTABLES_RULES):
            done = _run(["ip", "netns", "exec", self.target_ns, "iptables", *rule],
                        f"'iptables {' '.join(rule)}'", check=False)
            if done.returncode != 0:
                msg = done.stderr.strip()
                if i == 0:  # the first rule tells whether iptables works here at all
                    raise NetnsUnavailable(f"iptables does not work in a namespace here: {msg}")
                raise NetnsError(f"'iptables {' '.join(rule)}' failed: {msg}")
        _run(["ip", "netns", "exec", self.client_ns, "iptables", "-A", *_COUNT_RULE],
             "the client's packet counter")

    def _start_listeners(self) -> None:
        wide = len(self.all_open_ports) > LISTENERS_PER_PROCESS
        specs = [_listener_spec(None if wide else self.all_open_ports)]
        if wide:
            specs += _all_open_chunks(self.all_open_ports)
        want = sum(_listener_count(spec) for spec in specs)
        listeners = [self._start_listener(spec) for spec in specs]
        self._listener = listeners[0]
        deadline = time.monotonic() + BUILD_TIMEOUT
        while True:
            for listener in listeners:
                if listener.poll() is not None:
                    # It writes to stderr only when it dies: reading cannot block.
                    err = listener.stderr.read().decode(errors="replace").strip()
                    raise NetnsError(f"the listener process ended ({listener.returncode}):"
                                     f" {err[-500:]}")
            done = _run(["ip", "netns", "exec", self.target_ns, "ss", "-Hltn"], "ss", check=False)
            if done.returncode == 0 and len(done.stdout.splitlines()) >= want:
                return
            if time.monotonic() > deadline:
                raise NetnsError(f"the {want} listeners did not show up within "
                                 f"{BUILD_TIMEOUT:g} s")
            time.sleep(0.05)  # a poll interval inside a deadline

    def _start_listener(self, spec: list[list]) -> subprocess.Popen:
        listener = subprocess.Popen(
            ["ip", "netns", "exec", self.target_ns, sys.executable, "-c", _LISTENER,
             json.dumps(spec, separators=(",", ":")),
             json.dumps({"ssh": BANNERS[22], "smtp": BANNERS[25]}), HTTP_RESPONSE],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            start_new_session=True)
        self._procs.append(listener)
        return listener

    # -- running things inside ------------------------------------------------------
    def run_in_client(self, argv: Sequence[str], timeout: float = 60.0,
                      **kwargs) -> subprocess.CompletedProcess:
        """``run_in`` the client namespace, where scanners run."""
        return self.run_in(self.client_ns, argv, timeout, **kwargs)

    def popen_in_client(self, argv: Sequence[str], **kwargs) -> subprocess.Popen:
        """``popen_in`` the client namespace, where scanners run."""
        return self.popen_in(self.client_ns, argv, **kwargs)

    # -- looking at it -----------------------------------------------------------------
    def packets_sent(self) -> int:
        """IPv4 packets sent so far from the client namespace into 10.200.0.0/16."""
        out = _run(["ip", "netns", "exec", self.client_ns, "iptables", "-w", "5", "-nvxL",
                    "OUTPUT"], "reading the packet counter").stdout
        for line in out.splitlines():
            fields = line.split()
            if len(fields) >= 8 and fields[0].isdigit() and fields[7] == "10.200.0.0/16":
                return int(fields[0])
        raise NetnsError(f"no packet counter in the client namespace: {out!r}")

    def ipv6_loopback(self) -> bool:
        """Whether ``::1`` works in the client namespace."""
        done = self.run_in_client(
            [sys.executable, "-c", "import socket; s = socket.socket(socket.AF_INET6);"
             " s.bind(('::1', 0))"], timeout=20)
        return done.returncode == 0
