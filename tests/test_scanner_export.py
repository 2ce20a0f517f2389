"""The scanner's export writers with no display: a cancelled scan says it
was cancelled and gives each host its true state, in JSON and in CSV; and
the engine itself marks the hosts a cancelled scan did not finish."""

from __future__ import annotations

import csv
import io
import json
import threading

from gui.scanner import export
from net.scan.engine import DOWN, UP, HostResult, HostState, Progress, ScanFinished, Scanner
from tests.conftest import listen_on


def host(address: str, state: str, scanned: int, open_ports=(), finished: bool = True):
    return HostResult(address, address, state, scanned, [(p, "") for p in open_ports],
                      scanned - len(open_ports), 0, 1.0, finished=finished)


def cancelled_scan() -> ScanFinished:
    return ScanFinished([host("127.0.0.1", UP, 10, [22]),  # scanned through
                         host("127.0.0.2", UP, 4, [80], finished=False),  # cut short
                         host("127.0.0.3", UP, 0, finished=False),  # up, never asked
                         host("127.0.0.4", DOWN, 0),  # discovery said down
                         host("127.0.0.5", DOWN, 0, finished=False)],  # never decided
                        2.0, cancelled=True, several=True)


def record(result: ScanFinished) -> export.ScanRecord:
    return export.ScanRecord(result, "1-10", "127.0.0.1-5")


def test_a_cancelled_scan_exports_as_cancelled_with_each_hosts_true_state():
    data = export.as_json(record(cancelled_scan()))
    assert data["scan"] == "cancelled"
    assert [h["state"] for h in data["hosts"]] == [
        "up", "partly scanned", "not scanned", "down", "not scanned"]
    assert [h["open"] for h in data["hosts"]] == [[22], [80], [], [], []]


def test_a_complete_scan_exports_as_complete():
    result = ScanFinished([host("127.0.0.1", UP, 10, [22]), host("127.0.0.2", DOWN, 0)],
                          2.0, several=True)
    data = export.as_json(record(result))
    assert data["scan"] == "complete"
    assert [h["state"] for h in data["hosts"]] == ["up", "down"]
    one = export.as_json(record(ScanFinished([host("127.0.0.1", UP, 10, [22])], 1.0)))
    assert one["scan"] == "complete" and one["state"] == "up" and one["open"] == [22]


def test_the_csv_has_a_state_column_and_a_row_for_each_unfinished_host():
    f = io.StringIO()
    export.write_csv(f, record(cancelled_scan()))
    f.seek(0)
    rows = list(csv.DictReader(f))
    assert list(rows[0]) == list(export.CSV_COLUMNS)
    assert [(r["address"], r["port"], r["state"]) for r in rows] == [
        ("127.0.0.1", "22", "up"), ("127.0.0.2", "80", "partly scanned"),
        ("127.0.0.3", "", "not scanned"), ("127.0.0.5", "", "not scanned")]


def test_write_puts_the_status_in_the_json_file(tmp_path):
    path = tmp_path / "scan.json"
    export.write(str(path), "json", record(cancelled_scan()))
    assert json.loads(path.read_text())["scan"] == "cancelled"


def test_the_engine_marks_what_a_cancelled_scan_did_not_finish():
    socks = listen_on(count=1)
    try:
        scanner = Scanner("127.0.0.1-3", "1-65535", strategy="sequential", skip_down=False)
        started = threading.Event()

        def emit(event) -> None:
            if isinstance(event, Progress) and event.done:
                started.set()
                scanner.cancel()

        result = scanner.run(emit)
    finally:
        for s in socks:
            s.close()
    assert started.is_set() and result.cancelled
    first, *rest = result.hosts
    assert not first.finished and 0 < first.ports_scanned < 65535
    assert all(not h.finished and h.ports_scanned == 0 for h in rest)
    assert [export.host_state(h) for h in result.hosts] == [
        "partly scanned", "not scanned", "not scanned"]


def test_a_discovery_cut_short_calls_no_host_down():
    """Hosts a cancelled discovery never heard from are undecided, not down."""
    cancel = threading.Event()
    cancel.set()  # before discovery asks anyone
    events = []
    result = Scanner("127.0.0.1-3", "1-10", cancel=cancel).run(events.append)
    assert result.cancelled
    assert not [e for e in events if isinstance(e, HostState)]
    assert [export.host_state(h) for h in result.hosts] == ["not scanned"] * 3
