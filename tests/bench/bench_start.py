"""Start-up: time from launch to the launcher drawn, from source and frozen,
and the size of the one-folder build.

Interleaved runs (source, frozen, source, ...) under the current DISPLAY
(run it under Xvfb: ``xvfb-run -a python tests/bench/bench_start.py``), in
the light and the dark theme (``--themes``); prints medians, the
frozen/source ratio, the theme drawn and the size of ``dist/netdesk``.
Builds ``dist/`` first with ``pyinstaller build.spec`` unless ``--no-build``.
Goals: drawn in under 1 s from source and 1.5 s frozen; dist under 60 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FROZEN = ROOT / "dist" / "netdesk" / "netdesk"


def time_to_drawn(cmd: list[str], theme: str = "system") -> tuple[float, str]:
    """Seconds from launch to the launcher drawn, and the ttk theme it drew with."""
    with tempfile.TemporaryDirectory() as data:
        Path(data, "settings.json").write_text(json.dumps({"view": {"theme": theme}}))
        start = time.perf_counter()
        proc = subprocess.Popen([*cmd, "--data-dir", data, "--exit-when-drawn"],
                                stdout=subprocess.PIPE, text=True, cwd=ROOT)
        line = proc.stdout.readline()
        elapsed = time.perf_counter() - start
        proc.wait(30)
        proc.stdout.close()
    if not line.startswith("drawn"):
        raise RuntimeError(f"{cmd[0]} did not draw the launcher")
    return elapsed, line.split(maxsplit=1)[1].strip() if " " in line.strip() else "?"


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--themes", default="light,dark", help="comma-separated: light,dark,system")
    args = ap.parse_args()
    if not os.environ.get("DISPLAY"):
        sys.exit("bench_start: needs a display (xvfb-run -a python tests/bench/bench_start.py)")
    if not args.no_build:
        subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level",
                        "WARN", "build.spec"], cwd=ROOT, check=True)
    source_cmd = [sys.executable, "-m", "gui"]
    time_to_drawn(source_cmd)  # warm the file cache once for both
    time_to_drawn([str(FROZEN)])
    for theme in args.themes.split(","):
        times: dict[str, list[float]] = {"source": [], "frozen": []}
        drawn_with = set()
        for _ in range(args.runs):
            for kind, cmd in (("source", source_cmd), ("frozen", [str(FROZEN)])):
                seconds, ttk_theme = time_to_drawn(cmd, theme)
                times[kind].append(seconds)
                drawn_with.add(f"{kind}: {ttk_theme}")
        src, frz = statistics.median(times["source"]), statistics.median(times["frozen"])
        print(f"[{theme}] drawn with {', '.join(sorted(drawn_with))}")
        print(f"[{theme}] launcher drawn, source: {src:.3f} s median of {args.runs} "
              f"(goal < 1.0 s)")
        print(f"[{theme}] launcher drawn, frozen: {frz:.3f} s median of {args.runs} "
              f"(goal < 1.5 s)")
        print(f"[{theme}] ratio frozen/source: {frz / src:.2f}")
    size = folder_size(FROZEN.parent) / 1e6
    print(f"dist/netdesk: {size:.1f} MB (goal < 60 MB)")


if __name__ == "__main__":
    main()
