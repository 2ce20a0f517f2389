"""A finished scan as nmap's XML (``-oX``), so that nmap's own ``ndiff``,
python-libnmap and Metasploit's importer read netdesk's results.

The elements and attributes are nmap.dtd's (xmloutputversion 1.05): one
``nmaprun`` with ``scaninfo``, a ``host`` per host that is up (nmap leaves
down hosts out unless asked; they are counted in ``runstats``), each with
its ``status``, ``address`` (ipv4/ipv6, and ``mac`` with ``vendor`` when
known), ``hostnames`` (``user`` for the name asked, ``PTR`` for reverse
DNS), ``ports`` (closed and filtered as ``extraports``, each open one as a
``port`` with its ``state`` and ``service``), and ``runstats`` last.

The document is built with ElementTree, so every name or banner a host
sent is escaped, never pasted in.
"""

from __future__ import annotations

import ipaddress
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from net import __version__
from net.scan.events import UP, HostResult, ScanFinished

XML_OUTPUT_VERSION = "1.05"


@dataclass(frozen=True)
class HostExtras:
    """What is known of a host beyond its ports (names, link-layer address)."""

    ptr: tuple[str, ...] = ()
    mac: str | None = None
    vendor: str | None = None


@dataclass(frozen=True)
class RunInfo:
    args: str
    ports_spec: str
    started: float = field(default_factory=time.time)  # seconds since the epoch
    ports_per_host: int = 0


def _family(address: str) -> str:
    try:
        return "ipv6" if ipaddress.ip_address(address).version == 6 else "ipv4"
    except ValueError:
        return "ipv4"


def _timestr(when: float) -> str:
    return time.strftime("%a %b %d %H:%M:%S %Y", time.localtime(when))


def _host(result: HostResult, extras: HostExtras, start: float) -> ET.Element:
    host = ET.Element("host", starttime=str(int(start)),
                      endtime=str(int(start + result.elapsed)))
    ET.SubElement(host, "status", state=result.state,
                  reason="syn-ack" if result.open else "conn-refused", reason_ttl="0")
    ET.SubElement(host, "address", addr=result.address, addrtype=_family(result.address))
    if extras.mac:
        mac = {"addr": extras.mac.upper(), "addrtype": "mac"}
        if extras.vendor:
            mac["vendor"] = extras.vendor
        ET.SubElement(host, "address", mac)
    names = ET.SubElement(host, "hostnames")
    if result.host and result.host != result.address:
        ET.SubElement(names, "hostname", name=result.host, type="user")
    for name in extras.ptr:
        ET.SubElement(names, "hostname", name=name, type="PTR")
    ports = ET.SubElement(host, "ports")
    for state, count, reason in (("closed", result.closed, "conn-refused"),
                                 ("filtered", result.filtered, "no-response")):
        if count:
            extra = ET.SubElement(ports, "extraports", state=state, count=str(count))
            ET.SubElement(extra, "extrareasons", reason=reason, count=str(count))
    for number, service in result.open:
        port = ET.SubElement(ports, "port", protocol="tcp", portid=str(number))
        ET.SubElement(port, "state", state="open", reason="syn-ack", reason_ttl="0")
        attrs = {"name": service or "unknown", "method": "table", "conf": "3"}
        banner = result.banners.get(number)
        if banner:
            attrs["extrainfo"] = banner[:200]
        ET.SubElement(port, "service", attrs)
    return host


def document(scan: ScanFinished, run: RunInfo,
             extras: Mapping[str, HostExtras] | None = None) -> ET.ElementTree:
    """The scan as an nmap XML tree; ``extras`` by address."""
    extras = extras or {}
    root = ET.Element("nmaprun", scanner="netdesk", args=run.args, start=str(int(run.started)),
                      startstr=_timestr(run.started), version=__version__,
                      xmloutputversion=XML_OUTPUT_VERSION)
    ET.SubElement(root, "scaninfo", type="connect", protocol="tcp",
                  numservices=str(run.ports_per_host or max(
                      (h.ports_scanned for h in scan.hosts), default=0)),
                  services=run.ports_spec)
    for result in scan.hosts:
        if result.state == UP:
            root.append(_host(result, extras.get(result.address, HostExtras()), run.started))
    end = run.started + scan.elapsed
    up = sum(h.state == UP for h in scan.hosts)
    stats = ET.SubElement(root, "runstats")
    summary = (f"netdesk done at {_timestr(end)}; {len(scan.hosts)} IP address"
               f"{'es' if len(scan.hosts) != 1 else ''} ({up} host{'s' if up != 1 else ''} up) "
               f"scanned in {scan.elapsed:.2f} seconds")
    ET.SubElement(stats, "finished", time=str(int(end)), timestr=_timestr(end),
                  summary=summary, elapsed=f"{scan.elapsed:.2f}",
                  exit="error" if scan.cancelled else "success",
                  **({"errormsg": "cancelled"} if scan.cancelled else {}))
    ET.SubElement(stats, "hosts", up=str(up), down=str(len(scan.hosts) - up),
                  total=str(len(scan.hosts)))
    ET.indent(root)
    return ET.ElementTree(root)


def to_bytes(scan: ScanFinished, run: RunInfo,
             extras: Mapping[str, HostExtras] | None = None) -> bytes:
    body = ET.tostring(document(scan, run, extras).getroot(), encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE nmaprun>\n'
            + body + "\n").encode("utf-8")


def command_line(argv: Iterable[str]) -> str:
    """The ``args`` attribute: the command as typed, one line."""
    return " ".join(a if a and " " not in a else repr(a) for a in argv).replace("\n", " ")
