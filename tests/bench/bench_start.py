"""Start-up: time from launch to the launcher drawn, from source and frozen,
and the size of the one-folder build.

Interleaved runs (source, frozen, source, ...) under the current DISPLAY
(run it under Xvfb: ``xvfb-run -a python tests/bench/bench_start.py``);
prints medians, the frozen/source ratio and the size of ``dist/netdesk``.
Builds ``dist/`` first with ``pyinstaller build.spec`` unless ``--no-build``.
Goals: drawn in under 1 s from source and 1.5 s frozen; dist under 60 MB.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FROZEN = ROOT / "dist" / "netdesk" / "netdesk"


def time_to_drawn(cmd: list[str]) -> float:
    with tempfile.TemporaryDirectory() as data:
        start = time.perf_counter()
        proc = subprocess.Popen([*cmd, "--data-dir", data, "--exit-when-drawn"],
                                stdout=subprocess.PIPE, text=True, cwd=ROOT)
        line = proc.stdout.readline()
        elapsed = time.perf_counter() - start
        proc.wait(30)
        proc.stdout.close()
    if line.strip() != "drawn":
        raise RuntimeError(f"{cmd[0]} did not draw the launcher")
    return elapsed


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()
    if not os.environ.get("DISPLAY"):
        sys.exit("bench_start: needs a display (xvfb-run -a python tests/bench/bench_start.py)")
    if not args.no_build:
        subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level",
                        "WARN", "build.spec"], cwd=ROOT, check=True)
    source_cmd = [sys.executable, "-m", "gui"]
    times = {"source": [], "frozen": []}
    time_to_drawn(source_cmd)  # warm the file cache once for both
    time_to_drawn([str(FROZEN)])
    for _ in range(args.runs):
        times["source"].append(time_to_drawn(source_cmd))
        times["frozen"].append(time_to_drawn([str(FROZEN)]))
    src, frz = statistics.median(times["source"]), statistics.median(times["frozen"])
    size = folder_size(FROZEN.parent) / 1e6
    print(f"launcher drawn, source: {src:.3f} s median of {args.runs} (goal < 1.0 s)")
    print(f"launcher drawn, frozen: {frz:.3f} s median of {args.runs} (goal < 1.5 s)")
    print(f"ratio frozen/source: {frz / src:.2f}")
    print(f"dist/netdesk: {size:.1f} MB (goal < 60 MB)")


if __name__ == "__main__":
    main()
