"""Scanner speed: ``netdesk scan`` against ``nmap -sT`` on the same targets, same run.

Runs are interleaved (netdesk, nmap, netdesk, ...); medians of ``--runs``
(default 5) are printed with the ratio netdesk / nmap (lower is better) and
whether the open ports per host are the same as nmap's.

Targets (issue 12's table):
  loopback      127.0.0.1, 1-65535                         goal <= 0.5x
  bed-host      10.200.0.2, 1-65535 (1000 filtered)        goal <= 0.5x
  bed-allopen   10.200.2.1, 1-65535, every port open       goal <= 0.7x
  bed-subnet    10.200.1.0/24, 1-1024,8080                 goal <= 0.5x
  (bed-* need root, iproute2 and iptables: ../shared/testbed/scanbed is
  brought up and torn down here; every packet stays in its namespaces.)

One host is scanned with ``nmap -sT -n -Pn``; the subnet with nmap's own host
discovery (``-sT -n``) against netdesk's default (``--skip-down``). Hosts
nmap calls up only because they answer ARP (nothing on TCP) have no open
ports either way, so open ports are compared per host.

    python tests/bench/bench_scan.py [--target NAME ...] [--runs 5] [--procs]

``--procs`` also times netdesk with ``--procs 1`` (one thread) beside the
default, to show what the worker processes buy.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANBED = ROOT.parent / "shared" / "testbed" / "scanbed"

TARGETS = {
    "loopback": ("127.0.0.1", "1-65535", 0.5, False),
    "bed-host": ("10.200.0.2", "1-65535", 0.5, True),
    "bed-allopen": ("10.200.2.1", "1-65535", 0.7, True),
    "bed-subnet": ("10.200.1.0/24", "1-1024,8080", 0.5, True),
}


def run_timed(cmd: list[str], timeout: float) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:6]} failed: {proc.stderr.strip()[:300]}")
    return elapsed, proc.stdout


def netdesk(prefix: list[str], target: str, ports: str, extra: list[str]):
    cmd = [*prefix, sys.executable, "-m", "gui", "scan", target, "-p", ports, "--json", *extra]
    elapsed, out = run_timed(cmd, 900)
    data = json.loads(out)
    hosts = data.get("hosts", [data])
    return elapsed, {h["address"]: frozenset(h["open"]) for h in hosts if h["open"]}, \
        _counts(hosts)


def _counts(hosts: list[dict]) -> tuple[int, int, int]:
    return (sum(len(h["open"]) for h in hosts), sum(h["closed"] for h in hosts),
            sum(h["filtered"] for h in hosts))


def nmap(prefix: list[str], target: str, ports: str, several: bool):
    cmd = [*prefix, "nmap", "-sT", "-n", *([] if several else ["-Pn"]), "-p", ports,
           "-oX", "-", target]
    elapsed, out = run_timed(cmd, 900)
    opened: dict[str, set[int]] = {}
    counts = {"open": 0, "closed": 0, "filtered": 0}
    for host in ET.fromstring(out).iter("host"):
        address = host.find("address").get("addr")
        for extra in host.iter("extraports"):
            counts[extra.get("state").split("|")[0]] += int(extra.get("count"))
        for port in host.iter("port"):
            state = port.find("state").get("state").split("|")[0]
            counts[state] += 1
            if state == "open":
                opened.setdefault(address, set()).add(int(port.get("portid")))
    return elapsed, {a: frozenset(p) for a, p in opened.items()}, \
        (counts["open"], counts["closed"], counts["filtered"])


def compare(name: str, runs: int, with_procs: bool) -> bool:
    target, ports, goal, bed = TARGETS[name]
    prefix = [str(SCANBED), "run"] if bed else []
    several = "/" in target
    variants = {"netdesk": []}
    if with_procs:
        variants["netdesk --procs 1"] = ["--procs", "1"]
    times: dict[str, list[float]] = {"nmap": []} | {v: [] for v in variants}
    found: dict[str, tuple] = {}
    for _ in range(runs):
        t, opened, counts = nmap(prefix, target, ports, several)
        times["nmap"].append(t)
        found["nmap"] = (opened, counts)
        for label, extra in variants.items():
            t, opened, counts = netdesk(prefix, target, ports, extra)
            times[label].append(t)
            found[label] = (opened, counts)
    base = statistics.median(times["nmap"])
    print(f"\n== {name}: {target} ports {ports}, median of {runs} interleaved runs")
    print(f"   {'tool':22s} {'median s':>9s} {'ratio':>6s}   open/closed/filtered, open ports")
    print(f"   {'nmap -sT':22s} {base:9.3f} {1.0:6.2f}   {found['nmap'][1]}")
    met = True
    for label in variants:
        med = statistics.median(times[label])
        same = found[label][0] == found["nmap"][0]
        print(f"   {label:22s} {med:9.3f} {med / base:6.2f}   {found[label][1]} "
              f"{'same open ports per host as nmap' if same else 'DIFFERENT open ports'}")
        if label == "netdesk":
            met = med / base <= goal and same
            print(f"   goal: <= {goal:.1f}x nmap with the same open ports -> "
                  f"{'met' if met else 'NOT met'} ({med / base:.2f}x)")
    return met


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", nargs="*", choices=list(TARGETS), default=list(TARGETS))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--procs", action="store_true", help="also time --procs 1")
    args = ap.parse_args()
    if not shutil.which("nmap"):
        sys.exit("bench_scan: needs nmap (apt-get install -y nmap)")
    results = {}
    need_bed = any(TARGETS[t][3] for t in args.target)
    if need_bed:
        subprocess.run([str(SCANBED), "up"], check=True)
    try:
        for name in args.target:
            results[name] = compare(name, args.runs, args.procs)
    finally:
        if need_bed:
            subprocess.run([str(SCANBED), "down"], check=False)
    print("\n" + ", ".join(f"{n}: {'met' if ok else 'NOT met'}" for n, ok in results.items()))


if __name__ == "__main__":
    main()
