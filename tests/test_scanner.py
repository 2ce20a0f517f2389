"""The scanner engine and ``netdesk scan`` against listeners on loopback."""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from net.scan.engine import (
    HostDone,
    PortOpen,
    Progress,
    ScanError,
    ScanFinished,
    Scanner,
    classify,
    is_self_connect,
)
from net.scan.ports import PortSpecError, parse_ports
from tests.conftest import listen_on, netdesk_cmd, run_env

STRATEGIES = ["fast", "threads", "sequential"]
# The fast strategy's other code paths: the selectors path of systems without
# epoll or socket reuse (macOS, Windows), and worker processes.
VARIANTS = [("fast", {}), ("threads", {}), ("sequential", {}), ("fast", {"portable": True}),
            ("fast", {"procs": 2}), ("fast", {"threads": 3})]
VARIANT_IDS = ["fast", "threads", "sequential", "fast-portable", "fast-procs2", "fast-threads3"]


def ephemeral_range() -> tuple[int, int]:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = f.read().split()
        return int(low), int(high)
    except OSError:
        return 49152, 65535


@pytest.fixture
def listeners():
    """Listening sockets on 127.0.0.1: some on any port, two in the ephemeral range."""
    low, high = ephemeral_range()
    socks = listen_on(count=4)
    socks += listen_on(list(range(high - 200, high - 180)), most=2)
    yield sorted(s.getsockname()[1] for s in socks)
    for s in socks:
        s.close()


def spec_around(ports: list[int], width: int = 300) -> str:
    return ",".join(f"{max(1, p - width)}-{min(65535, p + width)}" for p in ports)


def others_open(ports: list[int], width: int = 300) -> set[int]:
    """Ports open on this machine near ours that the test did not open."""
    found = Scanner("127.0.0.1", spec_around(ports, width)).run().open
    return {p for p, _ in found} - set(ports)


@pytest.mark.parametrize("strategy,options", VARIANTS, ids=VARIANT_IDS)
def test_exact_open_set_in_ascending_order_on_repeated_runs(listeners, strategy, options):
    spec = spec_around(listeners, 150)
    background = others_open(listeners, 150)
    for _ in range(2):
        result = Scanner("127.0.0.1", spec, strategy=strategy, timeout=1.0, **options).run()
        opened = [p for p, _ in result.open]
        assert opened == sorted(opened)
        assert set(opened) - background == set(listeners)
        assert result.filtered == 0
        assert result.closed + len(opened) == result.ports_scanned == len(parse_ports(spec))


def test_events_progress_open_ports_and_end(listeners):
    events = []
    result = Scanner("127.0.0.1", spec_around(listeners, 100)).run(events.append)
    progress = [e for e in events if isinstance(e, Progress)]
    assert progress and progress[-1].done == progress[-1].total == result.ports_scanned
    found = [e.port for e in events if isinstance(e, PortOpen)]
    assert sorted(found) == [p for p, _ in result.open]
    assert isinstance(events[-1], ScanFinished)
    assert result.elapsed > 0


def test_progress_comes_at_least_ten_times_a_second():
    """No gap between progress events much over the 0.1 s interval, over a
    scan long enough to need several (one blocking connect at a time)."""
    stamps = []

    def emit(event):
        if isinstance(event, Progress):
            stamps.append(time.monotonic())

    start = time.monotonic()
    Scanner("127.0.0.1", "1-65535", strategy="sequential").run(emit)
    stamps.insert(0, start)
    assert len(stamps) >= 4, "the scan was too short to tell"
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    assert max(gaps) < 0.35, gaps


def test_a_range_with_nothing_open(listeners):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]  # bound but not listening: refuses
        result = Scanner("127.0.0.1", f"{free}").run()
    assert result.open == [] and result.closed == 1 and result.filtered == 0


def has_ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback on this machine")
def test_ipv6_loopback():
    with socket.socket(socket.AF_INET6) as s:
        s.bind(("::1", 0))
        s.listen()
        port = s.getsockname()[1]
        result = Scanner("::1", f"{max(1, port - 50)}-{min(65535, port + 50)}").run()
    assert port in [p for p, _ in result.open]
    assert result.address == "::1"


