"""nmap XML out of a real scan of loopback, read back by the programs that
read nmap's: python-libnmap (against nmap's own XML of the same target) and
nmap's ``ndiff``."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from net.scan.engine import Scanner
from net.scan.nmapxml import HostExtras, RunInfo, command_line, to_bytes
from tests.conftest import listen_on

libnmap = pytest.importorskip("libnmap.parser", reason="python-libnmap is a test dependency")


def scan(ports: str):
    return Scanner("127.0.0.1", ports).run()


@pytest.fixture
def two_listeners():
    socks = listen_on(count=2)
    yield sorted(s.getsockname()[1] for s in socks)
    for s in socks:
        s.close()


def spec_of(ports: list[int]) -> str:
    return ",".join(f"{p - 5}-{p + 5}" for p in ports)


def test_libnmap_reads_what_netdesk_wrote(two_listeners, tmp_path):
    spec = spec_of(two_listeners)
    finished = scan(spec)
    extras = {"127.0.0.1": HostExtras(ptr=("localhost",), mac="02:00:0a:c8:01:07",
                                      vendor="Test & <Vendor>")}
    data = to_bytes(finished, RunInfo(command_line(["netdesk", "scan", "-p", spec, "127.0.0.1"]),
                                      spec), extras)
    report = libnmap.NmapParser.parse_fromstring(data.decode())
    assert report.hosts_total == 1 and report.hosts_up == 1
    host = report.hosts[0]
    assert host.address == "127.0.0.1" and host.is_up()
    assert host.mac == "02:00:0A:C8:01:07" and host.vendor == "Test & <Vendor>"
    assert "localhost" in host.hostnames
    assert sorted(p for p, proto in host.get_open_ports()) == two_listeners
    assert report.commandline.startswith("netdesk scan -p")


@pytest.mark.skipif(shutil.which("nmap") is None, reason="needs nmap (Debian package nmap)")
def test_the_same_open_ports_as_nmaps_own_xml(two_listeners):
    spec = spec_of(two_listeners)
    ours = libnmap.NmapParser.parse_fromstring(
        to_bytes(scan(spec), RunInfo("netdesk scan", spec)).decode())
    theirs_xml = subprocess.run(["nmap", "-sT", "-Pn", "-n", "-p", spec, "-oX", "-",
                                 "127.0.0.1"], capture_output=True, text=True, timeout=120,
                                check=True).stdout
    theirs = libnmap.NmapParser.parse_fromstring(theirs_xml)
    assert ours.hosts[0].get_open_ports() == theirs.hosts[0].get_open_ports()
    assert ours.hosts[0].address == theirs.hosts[0].address
    # The same shape: every element nmap writes for a host, ours has too.
    mine = {e.tag for e in ET.fromstring(to_bytes(scan(spec), RunInfo("x", spec))).iter()}
    nmaps = {e.tag for e in ET.fromstring(theirs_xml).find("host").iter()}
    assert nmaps - mine <= {"times", "extrareasons"}, nmaps - mine


@pytest.mark.skipif(shutil.which("ndiff") is None, reason="needs ndiff (Debian package ndiff)")
def test_ndiff_sees_a_port_that_opened(two_listeners, tmp_path):
    spec = spec_of(two_listeners)
    before = tmp_path / "before.xml"
    before.write_bytes(to_bytes(scan(spec), RunInfo("netdesk scan", spec)))
    extra = listen_on([two_listeners[0] + 3, two_listeners[0] + 4, two_listeners[0] + 2],
                      most=1)
    try:
        assert extra, "no free port beside the listener"
        opened = extra[0].getsockname()[1]
        after = tmp_path / "after.xml"
        after.write_bytes(to_bytes(scan(spec), RunInfo("netdesk scan", spec)))
    finally:
        for s in extra:
            s.close()
    same = subprocess.run(["ndiff", str(before), str(before)], capture_output=True, text=True,
                          timeout=60)
    assert same.returncode == 0, same.stderr
    diff = subprocess.run(["ndiff", str(before), str(after)], capture_output=True, text=True,
                          timeout=60)
    assert diff.returncode == 1, diff.stderr
    assert f"+{opened}/tcp" in diff.stdout.replace(" ", ""), diff.stdout


def test_names_and_banners_are_escaped_not_pasted(two_listeners):
    spec = spec_of(two_listeners)
    finished = scan(spec)
    hostile = '"/><host><address addr="6.6.6.6"/></host><x a="'
    data = to_bytes(finished, RunInfo(hostile, spec), {"127.0.0.1": HostExtras(ptr=(hostile,))})
    root = ET.fromstring(data)
    assert [a.get("addr") for a in root.iter("address")] == ["127.0.0.1"]
    assert root.get("args") == hostile
