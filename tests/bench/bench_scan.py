"""Scanner speed: ``netdesk scan`` against ``nmap -sT -n -Pn`` on the same target.

Runs are interleaved (netdesk, nmap, netdesk, ...) and medians of at least
five are printed with both tools' open/closed/filtered counts and the ratio
netdesk / nmap (lower is better). Every netdesk strategy is timed in the
same run, side by side.

Targets:
  loopback   127.0.0.1, ports 1-65535 (goal: ratio <= 1.0)
  bed        the two-host bed ../shared/testbed/scanbed (needs root, iproute2,
             iptables): 10.200.0.2 from the nd_cli namespace, ports 1-65535
             (goal <= 0.7) and 1-5000 (goal <= 0.5). The bed is brought up and
             torn down by this script; every packet stays inside namespaces
             it created.

    python tests/bench/bench_scan.py [--target loopback|bed|all] [--runs 5]
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
BED_HOST = "10.200.0.2"


def run_timed(cmd: list[str], timeout: float) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:4]} failed: {proc.stderr.strip()[:300]}")
    return elapsed, proc.stdout


def netdesk(prefix: list[str], host: str, ports: str, strategy: str, timeout: float):
    cmd = [*prefix, sys.executable, "-m", "gui", "scan", host, "-p", ports, "--json",
           "--strategy", strategy]
    elapsed, out = run_timed(cmd, timeout)
    data = json.loads(out)
    return elapsed, (len(data["open"]), data["closed"], data["filtered"])


def nmap(prefix: list[str], host: str, ports: str, timeout: float):
    cmd = [*prefix, "nmap", "-sT", "-n", "-Pn", "-p", ports, "-oX", "-", host]
    elapsed, out = run_timed(cmd, timeout)
    counts = {"open": 0, "closed": 0, "filtered": 0}
    root = ET.fromstring(out)
    for extra in root.iter("extraports"):
        counts[extra.get("state").split("|")[0]] += int(extra.get("count"))
    for port in root.iter("port"):
        counts[port.find("state").get("state").split("|")[0]] += 1
    return elapsed, (counts["open"], counts["closed"], counts["filtered"])


def compare(label: str, prefix: list[str], host: str, ports: str, runs: int,
            strategies: list[str], goal: float | None) -> None:
    times: dict[str, list[float]] = {"nmap": []} | {s: [] for s in strategies}
    counts: dict[str, tuple] = {}
    for _ in range(runs):
        for name in times:
            if name == "nmap":
                t, c = nmap(prefix, host, ports, 900)
            else:
                t, c = netdesk(prefix, host, ports, name, 900)
            times[name].append(t)
            counts[name] = c
    base = statistics.median(times["nmap"])
    print(f"\n== {label}: {host} ports {ports}, median of {runs} interleaved runs")
    print(f"   {'tool':22s} {'median s':>9s} {'ratio':>6s}   open/closed/filtered")
    print(f"   {'nmap -sT -n -Pn':22s} {base:9.3f} {1.0:6.2f}   {counts['nmap']}")
    for s in strategies:
        med = statistics.median(times[s])
        same = "same as nmap" if counts[s] == counts["nmap"] else "DIFFERENT from nmap"
        print(f"   {'netdesk ' + s:22s} {med:9.3f} {med / base:6.2f}   {counts[s]} {same}")
    if goal is None:  # a small range: Python's start-up alone outweighs the scan
        return
    fast = statistics.median(times["fast"]) / base
    print(f"   goal: fast <= {goal:.1f}x nmap -> {'met' if fast <= goal else 'NOT met'} "
          f"({fast:.2f}x)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", choices=["loopback", "bed", "all"], default="all")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    if not shutil.which("nmap"):
        sys.exit("bench_scan: needs nmap (apt-get install -y nmap)")
    if args.target in ("loopback", "all"):
        compare("loopback", [], "127.0.0.1", "1-65535", args.runs,
                ["fast", "threads", "sequential"], 1.0)
    if args.target in ("bed", "all"):
        subprocess.run([str(SCANBED), "up"], check=True)
        try:
            bed = [str(SCANBED), "run"]
            compare("bed", bed, BED_HOST, "1-5000", args.runs, ["fast", "threads"], 0.5)
            compare("bed", bed, BED_HOST, "1-65535", args.runs, ["fast", "threads"], 0.7)
            # One blocking connect at a time waits out every filtered port: only
            # a range without them is affordable for the sequential strategy.
            compare("bed", bed, BED_HOST, "1-1999", max(1, args.runs // 2),
                    ["fast", "threads", "sequential"], None)
        finally:
            subprocess.run([str(SCANBED), "down"], check=False)


if __name__ == "__main__":
    main()
