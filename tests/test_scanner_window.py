"""The scanner window under Xvfb: real scans of loopback listeners (one host
and 127.0.0.1-3), the target field's checks, banners, -Pn, export and copy;
a flood of 65535 open ports drawn in batches and cut short by Cancel; the
strategies explained; the form whole at the smallest size; Tab order and the
table's focus; the results' menu; where exports go and what they hold."""

from __future__ import annotations

import copy
import csv
import json
import queue
import socket
import threading
import tkinter as tk
from datetime import datetime
from tkinter import ttk
from types import SimpleNamespace

import pytest

import gui.scanner.results as scanner_results
import gui.scanner.window as scanner_window
import gui.scanner.worker as scanner_worker
from gui.kit import style
from gui.kit.settings import Settings
from gui.kit.style import color
from gui.scanner.ordering import COLUMNS, TargetOrder
from gui.scanner.poller import SlicedPoller
from gui.scanner.window import ScannerWindow
from net import i18n
from net.scan.engine import (
    DOWN,
    STRATEGIES,
    UP,
    HostDone,
    HostResult,
    HostState,
    PortOpen,
    Progress,
    ScanFinished,
    ScanStarted,
)
from tests.conftest import listen_on, wait_until

LOOPBACKS = ("127.0.0.1", "127.0.0.2", "127.0.0.3")


@pytest.fixture
def three_listeners():
    socks = listen_on(count=3)
    yield sorted(s.getsockname()[1] for s in socks)
    for s in socks:
        s.close()


def bind_everywhere_free(address: str, listen: bool = True) -> socket.socket:
    """A socket on ``address`` whose port nothing holds on the other loopback
    addresses scanned here, so the port is open (or closed) on ``address`` only."""
    for _ in range(50):
        s = socket.socket()
        s.bind((address, 0))
        port = s.getsockname()[1]
        others = []
        try:
            for other in LOOPBACKS:
                if other != address:
                    probe = socket.socket()
                    others.append(probe)
                    probe.bind((other, port))
        except OSError:
            s.close()
            continue
        finally:
            for probe in others:
                probe.close()
        if listen:
            s.listen(16)
        return s
    raise AssertionError("no port free on every loopback address")


def values(window: ScannerWindow, iid: str) -> dict:
    return dict(zip(COLUMNS, window.tree.item(iid, "values"), strict=True))


def ports_of(window: ScannerWindow, parent: str = "") -> list[int]:
    return [int(values(window, i)["port"]) for i in window.tree.get_children(parent)]


def shown_parts(window: ScannerWindow) -> list[str]:
    return [str(p) for p in window.tk.splitlist(window.tree.cget("show"))]


def finish(window: ScannerWindow, root, timeout: float = 30) -> None:
    wait_until(lambda: window.result is not None and window.worker is None, timeout, root,
               "the scan to finish")


def test_scan_from_the_window_reaches_100_and_lists_the_open_set(tk_root, three_listeners,
                                                                  tmp_path, settle_threads):
    window = ScannerWindow(tk_root, None)
    # Scan exactly the three ports, plus closed neighbours, in shuffled spec order.
    spec = ",".join(f"{p}-{p + 2}" for p in reversed(three_listeners))
    window.ports.set(spec)
    window.start_button.invoke()
    finish(window, tk_root)
    assert window.progressbar["value"] == pytest.approx(100.0)
    assert "100.0%" in window.progress_text.get()
    assert "hosts:" not in window.progress_text.get()  # one host: no host counts
    # One host: its ports at the top level, as the window always showed them.
    assert shown_parts(window) == ["headings"]
    rows = [values(window, i) for i in window.tree.get_children()]
    ports = [int(r["port"]) for r in rows]
    assert set(ports) >= set(three_listeners)
    assert ports == sorted(ports)
    assert all(r["state"] == "open" for r in rows)
    assert window.summary.get().startswith("Done: ")
    assert "closed" in window.summary.get() and f"of {3 * 3} ports" in window.summary.get()
    assert str(window.start_button.state()) == "()"
    assert "disabled" not in window.export_button.state()

    window.export(str(tmp_path / "scan.csv"), "csv")
    window.export(str(tmp_path / "scan.json"), "json")
    with open(tmp_path / "scan.csv") as f:
        exported = list(csv.DictReader(f))
    assert [int(r["port"]) for r in exported] == ports
    assert {r["host"] for r in exported} == {"127.0.0.1"}
    data = json.loads((tmp_path / "scan.json").read_text())
    assert data["open"] == ports and data["host"] == "127.0.0.1"
    assert set(data["services"]) == {str(p) for p in ports}

    window.sort_by("port")  # second click on the sorted column: descending
    assert ports_of(window) == sorted(ports, reverse=True)

    window.tree.selection_set(window.tree.get_children()[0])
    window.copy_selection()
    assert tk_root.clipboard_get().split("\t")[0] == str(max(ports))
    window.close()
    settle_threads()


@pytest.fixture
def loopback_hosts():
    """One open port on 127.0.0.2, two on 127.0.0.3, none on 127.0.0.1, and
    two ports closed on all three."""
    socks = [bind_everywhere_free("127.0.0.2"), bind_everywhere_free("127.0.0.3"),
             bind_everywhere_free("127.0.0.3")]
    closed = [bind_everywhere_free(a, listen=False) for a in LOOPBACKS[:2]]
    open_ports = {"127.0.0.1": [], "127.0.0.2": [socks[0].getsockname()[1]],
                  "127.0.0.3": sorted(s.getsockname()[1] for s in socks[1:])}
    yield open_ports, [s.getsockname()[1] for s in closed]
    for s in socks + closed:
        s.close()