def test_unknown_host_is_a_clear_error():
    with pytest.raises(ScanError, match="unknown host 'no-such-host.invalid'"):
        Scanner("no-such-host.invalid", "80")


@pytest.mark.parametrize("spec,message", [
    ("0-10", "out of range"), ("1-65536", "out of range"), ("80,,81", "empty item"),
    ("abc", "not a port"), ("100-1", "backwards"), ("", "no ports"), ("1-2-3", "not a port"),
    ("-5", "not a port"), ("1-", "not a port"), ("5-3", "backwards"), (",,", "empty item"),
])
def test_bad_port_specs(spec, message):
    with pytest.raises(PortSpecError, match=message):
        parse_ports(spec)
    with pytest.raises(ScanError, match=message):
        Scanner("127.0.0.1", spec)


def test_port_spec_parsing():
    assert parse_ports("22, 80,1-3,80") == [1, 2, 3, 22, 80]
    assert len(parse_ports("1-65535")) == 65535


@pytest.mark.parametrize("spec,message", [
    ("9" * 5000, "out of range"), ("1-" + "9" * 5000, "out of range"),
    ("\u00b2", "not a port"), ("\uff11\uff12\uff13", "not a port"),  # '²', full-width 123
    ("\u0663", "not a port"), ("80,\u0663", "not a port"),  # an Arabic-Indic 3
])
def test_port_specs_take_ascii_digits_only_and_never_crash(spec, message):
    with pytest.raises(PortSpecError, match=message) as caught:
        parse_ports(spec)
    assert len(str(caught.value)) < 80  # a long spec is not echoed back whole


def test_port_spec_ranges_merge_and_bounds():
    assert parse_ports("5-10,1-6,8,100,0080") == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 80, 100]
    assert parse_ports(",".join(["1-65535"] * 20_000)) == list(range(1, 65536))
    assert len(parse_ports(",".join(str(p) for p in range(1, 65536)))) == 65535
    with pytest.raises(PortSpecError, match="too long"):
        parse_ports("1," * 300_000 + "1")


def test_timed_out_connect_ex_returns_eagain_and_counts_as_filtered():
    assert classify(errno.EAGAIN) == "filtered"  # what a timed-out connect_ex returns
    assert classify(errno.EHOSTUNREACH) == "filtered"
    assert classify(errno.ECONNREFUSED) == "closed"
    assert classify(0) == "open"


def test_a_socket_connected_to_itself_is_no_open_port():
    # Simultaneous open: bind a socket to a port and connect it to that same
    # port. Linux lets this succeed, exactly like the ephemeral-range trap.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    err = s.connect_ex(("127.0.0.1", port))
    try:
        if err != 0:
            pytest.skip("this system does not allow a TCP self-connect")
        assert is_self_connect(s)
    finally:
        s.close()


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def child_processes() -> set[int]:
    """Processes whose parent is this one (from /proc)."""
    me, found = os.getpid(), set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == me:
                found.add(int(entry))
    return found


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
@pytest.mark.parametrize("strategy,options", [("fast", {}), ("fast", {"procs": 2}),
                                              ("threads", {"threads": 8})],
                         ids=["fast", "fast-procs2", "threads"])
def test_cancel_mid_scan_stops_within_a_timeout_and_leaves_no_socket(strategy, options):
    before = open_fds()
    threads_before = set(threading.enumerate())
    children_before = child_processes()
    # Twice the ports of a full scan: however fast this machine, a cancel
    # after the first progress event lands mid-scan.
    scanner = Scanner("127.0.0.1 127.0.0.2", "1-65535", strategy=strategy, timeout=1.0,
                      skip_down=False, **options)

    def emit(event):
        if isinstance(event, Progress) and event.done > 0:
            scanner.cancel()

    result = scanner.run(emit)
    assert result.cancelled
    assert result.ports_scanned < 2 * 65535
    assert open_fds() <= before
    assert not (set(threading.enumerate()) - threads_before)
    assert child_processes() <= children_before


