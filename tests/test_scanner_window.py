"""The scanner window under Xvfb: a real scan of loopback listeners."""

from __future__ import annotations

import csv
import json

import pytest

from gui.scanner_window import ScannerWindow
from tests.conftest import listen_on, wait_until


@pytest.fixture
def three_listeners():
    socks = listen_on(count=3)
    yield sorted(s.getsockname()[1] for s in socks)
    for s in socks:
        s.close()


def test_scan_from_the_window_reaches_100_and_lists_the_open_set(tk_root, three_listeners,
                                                                  tmp_path, settle_threads):
    window = ScannerWindow(tk_root, None)
    # Scan exactly the three ports, plus closed neighbours, in shuffled spec order.
    spec = ",".join(f"{p}-{p + 2}" for p in reversed(three_listeners))
    window.ports.set(spec)
    window.start_button.invoke()
    wait_until(lambda: window.result is not None and window.worker is None, 30, tk_root,
               "the scan to finish")
    assert window.progressbar["value"] == pytest.approx(100.0)
    assert "100.0%" in window.progress_text.get()
    rows = [window.tree.item(i, "values") for i in window.tree.get_children()]
    opened = {int(r[0]) for r in rows}
    assert opened >= set(three_listeners)
    ports = [int(r[0]) for r in rows]
    assert ports == sorted(ports)
    assert all(r[2] == "open" for r in rows)
    assert "Done:" in window.summary.get() and "closed" in window.summary.get()
    assert str(window.start_button.state()) == "()"

    window.export(str(tmp_path / "scan.csv"), "csv")
    window.export(str(tmp_path / "scan.json"), "json")
    with open(tmp_path / "scan.csv") as f:
        exported = [int(r["port"]) for r in csv.DictReader(f)]
    assert exported == ports
    data = json.loads((tmp_path / "scan.json").read_text())
    assert data["open"] == ports and data["host"] == "127.0.0.1"

    window.sort_by("port")  # second click on the sorted column: descending
    shown = [int(window.tree.item(i, "values")[0]) for i in window.tree.get_children()]
    assert shown == sorted(ports, reverse=True)

    window.tree.selection_set(window.tree.get_children()[0])
    window.copy_selection()
    assert tk_root.clipboard_get().split("\t")[0] == str(max(ports))
    window.close()
    settle_threads()


def test_fields_are_validated_next_to_the_field(tk_root):
    window = ScannerWindow(tk_root, None)
    window.host.set("")
    window.ports.set("1-70000")
    window.threads.set("zero")
    window.timeout.set("-1")
    window.start_button.invoke()
    assert window.worker is None
    assert "host" in window.errors["host"].cget("text")
    assert "out of range" in window.errors["ports"].cget("text")
    assert "1 to 2048" in window.errors["threads"].cget("text")
    assert "0.01" in window.errors["timeout"].cget("text")
    window.close()


def test_unknown_host_is_shown_not_raised(tk_root):
    window = ScannerWindow(tk_root, None)
    window.host.set("no-such-host.invalid")
    window.ports.set("1-10")
    window.start_button.invoke()
    wait_until(lambda: window.worker is None, 30, tk_root, "the scan to fail")
    assert "unknown host" in window.status.get()
    assert "unknown host" in window.errors["host"].cget("text")
    window.close()


def test_cancel_and_close_during_a_full_scan(tk_root, settle_threads):
    window = ScannerWindow(tk_root, None)
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
