"""Scanner window against ``netdesk scan`` on the all-open target, same run.

Issue 10, row 2: a full scan of a host with every port open must finish in
the window (last row and summary shown) within 1.3x the time of the command
line, and Cancel pressed mid-scan must act within 0.5 s.

Runs are interleaved (CLI, window, CLI, window, ...); medians of ``--runs``
(default 5) are printed with the ratio window / CLI, then the time Cancel
took when pressed ``--cancel-after`` seconds into a scan (median of the same
number of runs).

- CLI: ``python -m gui scan 10.200.2.1 --json`` (what ``netdesk scan`` runs),
  timed from launch to exit, as a user timing the command sees it; its own
  ``elapsed_s`` (the engine alone) is printed beside it.
- Window: this file run as a driver (``--driver full|cancel``) under
  ``ip netns exec``: a Tk root, a ``ScannerWindow`` shown on the display,
  Start pressed, ``mainloop`` until the window shows every row and its
  summary. Timed from the press (the start-up of Python and Tk is left out;
  the CLI's is not, so the ratio favours the CLI by its start-up).
- Cancel: timed from the moment the press was due (so a Tk thread too busy
  to take the click counts against the window) to "Cancelled" shown with
  Start enabled again.

The target: ``../shared/testbed/scanbed``'s ``10.200.2.1`` when that bed is
up (it is used as it is, never taken down); otherwise a ``tests/scanbed.py``
bed of its own (namespaces ``nd_swb_cli``/``nd_swb_tgt``, all 65535 ports open
on 10.200.2.1), taken down at the end. Needs root, iproute2 and iptables;
every packet stays in those namespaces. Needs a display: ``DISPLAY`` if set,
else an Xvfb of its own.

    python tests/bench/bench_scan_window.py [--runs 5] [--cancel-after 1.0]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANBED = ROOT.parent / "shared" / "testbed" / "scanbed"
SHARED_CLIENT_NS = "nd_cli"
OWN_NAMESPACES = ("nd_swb_cli", "nd_swb_tgt")
TARGET = "10.200.2.1"
PORTS = "1-65535"
GOAL_RATIO, GOAL_CANCEL = 1.3, 0.5
RUN_TIMEOUT = 600


# -- the driver: runs inside the client namespace ------------------------------------
def drive(mode: str, target: str, cancel_after: float) -> dict:
    """Open the window, press Start (and Cancel), return what it took."""
    import tkinter as tk

    from gui.kit import style
    from gui.scanner.window import ScannerWindow

    root = tk.Tk(className="netdesk")
    style.apply(root)
    root.withdraw()
    window = ScannerWindow(root, None)
    window.targets.set(target)
    window.ports.set(PORTS)
    window.strategy.set("fast")
    window.threads.set("")
    window.scan_all.set(False)
    window.banners.set(False)
    while not window.winfo_viewable():  # drawn on the display before the clock starts
        root.update()
    root.update()
    times: dict[str, float] = {}

    def finished() -> bool:
        return window.worker is None and bool(window.summary.get())

    def check() -> None:
        if finished():
            root.update_idletasks()  # the last rows and the summary drawn
            times["done"] = time.perf_counter()
            root.quit()
        else:
            root.after(5, check)

    def press_cancel() -> None:
        times["pressed"] = time.perf_counter()
        window.cancel_button.invoke()

    times["start"] = time.perf_counter()
    window.start_button.invoke()
    if mode == "cancel":
        times["due"] = times["start"] + cancel_after
        root.after(int(cancel_after * 1000), press_cancel)
    root.after(5, check)
    root.mainloop()
    rows = _rows_shown(window)
    result = window.result
    out = {"summary": window.summary.get(), "rows": rows,
           "open": len(result.open) if result else -1,
           "engine_s": result.elapsed if result else -1.0}
    if mode == "cancel":
        out["cancel_s"] = times["done"] - times["due"]
        out["press_late_s"] = times.get("pressed", times["done"]) - times["due"]
        out["cancelled"] = bool(result and result.cancelled)
    else:
        out["elapsed"] = times["done"] - times["start"]
    window.close()
    root.destroy()
    return out


def _rows_shown(window) -> int:
    tree = window.tree
    tops = tree.get_children()
    several = window.results.several
    return sum(len(tree.get_children(i)) or 1 for i in tops) if several else len(tops)


# -- the bench ----------------------------------------------------------------------
class Bed:
    """The all-open target: the shared scanbed when up, else a bed of our own."""

    def __init__(self):
        self.own = None
        if _shared_bed_up():
            self.prefix = ["ip", "netns", "exec", SHARED_CLIENT_NS]
            self.where = f"{SCANBED} (already up; left up)"
        else:
            sys.path.insert(0, str(ROOT))
            from tests.scanbed import EVERY_PORT, ScanBed

            self.own = ScanBed(all_open_ports=EVERY_PORT, namespaces=OWN_NAMESPACES)
            self.own.__enter__()
            self.prefix = ["ip", "netns", "exec", OWN_NAMESPACES[0]]
            self.where = f"tests/scanbed.py, namespaces {'/'.join(OWN_NAMESPACES)}"

    def close(self) -> None:
        if self.own is not None:
            self.own.close()


def _shared_bed_up() -> bool:
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    if not any(line.split()[0] == SHARED_CLIENT_NS for line in names.splitlines() if line):
        return False
    listeners = subprocess.run(["ip", "netns", "exec", "nd_tgt", "ss", "-Hltn"],
                               capture_output=True, text=True).stdout
    return sum(f" {TARGET}:" in f" {line.split()[3]}" for line in listeners.splitlines()
               if len(line.split()) > 3) >= 65535


def run_cli(prefix: list[str]) -> tuple[float, float, int]:
    """(wall seconds, the engine's elapsed_s, open ports)."""
    cmd = [*prefix, sys.executable, "-m", "gui", "scan", TARGET, "-p", PORTS, "--json"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT, cwd=ROOT)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"netdesk scan failed: {proc.stderr.strip()[:300]}")
    data = json.loads(proc.stdout)
    return wall, data["elapsed_s"], len(data["open"])


