"""``netdesk scan``: the scanner engine rendered for a terminal.

Open ports go to stdout in ascending order (or one JSON object with
``--json``); a progress bar goes to stderr when stderr is a terminal.
Exit 0 on a finished scan, 2 on bad input, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from typing import TextIO

from net.cli.common import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, ask
from net.progress import format_eta
from net.scan.engine import DEFAULT_IN_FLIGHT, Progress, ScanError, Scanner, ScanStarted


def progress_line(p: Progress, width: int) -> str:
    """``[#####.....]  45.0%  12345 ports/s  ETA 00:03  open 2`` sized to ``width``."""
    fraction = p.done / p.total if p.total else 1.0
    tail = (f" {fraction * 100:5.1f}%  {p.rate:7.0f} ports/s  ETA {format_eta(p.eta)}"
            f"  open {p.open_count}")
    bar_width = max(10, min(40, width - len(tail) - 3))
    filled = int(bar_width * fraction)
    return f"[{'#' * filled}{'.' * (bar_width - filled)}]{tail}"[: max(width - 1, 20)]


class ProgressBar:
    """Redraws one stderr line, at most ~10 times a second (the engine's pace)."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.enabled = stream.isatty()
        self.drawn = False

    def __call__(self, event) -> None:
        if not self.enabled:
            return
        if isinstance(event, ScanStarted):
            self.stream.write(f"scanning {event.host} ({event.address}): {event.total} ports, "
                              f"{event.strategy}, {event.threads} thread(s)\n")
        elif isinstance(event, Progress):
            width = shutil.get_terminal_size((80, 20)).columns
            self.stream.write("\r" + progress_line(event, width))
            self.drawn = True
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled and self.drawn:
            self.stream.write("\n")
            self.stream.flush()


def run_scan(args: argparse.Namespace, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout,
             stderr: TextIO = sys.stderr) -> int:
    host = args.host
    if not host:
        host = ask("Host to scan", "127.0.0.1", stdin, stderr)
        if host is None:
            print("netdesk scan: no host given", file=stderr)
            return EXIT_USAGE
    try:
        scanner = Scanner(host, args.ports, strategy=args.strategy, threads=args.threads,
                          timeout=args.timeout, in_flight=args.in_flight or DEFAULT_IN_FLIGHT)
    except ScanError as e:
        print(f"netdesk scan: {e}", file=stderr)
        return EXIT_USAGE
    bar = ProgressBar(stderr)
    try:
        result = scanner.run(bar)
    except KeyboardInterrupt:
        bar.finish()
        print("netdesk scan: interrupted", file=stderr)
        return EXIT_INTERRUPTED
    bar.finish()
    if args.json:
        stdout.write(json.dumps(result.as_json()) + "\n")
    else:
        for port, service in result.open:
            stdout.write(f"Port {port} open" + (f"  ({service})" if service else "") + "\n")
        stdout.write(f"{len(result.open)} open, {result.closed} closed, {result.filtered} "
                     f"filtered of {result.ports_scanned} ports on {result.host} "
                     f"({result.address}) in {result.elapsed:.2f} s\n")
    stdout.flush()
    return EXIT_OK