def test_a_scan_of_three_hosts_groups_open_ports_by_host(tk_root, loopback_hosts, tmp_path,
                                                         settle_threads):
    open_ports, closed = loopback_hosts
    scanned = sorted({p for ports in open_ports.values() for p in ports} | set(closed))
    window = ScannerWindow(tk_root, None)
    window.targets.set("127.0.0.1-3")
    assert window.hints["targets"].cget("text") == "3 hosts"  # the quick check by the field
    window.ports.set(",".join(str(p) for p in reversed(scanned)))
    window.start_button.invoke()
    finish(window, tk_root)

    assert shown_parts(window) == ["tree", "headings"]
    hosts = window.tree.get_children()
    # Every loopback address answers (a reset is an answer): all three are up,
    # in target order, each with exactly its open ports, ascending.
    assert [window.tree.item(h, "text").split(" ")[0] for h in hosts] == list(LOOPBACKS)
    for host, address in zip(hosts, LOOPBACKS, strict=True):
        assert window.tree.item(host, "open")
        assert values(window, host)["state"] == "up"
        assert ports_of(window, host) == open_ports[address]
        assert all(values(window, i)["state"] == "open" for i in window.tree.get_children(host))
    assert window.tree.item(hosts[0], "text") == "127.0.0.1 — no open ports"
    assert window.tree.item(hosts[1], "text") == "127.0.0.2 — 1 open"
    assert window.tree.item(hosts[2], "text") == "127.0.0.3 — 2 open"

    assert "100.0%" in window.progress_text.get()
    assert "hosts: 3 up, 0 down" in window.progress_text.get()
    assert window.progressbar["value"] == pytest.approx(100.0)
    summary = window.summary.get()
    assert summary.startswith("Done: 3 of 3 hosts up, 3 open ports in "), summary

    window.export(str(tmp_path / "scan.csv"), "csv")
    with open(tmp_path / "scan.csv") as f:
        reader = csv.reader(f)
        assert next(reader) == ["host", "address", "port", "service", "banner", "state"]
        rows = [(r[0], r[1], int(r[2])) for r in reader]
    assert rows == [(a, a, p) for a in LOOPBACKS for p in open_ports[a]]
    window.export(str(tmp_path / "scan.json"), "json")
    data = json.loads((tmp_path / "scan.json").read_text())
    assert [h["address"] for h in data["hosts"]] == list(LOOPBACKS)
    assert [h["open"] for h in data["hosts"]] == [open_ports[a] for a in LOOPBACKS]
    assert all(h["state"] == "up" and h["ports_scanned"] == len(scanned)
               for h in data["hosts"])
    assert data["hosts"][2]["services"].keys() == {str(p) for p in open_ports["127.0.0.3"]}

    # Sorting works within each host; hosts keep their order.
    window.sort_by("port")
    assert ports_of(window, hosts[2]) == sorted(open_ports["127.0.0.3"], reverse=True)
    assert window.tree.get_children() == hosts

    # A host row copies its ports, each line led by the host and its address.
    window.tree.selection_set(hosts[2])
    window.copy_selection()
    lines = [line.split("\t") for line in tk_root.clipboard_get().splitlines()]
    assert [(f[0], f[1], int(f[2])) for f in lines] == \
        [("127.0.0.3", "127.0.0.3", p) for p in sorted(open_ports["127.0.0.3"], reverse=True)]
    window.close()
    settle_threads()


def test_scan_hosts_that_do_not_answer_is_passed_on_and_remembered(
        tk_root, loopback_hosts, tmp_path, monkeypatch, settle_threads):
    open_ports, _ = loopback_hosts
    made: list[dict] = []

    class Recording(scanner_worker.Scanner):
        def __init__(self, *args, **kwargs):
            made.append(kwargs)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(scanner_worker, "Scanner", Recording)
    settings = Settings(tmp_path / "settings.json")
    settings.update("scanner", host="127.0.0.2")  # what the one-host window saved
    window = ScannerWindow(tk_root, settings)
    assert window.targets.get() == "127.0.0.2"
    assert not window.scan_all.get()  # off by default: the engine decides
    window.ports.set(str(open_ports["127.0.0.2"][0]))
    window.start_button.invoke()
    finish(window, tk_root)
    assert made[-1]["skip_down"] is None and made[-1]["procs"] == 1

    window.targets.set("127.0.0.2 127.0.0.3")
    window.scan_all_check.invoke()
    window.start_button.invoke()
    finish(window, tk_root)
    assert made[-1]["skip_down"] is False
    hosts = window.tree.get_children()
    assert [window.tree.item(h, "text") for h in hosts] == ["127.0.0.2 — 1 open",
                                                            "127.0.0.3 — no open ports"]
    assert "hosts: 2 up, 0 down" in window.progress_text.get()
    window.close()

    again = ScannerWindow(tk_root, Settings(tmp_path / "settings.json"))
    assert again.scan_all.get() and again.targets.get() == "127.0.0.2 127.0.0.3"
    again.close()
    settle_threads()


