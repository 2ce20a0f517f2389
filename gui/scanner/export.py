"""The scanner's exports, with no Tk: what a finished or cancelled scan
writes as CSV or JSON, the file name offered, and the folder the dialog
opens in.

- CSV: ``host,address,port,service,banner,state``, one row per open port,
  hosts in target order and ports ascending; a host with no open port that
  was not (fully) scanned gets one row with the port left empty, so a
  cancelled scan's file shows what it lacks;
- JSON: ``ScanFinished.as_json()``, the object ``netdesk scan --json`` prints
  (one host: ``{"host", "open", ...}``; several: ``{"hosts": [...]}``), with
  ``"services": {"port": name}`` added to each host object, and at the top
  ``"scanned_at"`` (when the scan started, ISO 8601 with the time zone),
  ``"port_spec"`` (the ports asked for, as typed), ``"targets"`` and
  ``"scan"``: ``"complete"`` or ``"cancelled"``; every host object has a
  ``"state"``.

A host's state (``host_state``), the same words in every language:
``"up"``, ``"down"``, ``"not scanned"`` (a cancelled scan never asked it)
or ``"partly scanned"`` (a cancelled scan asked some of its ports).
"""

from __future__ import annotations

import csv
import json
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TextIO

from net.scan.engine import HostResult, ScanFinished

CSV_COLUMNS = ("host", "address", "port", "service", "banner", "state")
FORMATS = ("csv", "json")
COMPLETE, CANCELLED = "complete", "cancelled"
NOT_SCANNED, PARTLY_SCANNED = "not scanned", "partly scanned"


@dataclass(frozen=True)
class ScanRecord:
    """A scan's result and what the window knows of how it was asked for."""

    result: ScanFinished
    port_spec: str = ""
    targets: str = ""
    started_at: datetime | None = None


def host_state(host: HostResult) -> str:
    """"up" or "down" for a host the scan finished with; else "not scanned"
    or "partly scanned" (what a cancelled scan knew of it is not its state)."""
    if host.finished:
        return host.state
    return PARTLY_SCANNED if host.ports_scanned else NOT_SCANNED


def scan_status(result: ScanFinished) -> str:
    """"complete" or "cancelled"."""
    return CANCELLED if result.cancelled else COMPLETE


def write_csv(f: TextIO, record: ScanRecord) -> None:
    """One row per open port, hosts in target order, ports ascending; one
    row with no port for a host without open ports that was not finished."""
    writer = csv.writer(f)
    writer.writerow(CSV_COLUMNS)
    for host in record.result.hosts:
        state = host_state(host)
        for port, service in host.open:
            writer.writerow((host.host, host.address, port, service,
                             host.banners.get(port, ""), state))
        if not host.open and not host.finished:
            writer.writerow((host.host, host.address, "", "", "", state))


def as_json(record: ScanRecord) -> dict:
    """``netdesk scan --json``'s object, with services, when, and what was asked."""
    result = record.result
    data = result.as_json()
    for host, obj in zip(result.hosts, data.get("hosts", [data]), strict=True):
        obj["services"] = {str(port): service for port, service in host.open}
        obj["state"] = host_state(host)
    if record.started_at is not None:
        data["scanned_at"] = record.started_at.isoformat(timespec="seconds")
    data["port_spec"] = record.port_spec
    data["targets"] = record.targets
    data["scan"] = scan_status(result)
    return data


def write(path: str, fmt: str, record: ScanRecord) -> None:
    """Write ``record`` to ``path`` as ``fmt`` ("csv" or "json"); OSError if it can't."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    with open(path, "w", newline="", encoding="utf-8") as f:
        if fmt == "csv":
            write_csv(f, record)
        else:
            json.dump(as_json(record), f, indent=2)
            f.write("\n")


def file_name(targets: str, fmt: str) -> str:
    """The name the dialog offers: ``scan-127.0.0.1.csv`` (unsafe characters as ``_``)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", targets.strip())[:40] or "scan"
    return f"scan-{name}.{fmt}"


def initial_dir(last: str) -> str:
    """Where the export dialog opens: the last export's folder while it
    exists, else the user's Documents, else home."""
    if last and os.path.isdir(last):
        return last
    home = Path.home()
    documents = home / "Documents"
    return str(documents if documents.is_dir() else home)