def thread_count(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return 0


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs /proc")
def test_starved_scanner_does_not_turn_closed_ports_filtered():
    """When the scanner gets no CPU past its deadlines, ports that answered
    meanwhile must be collected, not expired as 'filtered'. SIGSTOP freezes
    the whole scanning process while the kernel answers its connects."""
    import signal
    code = ("import json; from net.scan.engine import Scanner;"
            "r = Scanner('127.0.0.1', '1-65535', timeout=0.2).run();"
            "print(json.dumps(r.as_json()))")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=run_env())
    try:
        deadline = time.monotonic() + 20
        while thread_count(proc.pid) < 2 and time.monotonic() < deadline:
            time.sleep(0.001)
        for _ in range(5):  # freeze it five times, each well past the timeout
            proc.send_signal(signal.SIGSTOP)
            time.sleep(0.5)  # the starvation itself, not a synchronisation
            proc.send_signal(signal.SIGCONT)
            time.sleep(0.05)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    data = json.loads(out)
    assert data["ports_scanned"] == 65535
    assert data["filtered"] == 0


def test_too_many_in_flight_is_capped_by_the_fd_limit():
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    code = (
        "import resource; resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256));"
        "from net.scan.engine import Scanner;"
        "r = Scanner('127.0.0.1', '1-20000', in_flight=5000).run();"
        "print(r.closed + len(r.open), r.filtered)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, env=run_env())
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["20000", "0"]


# -- the command line ------------------------------------------------------------
def test_scan_cli_lists_open_ports_ascending(listeners):
    spec = spec_around(listeners, 20)
    background = others_open(listeners, 20)
    proc = subprocess.run(netdesk_cmd("scan", "127.0.0.1", "-p", spec), capture_output=True,
                          text=True, timeout=60, env=run_env())
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("Port ")]
    ports = [int(line.split()[1]) for line in lines]
    assert ports == sorted(ports)
    assert set(ports) - background == set(listeners)
    assert all(" open" in line for line in lines)
    assert proc.stderr == ""  # no progress bar when stderr is not a terminal


def test_scan_cli_json(listeners):
    spec = spec_around(listeners, 20)
    background = others_open(listeners, 20)
    proc = subprocess.run(netdesk_cmd("scan", "127.0.0.1", "-p", spec, "--json"),
                          capture_output=True, text=True, timeout=60, env=run_env())
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data) == {"host", "address", "ports_scanned", "open", "closed", "filtered",
                         "elapsed_s"}
    assert set(data["open"]) - background == set(listeners)
    assert data["open"] == sorted(data["open"])
    assert data["ports_scanned"] == len(parse_ports(spec))
    assert data["closed"] + len(data["open"]) == data["ports_scanned"]


@pytest.mark.parametrize("args,message", [
    (["no-such-host.invalid"], "unknown host"),
    (["127.0.0.1", "-p", "70000"], "out of range"),
    (["127.0.0.1", "-p", "9" * 5000], "out of range"),
    (["127.0.0.1", "-p", "\u00b2"], "not a port"),
    (["127.0.0.1", "-p", "\uff11\uff12\uff13"], "not a port"),
    (["127.0.0.1", "--timeout", "0"], "timeout"),
])
def test_scan_cli_bad_input_exits_2_with_one_line(args, message):
    proc = subprocess.run(netdesk_cmd("scan", *args), capture_output=True, text=True,
                          timeout=60, env=run_env())
    assert proc.returncode == 2
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_scan_cli_asks_for_the_host():
    proc = subprocess.run(netdesk_cmd("scan", "-p", "1-10", "--json"), input="127.0.0.1\n",
                          capture_output=True, text=True, timeout=60, env=run_env())
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["ports_scanned"] == 10


def test_scan_cli_interrupted_exits_130():
    import signal
    proc = subprocess.Popen(netdesk_cmd("scan", "127.0.0.1", "--strategy", "sequential"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=run_env())
    deadline = time.monotonic() + 20
    while thread_count(proc.pid) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)  # until the scan's worker thread runs
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 130
    assert "interrupted" in proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()