@pytest.fixture
def greeter():
    """A loopback service that says ``SSH-2.0-test`` to whoever connects."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.05)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                try:
                    conn.sendall(b"SSH-2.0-test\r\n")
                except OSError:  # the scan's own connect has already gone
                    pass

    thread = threading.Thread(target=serve, name="greeter", daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(5)
    server.close()
    assert not thread.is_alive()


def test_banners_fill_the_banner_column(tk_root, greeter, tmp_path, settle_threads):
    window = ScannerWindow(tk_root, None)
    window.ports.set(str(greeter))
    window.banners_check.invoke()
    window.start_button.invoke()
    finish(window, tk_root)
    rows = [values(window, i) for i in window.tree.get_children()]
    assert rows == [{"port": str(greeter), "service": rows[0]["service"],
                     "banner": "SSH-2.0-test", "state": "open"}]
    window.export(str(tmp_path / "scan.csv"), "csv")
    with open(tmp_path / "scan.csv") as f:
        assert [r["banner"] for r in csv.DictReader(f)] == ["SSH-2.0-test"]
    window.close()
    settle_threads()


@pytest.mark.parametrize("targets, message", [
    ("10.200.1.40-1", "runs backwards"),
    ("127.0.0.1/33", "out of range"),
    ("127.0.0.1, 10.200.1.0/8", "more than one scan takes"),
    ("", "no target given"),
])
def test_bad_targets_are_shown_by_the_field(tk_root, targets, message):
    window = ScannerWindow(tk_root, None)
    window.targets.set(targets)
    assert message not in window.errors["targets"].cget("text")  # not while typing
    window.start_button.invoke()
    assert window.worker is None
    assert message in window.errors["targets"].cget("text")
    window.targets.set("127.0.0.0/")  # still wrong: the message follows the text
    assert "prefix length" in window.errors["targets"].cget("text")
    assert window.errors["targets"].winfo_manager() == "grid"
    window.targets.set("127.0.0.0/30")  # fixed: the error gives way to the count
    assert window.errors["targets"].cget("text") == ""
    assert window.errors["targets"].winfo_manager() == ""  # its line is gone
    assert window.hints["targets"].cget("text") == "4 hosts"
    window.close()


def test_fields_are_validated_next_to_the_field(tk_root):
    window = ScannerWindow(tk_root, None)
    window.targets.set("127.0.0.1")
    window.ports.set("1-70000")
    window.threads.set("zero")
    window.timeout.set("-1")
    window.start_button.invoke()
    assert window.worker is None
    assert "out of range" in window.errors["ports"].cget("text")
    assert "1 to 2048" in window.errors["threads"].cget("text")
    assert "0.01" in window.errors["timeout"].cget("text")
    assert window.errors["targets"].cget("text") == ""
    assert window.hints["targets"].cget("text") == "1 host"
    window.close()


def test_unknown_host_is_shown_not_raised(tk_root):
    window = ScannerWindow(tk_root, None)
    window.targets.set("127.0.0.1 no-such-host.invalid")
    window.ports.set("1-10")
    window.start_button.invoke()
    wait_until(lambda: window.worker is None, 30, tk_root, "the scan to fail")
    assert "unknown host" in window.status.get()
    assert "unknown host" in window.errors["targets"].cget("text")
    window.close()


def test_down_hosts_are_counted_not_listed(tk_root):
    """Engine events fed straight in (loopback has no down hosts): hosts
    that are up are listed in target order whatever order they come in."""
    window = ScannerWindow(tk_root, None)
    addresses = ["10.200.1.1", "10.200.1.2", "10.200.1.3", "10.200.1.4"]

    def result(address: str, state: str, open_=()) -> HostResult:
        return HostResult(address, address, state, 10 if state == UP else 0,
                          [(p, "") for p in open_], 10 - len(open_) if state == UP else 0,
                          0, 0.1)

    results = [result(addresses[0], DOWN), result(addresses[1], UP, [22, 80]),
               result(addresses[2], DOWN), result(addresses[3], UP)]
    for event in [TargetOrder(addresses), ScanStarted(addresses[0], addresses[0], 40, "fast",
                                                      1, 40, hosts=4, ports=10),
                  HostState(addresses[3], addresses[3], UP),
                  HostState(addresses[0], addresses[0], DOWN),
                  HostState(addresses[2], addresses[2], DOWN),
                  HostState(addresses[1], addresses[1], UP),
                  PortOpen(80, "http", addresses[1], addresses[1]),
                  PortOpen(22, "ssh", addresses[1], addresses[1]),
                  Progress(20, 20, 2, 100.0, 0.0, 4, 2, 2, 2),
                  HostDone(results[1]), HostDone(results[3]),
                  HostDone(results[0]),  # as with -Pn: a down host is done too
                  ScanFinished(results, 1.5, several=True)]:
        window.on_event(event)
    hosts = window.tree.get_children()
    assert [window.tree.item(h, "text") for h in hosts] == ["10.200.1.2 — 2 open",
                                                            "10.200.1.4 — no open ports"]
    assert ports_of(window, hosts[0]) == [22, 80]
    assert "hosts: 2 up, 2 down" in window.progress_text.get()
    assert window.summary.get() == "Done: 2 of 4 hosts up, 2 open ports in 1.50 s"
    window.close()


def test_cancel_and_close_during_a_full_scan(tk_root, settle_threads):
    window = ScannerWindow(tk_root, None)
    window.targets.set("127.0.0.1")
    window.strategy.set("sequential")  # slow enough to cancel midway
    window.start_button.invoke()
    wait_until(lambda: window.progressbar["value"] > 0, 30, tk_root, "progress")
    window.cancel_button.invoke()
    wait_until(lambda: window.worker is None, 10, tk_root, "the cancel")
    assert "Cancelled" in window.summary.get()
    window.start_button.invoke()
    wait_until(lambda: window.progressbar["value"] > 0, 30, tk_root, "progress")
    window.close()  # while scanning
    settle_threads()


def test_cancel_and_close_during_a_multi_host_scan(tk_root, settle_threads):
    window = ScannerWindow(tk_root, None)
    window.targets.set("127.0.0.1-3")
    window.strategy.set("sequential")  # three full hosts one by one: seconds
    window.start_button.invoke()
    wait_until(lambda: window.progressbar["value"] > 0, 30, tk_root, "progress")
    assert "hosts:" in window.progress_text.get()
    assert values(window, window.tree.get_children()[-1])["state"] == "scanning"
    window.cancel_button.invoke()
    wait_until(lambda: window.worker is None, 10, tk_root, "the cancel")
    assert window.summary.get().startswith("Cancelled: 3 of 3 hosts up")
    assert values(window, window.tree.get_children()[-1])["state"] == "cancelled"
    window.start_button.invoke()
    wait_until(lambda: window.progressbar["value"] > 0, 30, tk_root, "progress")
    window.close()  # while scanning
    settle_threads()


def test_enter_starts_from_the_form_and_escape_cancels(tk_root, settle_threads):
    window = ScannerWindow(tk_root, None)
    window.targets.set("127.0.0.1")
    window.strategy.set("sequential")
    entry = window.entries["targets"]
    entry.focus_force()
    tk_root.update()
    entry.event_generate("<Return>")
    assert window.worker is not None
    wait_until(lambda: window.progressbar["value"] > 0, 30, tk_root, "progress")
    entry.event_generate("<Escape>")
    wait_until(lambda: window.worker is None, 10, tk_root, "the cancel")
    assert window.summary.get().startswith("Cancelled:")
    window.tree.focus_force()
    tk_root.update()
    window.tree.event_generate("<Return>")  # Enter in the results starts nothing
    assert window.worker is None
    window.close()
    settle_threads()


# -- keeping pace with a flood of open ports (issue 10, row 2) ----------------------
ALL = range(1, 65536)


def step(root) -> None:
    """One turn of Tk's event loop, as ``mainloop`` takes them (the poller's
    next tick is always at most 40 ms away)."""
    root.tk.dooneevent(0)


def shown_window(root, window: ScannerWindow) -> None:
    window.deiconify()
    wait_until(window.winfo_viewable, 10, root, "the window to be shown")
    root.update()


def one_host_result(open_ports, cancelled: bool = False, address: str = "127.0.0.1"):
    result = HostResult(address, address, UP, len(open_ports), [(p, "") for p in open_ports],
                        0, 0, 1.0)
    return ScanFinished([result], 1.0, cancelled=cancelled)


def test_the_poller_takes_a_bounded_slice_and_comes_back_when_idle(tk_root):
    events: queue.Queue = queue.Queue()
    for i in range(1000):
        events.put(i)
    handled, flushes = [], []
    backlog = [False]
    poller = SlicedPoller(tk_root, events, handled.append,
                          lambda deadline: flushes.append(deadline) or False,
                          lambda: backlog[0], slice_s=60, batch=100)
    poller._tick()
    assert handled == list(range(100))  # the batch, then Tk gets its turn
    assert len(flushes) == 2  # what waited, then what the batch brought
    # More is waiting: back as soon as Tk has drawn and taken the user's input.
    assert tk_root.tk.splitlist(tk_root.tk.call("after", "info", poller._after_id))[1] == "idle"
    tk_root.after_cancel(poller._after_id)

    backlog[0] = True  # enough rows wait to be drawn: no event taken this time
    poller._tick()
    assert handled == list(range(100))
    assert tk_root.tk.splitlist(tk_root.tk.call("after", "info", poller._after_id))[1] == "idle"
    tk_root.after_cancel(poller._after_id)

    backlog[0] = False
    poller.slice_s = 0  # out of time: still one event a tick, so it gets on
    poller._tick()
    assert handled == list(range(101))
    tk_root.after_cancel(poller._after_id)

    poller.slice_s, poller.batch = 60, 10_000
    poller._tick()
    assert handled == list(range(1000)) and events.empty()
    # Nothing waiting: the next look in 40 ms, not at once.
    assert tk_root.tk.splitlist(tk_root.tk.call("after", "info", poller._after_id))[1] == "timer"
    poller.stop()
    assert poller._after_id is None


def test_a_flood_of_open_ports_is_drawn_in_batches_in_order(tk_root):
    """Every port of a host open, put straight on the window's queue: the
    rows appear batch by batch, each port once, in ascending order, also
    the few that come late (one by one) and a run of late ones (sorted in)."""
    window = ScannerWindow(tk_root, None)
    shown_window(tk_root, window)
    late_few = {100, 5000, 40000}
    late_run = set(range(30_001, 30_101))  # more than are put in place one by one
    assert len(late_run) > scanner_results.MISPLACED_ONE_BY_ONE
    window.events.put(ScanStarted("127.0.0.1", "127.0.0.1", len(ALL), "fast", 1, 2048))
    for port in ALL:
        if port not in late_few and port not in late_run:
            window.events.put(PortOpen(port, "", "127.0.0.1", "127.0.0.1"))
    window.events.put(Progress(len(ALL), len(ALL), len(ALL), 1e5, 0.0))
    for port in sorted(late_run) + sorted(late_few) + [22]:  # 22 again: shown once
        window.events.put(PortOpen(port, "ssh" if port == 22 else "", "127.0.0.1", "127.0.0.1"))
    window.events.put(one_host_result(ALL))
    counts = []
    while not window.summary.get():
        step(tk_root)
        counts.append(len(window.tree.get_children()))
    shown = [c for c in dict.fromkeys(counts) if c]  # each count the user saw, in order
    assert len(shown) > 5 and shown[0] <= scanner_results.ROWS_WAITING + \
        scanner_results.ROWS_CHUNK, shown[:5]
    assert ports_of(window) == list(ALL)
    assert values(window, "p0:22") == {"port": "22", "service": "", "banner": "",
                                       "state": "open"}
    assert window.summary.get() == "Done: 65,535 open, 0 closed, 0 filtered of 65,535 ports " \
                                   "in 1.00 s"
    window.sort_by("port")  # descending: one call, not 65535 moves
    assert ports_of(window)[:3] == [65535, 65534, 65533]
    window.close()


def test_closing_during_a_flood_leaves_the_backlog_undrawn(tk_root):
    window = ScannerWindow(tk_root, None)
    shown_window(tk_root, window)
    for port in ALL:
        window.events.put(PortOpen(port, "", "127.0.0.1", "127.0.0.1"))
    while not window.tree.get_children():
        step(tk_root)
    window.close()
    # Closing drew nothing more and left no tick behind (one would raise
    # "invalid command name" in the fixture's error check).
    assert window.events.qsize() > len(ALL) // 2
    assert window.poller.stopped and window.poller._after_id is None
    for _ in range(20):
        tk_root.update()


class FloodScanner:
    """Stands in for the engine: every port of one host open at once, then
    waits for Cancel and returns all it found, as the engine does."""

    emitted = threading.Event()

    def __init__(self, targets, ports, *, cancel: threading.Event, **kwargs):
        self.targets = [SimpleNamespace(address="127.0.0.1")]
        self.cancel = cancel

    def run(self, emit):
        emit(ScanStarted("127.0.0.1", "127.0.0.1", len(ALL), "fast", 1, 2048))
        for port in ALL:
            emit(PortOpen(port, "", "127.0.0.1", "127.0.0.1"))
            if port % 2048 == 0:  # the engine reports ten times a second
                emit(Progress(port, len(ALL), port, 1e5, 0.1))
        FloodScanner.emitted.set()
        self.cancel.wait(30)
        result = one_host_result(ALL, cancelled=self.cancel.is_set())
        emit(result)
        return result


def test_cancel_during_a_flood_shows_the_result_at_once(tk_root, monkeypatch, settle_threads):
    """Cancel with tens of thousands of rows still to draw: the window stops
    drawing them batch by batch and shows the final result (which holds
    every port found) in one go, with Cancelled."""
    monkeypatch.setattr(scanner_worker, "Scanner", FloodScanner)
    FloodScanner.emitted.clear()
    window = ScannerWindow(tk_root, None)
    shown_window(tk_root, window)
    window.targets.set("127.0.0.1")
    window.start_button.invoke()
    assert FloodScanner.emitted.wait(30)  # the whole flood is queued
    while not window.tree.get_children():
        step(tk_root)
    at_cancel = len(window.tree.get_children())
    assert at_cancel < len(ALL)
    window.cancel_button.invoke()
    assert window.status.get() == "Cancelling…"
    counts = []
    while window.worker is not None:
        step(tk_root)
        counts.append(len(window.tree.get_children()))
    # No batch of the backlog was drawn after Cancel: from what was shown
    # straight to everything found.
    assert set(counts[:-1]) <= {at_cancel, len(ALL)} and counts[-1] == len(ALL)
    assert window.summary.get().startswith("Cancelled: 65,535 open")
    assert ports_of(window) == list(ALL)
    assert "disabled" not in window.start_button.state()
    window.close()
    settle_threads()


# -- the form (row 14) ------------------------------------------------------------------
def pick(box, code: str) -> None:
    """Choose ``code`` in a ChoiceBox as the user does: its words, then the event."""
    box.set(box.choices[code])
    box.event_generate("<<ComboboxSelected>>")


def test_each_strategy_is_explained_and_the_status_says_how_it_runs(tk_root):
    window = ScannerWindow(tk_root, None)
    hints = {}
    for strategy in STRATEGIES:
        pick(window.strategy_box, strategy)
        hints[strategy] = (window.strategy_hint.cget("text"),
                           window.hints["threads"].cget("text"),
                           "disabled" in window.entries["threads"].state())
    assert len({text for text, _, _ in hints.values()}) == len(STRATEGIES)
    assert "2,048" in hints["fast"][0] and "thread" in hints["threads"][0]
    assert hints["fast"][1] == "blank = 1 thread" and hints["threads"][1] == "blank = 256 threads"
    # Sequential takes no thread count: the field is off and not checked.
    assert hints["sequential"][2] and not hints["fast"][2]
    window.threads.set("many")
    window.targets.set("127.0.0.1 no-such-host.invalid")
    assert window.validate() is not None

    window.on_event(ScanStarted("127.0.0.1", "127.0.0.1", 1024, "fast", 1, 2048))
    assert window.status.get() == \
        "Scanning 127.0.0.1 (127.0.0.1): 1,024 ports, fast: 2,048 connects in flight"
    assert "thread(s)" not in window.status.get()
    window.on_event(ScanStarted("127.0.0.1", "127.0.0.1", 1024, "fast", 4, 2048))
    assert window.status.get().endswith("fast: 2,048 connects in flight on 4 threads")
    window.on_event(ScanStarted("127.0.0.1", "127.0.0.1", 1024, "threads", 256, 256))
    assert window.status.get().endswith("threads: 256 threads")
    window.on_event(ScanStarted("127.0.0.1", "127.0.0.1", 1024, "sequential", 1, 1))
    assert window.status.get().endswith("sequential: one connect at a time")
    window.close()


def boxes(widgets) -> list[tuple[tk.Misc, tuple[int, int, int, int]]]:
    return [(w, (w.winfo_rootx(), w.winfo_rooty(), w.winfo_rootx() + w.winfo_width(),
                 w.winfo_rooty() + w.winfo_height())) for w in widgets if w.winfo_ismapped()]


def form_widgets(window: ScannerWindow) -> list[tk.Misc]:
    found, todo = [], [window.entries["targets"].master.master]
    while todo:
        for child in todo.pop().winfo_children():
            if child.winfo_class() in ("TFrame",):
                todo.append(child)
            else:
                found.append(child)
    return found


@pytest.mark.parametrize("lang", ["en", "ru"])
@pytest.mark.parametrize("size", ["minimum", "default"])
def test_the_form_keeps_every_field_and_message_whole(tk_root, size, lang):
    """Row 14: at the smallest and the default size, with every field in
    error: no label, entry, hint or message overlaps another or is cut, and
    the long fields keep most of the form's width; in Russian too, whose
    words are longer (issue 11)."""
    i18n.setup(lang)
    style.apply(tk_root, "light")  # netdesk's look: wider buttons and fields than Tk's
    window = ScannerWindow(tk_root, None)
    if size == "minimum":
        window.geometry("{}x{}".format(*window.minsize()))
    shown_window(tk_root, window)
    window.targets.set("127.0.0.1/33")
    window.ports.set("0-5")
    window.threads.set("abc")
    window.timeout.set("-1")
    window.start_button.invoke()
    tk_root.update()
    assert all(window.errors[k].winfo_ismapped() for k in ("targets", "ports", "threads",
                                                            "timeout"))
    placed = boxes(form_widgets(window))
    right = window.winfo_rootx() + window.winfo_width()
    for i, (a, (ax0, ay0, ax1, ay1)) in enumerate(placed):
        assert a.winfo_width() >= a.winfo_reqwidth() or a.winfo_class() == "TEntry", \
            f"{a.cget('text')!r} is cut"
        assert ax1 <= right, f"{a} goes past the window's edge"
        for b, (bx0, by0, bx1, by1) in placed[i + 1:]:
            assert ax1 <= bx0 or bx1 <= ax0 or ay1 <= by0 or by1 <= ay0, \
                f"{a} overlaps {b}"
    form = window.entries["targets"].master.master
    assert window.entries["targets"].winfo_width() > form.winfo_width() / 2
    assert window.entries["ports"].winfo_width() == window.entries["targets"].winfo_width()
    for key in ("targets", "ports", "threads", "timeout"):
        assert str(window.errors[key].cget("style")) == "Error.TLabel"
    assert str(window.strategy_hint.cget("style")) == "Hint.TLabel"
    for strategy in STRATEGIES:  # each explained in one line in English, wrapped in Russian
        pick(window.strategy_box, strategy)
        tk_root.update()
        hint = window.strategy_hint
        assert hint.winfo_width() >= hint.winfo_reqwidth(), f"{hint.cget('text')!r} is cut"
        if lang == "en":
            assert hint.winfo_height() <= window.hints["threads"].winfo_height()
    checks = boxes([window.scan_all_check, window.banners_check])
    assert len(checks) == 2 and all(w.winfo_width() >= w.winfo_reqwidth() for w, _ in checks)
    window.close()


# -- export (row 15) ---------------------------------------------------------------------
def entry(menu: tk.Menu, label: str) -> int:
    for i in range(menu.index("end") + 1):
        if menu.type(i) == "command" and menu.entrycget(i, "label") == label:
            return i
    raise AssertionError(f"no {label!r} in the menu")


def export_via_menu(window: ScannerWindow, fmt: str) -> None:
    menu = window.nametowidget(window.export_button["menu"])
    menu.invoke(entry(menu, f"{fmt.upper()}…"))


def test_export_starts_in_documents_then_where_the_last_one_went(
        tk_root, three_listeners, tmp_path, monkeypatch, settle_threads):
    home = tmp_path / "home"
    (home / "Documents").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    asked, answers = [], []

    def ask(**options):
        asked.append(options)
        return answers.pop(0)

    monkeypatch.setattr(scanner_window.filedialog, "asksaveasfilename", ask)
    settings = Settings(tmp_path / "settings.json")
    window = ScannerWindow(tk_root, settings)
    spec = ",".join(f"{p}-{p + 1}" for p in three_listeners)
    window.ports.set(spec)
    before = datetime.now().astimezone().replace(microsecond=0)
    window.start_button.invoke()
    finish(window, tk_root)
    assert "disabled" not in window.export_button.state()

    out = tmp_path / "exports"
    out.mkdir()
    answers.append(str(out / "scan.json"))
    export_via_menu(window, "json")
    assert asked[-1]["initialdir"] == str(home / "Documents")
    data = json.loads((out / "scan.json").read_text())
    scanned_at = datetime.fromisoformat(data["scanned_at"])
    assert scanned_at.tzinfo is not None and before <= scanned_at <= datetime.now().astimezone()
    assert data["port_spec"] == spec and data["targets"] == "127.0.0.1"
    assert data["open"] == three_listeners
    assert f"to {out / 'scan.json'}" in window.status.get()

    answers.append("")  # the dialog cancelled: nothing written, nothing said
    export_via_menu(window, "csv")
    assert asked[-1]["initialdir"] == str(out)
    window.close()

    again = ScannerWindow(tk_root, Settings(tmp_path / "settings.json"))
    assert again.initial_export_dir() == str(out)  # remembered
    again.close()
    (home / "Documents").rmdir()
    plain = ScannerWindow(tk_root, None)
    assert plain.initial_export_dir() == str(home)  # no Documents: home
    plain.close()
    settle_threads()


def test_an_export_that_cannot_be_written_says_why_in_a_dialog(
        tk_root, three_listeners, tmp_path, monkeypatch, settle_threads):
    shown = []
    monkeypatch.setattr(scanner_window.filedialog, "asksaveasfilename",
                        lambda **options: str(tmp_path / "no-such-folder" / "scan.csv"))
    monkeypatch.setattr(scanner_window.messagebox, "showerror",
                        lambda title, message, **options: shown.append((title, message,
                                                                         options)))
    window = ScannerWindow(tk_root, None)
    window.ports.set(str(three_listeners[0]))
    window.start_button.invoke()
    finish(window, tk_root)
    export_via_menu(window, "csv")
    assert len(shown) == 1
    title, message, options = shown[0]
    assert "scan.csv" in message and options["detail"] == "No such file or directory"
    assert options["parent"] is window
    assert window.status.get().startswith("Could not export")
    assert "No such file or directory" in window.status.get()
    window.close()
    settle_threads()


# -- the keyboard and the results' menu (rows 18 and 19) ---------------------------------
def focus_chain(start: tk.Misc) -> list[tk.Misc]:
    chain, widget = [start], start.tk_focusNext()
    while widget is not None and widget != start and len(chain) < 50:
        chain.append(widget)
        widget = widget.tk_focusNext()
    return chain


def test_tab_follows_the_screen_and_the_table_shows_its_focus(tk_root, three_listeners,
                                                               settle_threads):
    window = ScannerWindow(tk_root, None)
    shown_window(tk_root, window)
    window.ports.set(",".join(str(p) for p in three_listeners))
    window.start_button.invoke()
    finish(window, tk_root)
    tk_root.update()
    chain = focus_chain(window.entries["targets"])
    expected = [window.entries["targets"], window.entries["ports"], window.entries["threads"],
                window.entries["timeout"], window.strategy_box, window.scan_all_check,
                window.banners_check, window.start_button, window.copy_button,
                window.export_button, window.tree]  # Cancel is off: Tab skips it
    assert chain == expected
    # Screen order: each next stop is further right on the same line, or lower.
    places = [(w.winfo_rooty(), w.winfo_rootx()) for w in chain]
    for (y0, x0), (y1, x1) in zip(places, places[1:]):
        assert y1 > y0 + 2 or (abs(y1 - y0) <= 8 and x1 > x0), (places)

    window.tree.selection_remove(window.tree.selection())
    window.tree.focus("")
    window.focus_force()
    window.tree.focus_set()  # Tab into the table
    tk_root.update()
    first = window.tree.get_children()[0]
    assert window.tree.focus() == first and window.tree.selection() == (first,)
    assert window.tree.instate(["focus"])
    style = ttk.Style(window)
    assert style.lookup(window.tree.cget("style"), "bordercolor", ["focus"]) == \
        color(window, "accent")
    window.tree.event_generate("<Down>")  # the keys go on from the row shown
    tk_root.update()
    assert window.tree.selection() == (window.tree.get_children()[1],)
    window.close()
    settle_threads()


def right_click(window: ScannerWindow, iid: str) -> tk.Menu:
    window.tree.see(iid)
    window.update()
    x, y, w, h = window.tree.bbox(iid, "port")
    window.tree.event_generate("<Button-3>", x=x + w // 2, y=y + h // 2,
                               rootx=window.tree.winfo_rootx() + x + w // 2,
                               rooty=window.tree.winfo_rooty() + y + h // 2)
    menu = window.results_menu
    assert menu is not None
    return menu


def test_the_results_menu_copies_and_opens_an_echo_client(tk_root, three_listeners,
                                                          settle_threads):
    opened = []
    window = ScannerWindow(tk_root, None, open_echo=lambda address, port: opened.append(
        (address, port)))
    shown_window(tk_root, window)
    window.ports.set(",".join(str(p) for p in three_listeners))
    window.start_button.invoke()
    finish(window, tk_root)
    rows = window.tree.get_children()
    assert ports_of(window) == three_listeners

    menu = right_click(window, rows[1])
    assert window.tree.selection() == (rows[1],)  # the row clicked is the one meant
    menu.invoke(entry(menu, "Open in echo client"))
    menu.unpost()
    assert opened == [("127.0.0.1", three_listeners[1])]

    menu = right_click(window, rows[2])
    menu.invoke(entry(menu, "Copy row"))
    menu.unpost()
    assert tk_root.clipboard_get() == f"{three_listeners[2]}\t\t\topen"
    menu = right_click(window, rows[0])
    menu.invoke(entry(menu, "Copy all"))
    menu.unpost()
    assert [int(line.split("\t")[0]) for line in tk_root.clipboard_get().splitlines()] == \
        three_listeners

    # From the keyboard (Shift+F10): the menu of the row with the focus.
    window.tree.focus(rows[2])
    window.tree.focus_force()
    tk_root.update()
    window.tree.event_generate("<Shift-F10>")
    menu = window.results_menu
    menu.invoke(entry(menu, "Open in echo client"))
    menu.unpost()
    assert opened[-1] == ("127.0.0.1", three_listeners[2])
    window.close()

    # Without an echo client to open (no launcher), the entry is there but off.
    alone = ScannerWindow(tk_root, None)
    shown_window(tk_root, alone)
    alone.ports.set(str(three_listeners[0]))
    alone.start_button.invoke()
    finish(alone, tk_root)
    menu = right_click(alone, alone.tree.get_children()[0])
    assert menu.entrycget(entry(menu, "Open in echo client"), "state") == "disabled"
    assert menu.entrycget(entry(menu, "Copy row"), "state") == "normal"
    menu.unpost()
    alone.close()
    settle_threads()


def test_a_host_row_cannot_be_opened_in_the_echo_client(tk_root, loopback_hosts,
                                                        settle_threads):
    open_ports, _ = loopback_hosts
    opened = []
    window = ScannerWindow(tk_root, None, open_echo=lambda a, p: opened.append((a, p)))
    shown_window(tk_root, window)
    window.targets.set("127.0.0.2-3")
    window.ports.set(",".join(str(p) for p in open_ports["127.0.0.3"]))
    window.start_button.invoke()
    finish(window, tk_root)
    host_row = window.tree.get_children()[1]
    menu = right_click(window, host_row)
    assert menu.entrycget(entry(menu, "Open in echo client"), "state") == "disabled"
    menu.unpost()
    port_row = window.tree.get_children(host_row)[1]
    menu = right_click(window, port_row)
    menu.invoke(entry(menu, "Open in echo client"))
    menu.unpost()
    assert opened == [("127.0.0.3", open_ports["127.0.0.3"][1])]
    window.close()
    settle_threads()


# -- in Russian (issue 11) ---------------------------------------------------------------
def test_a_real_scan_in_russian_counts_with_the_right_plural_forms(tk_root, loopback_hosts,
                                                                   three_listeners, tmp_path,
                                                                   settle_threads):
    """Under --lang ru every word of the window is Russian: the form, the
    headings, the rows, the progress line and the summaries, with the plural
    form each number takes; exports stay as they are in every language."""
    i18n.setup("ru")
    window = ScannerWindow(tk_root, None)
    assert window.title() == "netdesk — Сканер портов"
    assert window.start_button.cget("text") == "Запустить"
    assert window.tree.heading("port", "text") == "Порт ▲"
    assert window.tree.heading("#0", "text") == "Хост"
    assert window.strategy_box.get() == "быстрая" and window.strategy.get() == "fast"
    assert window.strategy_hint.cget("text").startswith("До 2\u00a0048 подключений")
    for spec, hint in (("22", "1 порт"), ("22-24", "3 порта"), ("20-24", "5 портов"),
                       ("1-21", "21 порт"), ("1-65535", "65\u00a0535 портов")):
        window.ports.set(spec)
        assert window.hints["ports"].cget("text") == hint

    # One host, one port: "of 1 port" is "из 1 порта".
    window.ports.set(str(three_listeners[0]))
    window.start_button.invoke()
    finish(window, tk_root)
    summary = window.summary.get()
    assert summary.startswith("Готово: открыто 1, закрыто 0, фильтруется 0 из 1 порта за "), \
        summary
    assert summary.endswith(" с")
    [row] = window.tree.get_children()
    assert values(window, row)["state"] == "открыт"
    # Three: "из 3 портов".
    window.ports.set(",".join(map(str, three_listeners)))
    window.start_button.invoke()
    finish(window, tk_root)
    assert window.summary.get().startswith("Готово: открыто 3, закрыто 0, фильтруется 0 из "
                                           "3 портов за ")

    # Three hosts.
    open_ports, closed = loopback_hosts
    scanned = sorted({p for ports in open_ports.values() for p in ports} | set(closed))
    window.targets.set("127.0.0.1-3")
    assert window.hints["targets"].cget("text") == "3 хоста"
    window.ports.set(",".join(map(str, scanned)))
    window.start_button.invoke()
    finish(window, tk_root)
    hosts = window.tree.get_children()
    assert [window.tree.item(h, "text") for h in hosts] == [
        "127.0.0.1 — нет открытых портов", "127.0.0.2 — 1 открытый", "127.0.0.3 — 2 открытых"]
    assert values(window, hosts[0])["state"] == "доступен"
    assert "хосты: доступно 3, недоступно 0" in window.progress_text.get()
    assert "портов/с" in window.progress_text.get()
    assert window.summary.get().startswith("Готово: доступно 3 из 3 хостов, 3 открытых порта "
                                           "за "), window.summary.get()
    # The export is for programs: the same keys and states as in English.
    window.export(str(tmp_path / "scan.json"), "json")
    data = json.loads((tmp_path / "scan.json").read_text())
    assert [h["state"] for h in data["hosts"]] == ["up"] * 3
    window.export(str(tmp_path / "scan.csv"), "csv")
    header = (tmp_path / "scan.csv").read_text().splitlines()[0]
    assert header == "host,address,port,service,banner,state"
    window.close()
    settle_threads()


def test_a_missing_translation_shows_english_in_the_window(tk_root, monkeypatch):
    """A message the catalogue lacks shows its English words, never a key."""
    i18n.setup("ru")
    partial = copy.copy(i18n._translation)
    partial._catalog = {k: v for k, v in partial._catalog.items() if k != "Cancel"}
    monkeypatch.setattr(i18n, "_translation", partial)
    window = ScannerWindow(tk_root, None)
    assert window.cancel_button.cget("text") == "Cancel"
    assert window.start_button.cget("text") == "Запустить"
    window.close()


def test_a_cancelled_scan_exports_as_cancelled(tk_root, three_listeners, tmp_path,
                                               settle_threads):
    """Issue 20: hosts never scanned were exported "up" with 0 ports, the
    host cut short "up", and "cancelled" appeared nowhere."""
    window = ScannerWindow(tk_root, None)
    window.targets.set("127.0.0.1-3")
    window.strategy.set("sequential")  # three full hosts one by one: seconds
    window.start_button.invoke()
    wait_until(lambda: window.progressbar["value"] > 0, 30, tk_root, "progress")
    window.cancel_button.invoke()
    finish(window, tk_root)
    window.export(str(tmp_path / "scan.json"), "json")
    data = json.loads((tmp_path / "scan.json").read_text())
    assert data["scan"] == "cancelled"
    assert [h["state"] for h in data["hosts"]] == [
        "partly scanned", "not scanned", "not scanned"]
    window.export(str(tmp_path / "scan.csv"), "csv")
    with open(tmp_path / "scan.csv") as f:
        rows = list(csv.DictReader(f))
    assert {(r["address"], r["state"]) for r in rows} == {
        ("127.0.0.1", "partly scanned"), ("127.0.0.2", "not scanned"),
        ("127.0.0.3", "not scanned")}
    window.close()
    settle_threads()


@pytest.mark.parametrize("target", ["bad_host!", "nosuch.invalid"])
def test_a_refused_target_clears_the_last_results_and_progress(tk_root, three_listeners,
                                                               target, settle_threads):
    """Issue 20: a bad target left the previous results and "100%" under the error."""
    window = ScannerWindow(tk_root, None)
    window.ports.set(",".join(map(str, three_listeners)))
    window.start_button.invoke()
    finish(window, tk_root)
    assert window.tree.get_children() and "100" in window.progress_text.get()
    window.targets.set(target)
    window.start_button.invoke()
    wait_until(lambda: window.worker is None and window.status.get().startswith(
        ("Error", "Fix")), 30, tk_root, "the refusal")
    assert window.errors["targets"].cget("text")
    assert window.tree.get_children() == ()
    assert window.progressbar["value"] == 0
    assert "100" not in window.progress_text.get() and window.summary.get() == ""
    assert window.result is None and "disabled" in window.export_button.state()
    window.close()
    settle_threads()


@pytest.mark.parametrize("bad", ["²", "１２３", "9" * 5000])
def test_a_number_that_only_looks_like_one_is_refused_with_a_message(tk_root, bad):
    """Issue 20: the threads field used int(), which takes "１２３" and raises
    past 4,300 digits; the ports field must say no too (a Tk callback that
    raised would fail this test)."""
    window = ScannerWindow(tk_root, None)
    window.targets.set("127.0.0.1")
    window.ports.set(bad)
    window.threads.set(bad)
    window.start_button.invoke()
    tk_root.update()
    assert window.worker is None
    assert window.errors["ports"].cget("text")
    assert window.hints["ports"].cget("text") == ""
    assert window.errors["threads"].cget("text") == "a number from 1 to 2048, or blank"
    assert window.status.get() == "Fix the fields marked in red."
    window.close()