def run_window(prefix: list[str], display: str, mode: str, cancel_after: float) -> dict:
    cmd = [*prefix, "env", f"DISPLAY={display}", sys.executable, str(Path(__file__).resolve()),
           "--driver", mode, "--cancel-after", str(cancel_after)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"the window driver failed: {proc.stderr.strip()[-600:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def start_xvfb() -> tuple[subprocess.Popen, str]:
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0",
                             "1280x900x24", "-nolisten", "tcp"], pass_fds=(write_fd,),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    with os.fdopen(read_fd) as f:
        number = f.readline().strip()
    if not number:
        proc.kill()
        raise RuntimeError("Xvfb did not start")
    return proc, f":{number}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--cancel-after", type=float, default=1.0,
                    help="seconds into the scan at which Cancel is pressed")
    ap.add_argument("--driver", choices=("full", "cancel"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.driver:
        sys.path.insert(0, str(ROOT))
        print(json.dumps(drive(args.driver, TARGET, args.cancel_after)))
        return
    if os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("iptables"):
        sys.exit("bench_scan_window: needs root, iproute2 and iptables (for the bed)")
    xvfb, display = (None, os.environ["DISPLAY"]) if os.environ.get("DISPLAY") \
        else start_xvfb()
    bed = Bed()
    try:
        print(f"target {TARGET} ports {PORTS}, every port open; bed: {bed.where}; "
              f"display {display}")
        cli_wall, cli_engine, window, cancel = [], [], [], []
        for i in range(args.runs):
            wall, engine, opened = run_cli(bed.prefix)
            cli_wall.append(wall)
            cli_engine.append(engine)
            shown = run_window(bed.prefix, display, "full", args.cancel_after)
            window.append(shown["elapsed"])
            print(f"  run {i + 1}: CLI {wall:.2f} s (engine {engine:.2f} s, {opened} open); "
                  f"window {shown['elapsed']:.2f} s (engine {shown['engine_s']:.2f} s, "
                  f"{shown['rows']} rows shown of {shown['open']} open)", flush=True)
            if opened != 65535 or shown["rows"] != 65535:
                raise RuntimeError("the bed did not show every port open: is it whole?")
        for i in range(args.runs):
            stopped = run_window(bed.prefix, display, "cancel", args.cancel_after)
            cancel.append(stopped["cancel_s"])
            print(f"  cancel {i + 1}: acted in {stopped['cancel_s']:.3f} s (press taken "
                  f"{stopped['press_late_s'] * 1000:.0f} ms late), {stopped['rows']} rows "
                  f"shown of {stopped['open']} found; {stopped['summary']!r}", flush=True)
    finally:
        bed.close()
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(10)
    cli, win, engine = (statistics.median(v) for v in (cli_wall, window, cli_engine))
    stop = statistics.median(cancel)
    print(f"\nmedians of {args.runs} interleaved runs:")
    print(f"  netdesk scan (wall)     {cli:7.2f} s   (its engine alone: {engine:.2f} s)")
    print(f"  scanner window          {win:7.2f} s")
    print(f"  ratio window / CLI      {win / cli:7.2f}   goal <= {GOAL_RATIO} -> "
          f"{'met' if win / cli <= GOAL_RATIO else 'NOT met'}"
          f"   (against the CLI's engine alone: {win / engine:.2f})")
    print(f"  Cancel acted in         {stop:7.3f} s   goal <= {GOAL_CANCEL} -> "
          f"{'met' if stop <= GOAL_CANCEL else 'NOT met'}")


if __name__ == "__main__":
    main()