def test_progress_bar_line():
    from net.cli.scan import progress_line
    line = progress_line(Progress(500, 1000, 3, 2500.0, 0.2), 80)
    assert "50.0%" in line and "2,500 ports/s" in line and "ETA 00:00" in line
    assert len(line) < 80


def test_scan_cli_draws_a_progress_bar_on_a_terminal(listeners):
    """stderr on a terminal: a live bar with percent, rate and ETA; stdout stays clean."""
    import pty

    controller_fd, terminal_fd = pty.openpty()
    proc = subprocess.Popen(netdesk_cmd("scan", "127.0.0.1", "-p", "1-20000", "--strategy",
                                        "sequential"),
                            stdout=subprocess.PIPE, stderr=terminal_fd, text=True,
                            env=run_env())
    os.close(terminal_fd)
    seen = b""
    try:
        out, _ = proc.communicate(timeout=120)
        while True:
            try:
                chunk = os.read(controller_fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        proc.kill()
        os.close(controller_fd)
    text = seen.decode(errors="replace")
    assert proc.returncode == 0
    assert "scanning 127.0.0.1 (127.0.0.1): 20,000 ports" in text
    assert "\r[" in text and "100.0%" in text and "ports/s" in text and "ETA" in text
    assert "[" not in out  # the bar never reaches stdout
    assert " closed, " in out.strip().splitlines()[-1]  # the summary, after the ports


# -- several hosts ---------------------------------------------------------------------
@pytest.fixture
def loopback_hosts():
    """Listeners on 127.0.0.2 and 127.0.0.3 (on Linux all of 127/8 is this machine)."""
    socks = []
    try:
        for address in ("127.0.0.2", "127.0.0.3"):
            s = socket.socket()
            s.bind((address, 0))
            s.listen()
            socks.append(s)
    except OSError:
        for s in socks:
            s.close()
        pytest.skip("this system has no 127.0.0.2/127.0.0.3")
    yield {s.getsockname()[0]: s.getsockname()[1] for s in socks}
    for s in socks:
        s.close()


@pytest.mark.parametrize("options", [{}, {"procs": 2}, {"skip_down": False}],
                         ids=["discovery", "procs2", "Pn"])
def test_several_hosts_each_get_their_own_open_ports(loopback_hosts, options):
    ports = sorted(loopback_hosts.values())
    spec = ",".join(str(p) for p in ports)
    events = []
    result = Scanner("127.0.0.2-3", spec, **options).run(events.append)
    assert result.several
    assert [h.address for h in result.hosts] == ["127.0.0.2", "127.0.0.3"]
    for host in result.hosts:
        assert host.state == "up"
        assert [p for p, _ in host.open] == [loopback_hosts[host.address]]
        assert host.ports_scanned == len(ports)
    opened = [(e.address, e.port) for e in events if isinstance(e, PortOpen)]
    assert sorted(opened) == sorted(loopback_hosts.items())
    done = [e.result.address for e in events if isinstance(e, HostDone)]
    assert sorted(done) == ["127.0.0.2", "127.0.0.3"]
    data = result.as_json()
    assert [h["state"] for h in data["hosts"]] == ["up", "up"]
    last = [e for e in events if isinstance(e, Progress)][-1]
    assert (last.hosts_total, last.done, last.total) == (2, 2 * len(ports), 2 * len(ports))


def test_a_bad_target_is_a_clear_error():
    with pytest.raises(ScanError, match="max-hosts"):
        Scanner("127.0.0.0/8", "80")
    with pytest.raises(ScanError, match="backwards|start"):
        Scanner("127.0.0.40-1", "80")


def test_a_worker_process_that_dies_is_a_clear_error_not_a_traceback():
    """A worker killed mid-scan (out of memory, say): exit 1 and one line."""
    code = ("import os, signal, sys; from net.cli.main import main;"
            "from net.scan import procs;"
            "real = procs._child;"
            "procs._child = lambda *a: os.kill(os.getpid(), signal.SIGKILL);"
            "sys.exit(main(['scan', '127.0.0.1', '-p', '1-30000', '--procs', '2']))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env=run_env())
    assert proc.returncode == 1, proc.stderr
    assert "the scan failed" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
