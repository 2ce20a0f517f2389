"""``netdesk scan``: the scanner engine rendered for a terminal.

One host: ``Port N open`` lines in ascending order and a summary (or one
JSON object with ``--json``), exactly as the scanner always printed. Several
hosts: each host that is up gets a ``Host H (address) up`` line, its ports
and a one-line summary, printed as soon as the host is done; a last line
sums up the hosts. A progress bar goes to stderr when stderr is a terminal.
Exit 0 on a finished scan, 1 when it failed, 2 on bad input, 130 when
interrupted (after printing what was found so far).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from typing import TextIO

from net.cli.common import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, ask
from net.i18n import _, ngettext, number
from net.progress import format_eta
from net.scan.engine import (
    DEFAULT_IN_FLIGHT,
    UP,
    HostDone,
    HostResult,
    Progress,
    ScanError,
    ScanFinished,
    Scanner,
    ScanStarted,
)
from net.scan.targets import TargetError, read_target_file


def progress_line(p: Progress, width: int) -> str:
    """``[#####.....]  45.0%  12,345 ports/s  ETA 00:03  open 2`` sized to ``width``;
    with several hosts, also ``hosts 3/40 (12 up, 200 down)``."""
    fraction = p.done / p.total if p.total else 1.0
    hosts = ""
    if p.hosts_total > 1:
        hosts = "  " + _("hosts {done}/{total} ({up} up, {down} down)").format(
            done=number(p.hosts_done), total=number(p.hosts_up), up=number(p.hosts_up),
            down=number(p.hosts_down))
    tail = " " + _("{percent}%  {rate} ports/s  ETA {eta}{hosts}  open {open}").format(
        percent=f"{number(fraction * 100, 1):>5}", rate=f"{number(p.rate, 0):>7}",
        eta=format_eta(p.eta), hosts=hosts, open=number(p.open_count))
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
            ports = ngettext("{n} port", "{n} ports", event.ports).format(
                n=number(event.ports))
            if event.hosts > 1:
                what = _("{hosts} x {ports}").format(
                    hosts=ngettext("{n} host", "{n} hosts", event.hosts).format(
                        n=number(event.hosts)), ports=ports)
            else:
                what = _("{host} ({address}): {ports}").format(
                    host=event.host, address=event.address,
                    ports=ngettext("{n} port", "{n} ports", event.total).format(
                        n=number(event.total)))
            self.stream.write(_("scanning {what}, {how}").format(what=what, how=how(event))
                              + "\n")
        elif isinstance(event, Progress):
            width = shutil.get_terminal_size((80, 20)).columns
            self.stream.write("\r" + progress_line(event, width))
            self.drawn = True
        else:
            return
        self.stream.flush()

    def finish(self, erase: bool = False) -> None:
        """End the bar's line: keep it (the scan is over) or erase it (a host's
        lines are about to be printed; the next progress draws it again)."""
        if self.enabled and self.drawn:
            self.stream.write("\r\x1b[K" if erase else "\n")
            self.stream.flush()
            self.drawn = False


def how(event: ScanStarted) -> str:
    """``fast, 2 processes x 2048 connects at once`` and the like."""
    if event.strategy == "fast":
        connects = ngettext("{n} connect at once", "{n} connects at once",
                            event.in_flight).format(n=number(event.in_flight))
        if event.procs > 1:
            procs = ngettext("{n} process", "{n} processes", event.procs).format(
                n=number(event.procs))
            return _("fast, {procs} x {connects}").format(procs=procs, connects=connects)
        return _("fast, {connects}").format(connects=connects)
    if event.strategy == "threads":
        return ngettext("threads, {n} blocking connect at once",
                        "threads, {n} blocking connects at once",
                        event.threads).format(n=number(event.threads))
    return _("sequential, one connect at a time")


def port_lines(host: HostResult) -> list[str]:
    lines = []
    for port, service in host.open:
        lines.append(_("Port {port} open").format(port=port)
                     + (f"  ({service})" if service else ""))
        if host.banners.get(port):
            lines.append(f"    {host.banners[port]}")
    return lines


def host_summary(host: HostResult) -> str:
    """``6 open, 64,529 closed, 0 filtered of 64,535 ports``."""
    return ngettext("{open} open, {closed} closed, {filtered} filtered of {total} port",
                    "{open} open, {closed} closed, {filtered} filtered of {total} ports",
                    host.ports_scanned).format(
        open=number(len(host.open)), closed=number(host.closed),
        filtered=number(host.filtered), total=number(host.ports_scanned))


def seconds_text(seconds: float) -> str:
    """``in 0.52 s``."""
    return _("in {seconds} s").format(seconds=number(seconds, 2))


def interrupted_note(interrupted: bool) -> str:
    return " " + _("(interrupted)") if interrupted else ""


class TextReport:
    """Prints each host of a several-host scan when it is done (banners, which
    come after every host is scanned, hold the printing back to the end)."""

    def __init__(self, out: TextIO, bar: ProgressBar, streaming: bool):
        self.out, self.bar, self.streaming = out, bar, streaming
        self.printed: set[str] = set()

    def __call__(self, event) -> None:
        self.bar(event)
        if self.streaming and isinstance(event, HostDone):
            self.host(event.result)

    def host(self, result: HostResult, note: str = "") -> None:
        if result.address in self.printed or result.state != UP:
            return
        self.printed.add(result.address)
        self.bar.finish(erase=True)
        lines = [_("Host {host} ({address}) up").format(host=result.host,
                                                         address=result.address),
                 *port_lines(result), f"  {host_summary(result)}{note}"]
        self.out.write("\n".join(lines) + "\n")
        self.out.flush()

    def end(self, result: ScanFinished, interrupted: bool) -> None:
        note = interrupted_note(interrupted)
        for host in result.hosts:
            if host.ports_scanned:
                self.host(host, note)
        up = result.up
        opened = len(result.open)
        hosts = ngettext("{n} host", "{n} hosts", len(result.hosts)).format(
            n=number(len(result.hosts)))
        ports = ngettext("{n} open port", "{n} open ports", opened).format(n=number(opened))
        self.out.write(_("{hosts}: {up} up, {down} down; {ports} {elapsed}").format(
            hosts=hosts, up=number(up), down=number(len(result.hosts) - up), ports=ports,
            elapsed=seconds_text(result.elapsed)) + note + "\n")
        self.out.flush()


def print_single(result: ScanFinished, out: TextIO, interrupted: bool) -> None:
    host = result.single
    lines = port_lines(host)
    lines.append(_("{summary} on {host} ({address}) {elapsed}").format(
        summary=host_summary(host), host=host.host, address=host.address,
        elapsed=seconds_text(result.elapsed)) + interrupted_note(interrupted))
    out.write("\n".join(lines) + "\n")


def gather_targets(args: argparse.Namespace, stdin: TextIO, stderr: TextIO) -> list[str] | None:
    targets = list(args.targets)
    if args.input_list:
        targets += read_target_file(args.input_list)  # TargetError: the caller's
    if not targets:
        answer = ask(_("Host to scan"), "127.0.0.1", stdin, stderr)
        if answer is None:
            return None
        targets = [answer]
    return targets


def run_scan(args: argparse.Namespace, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout,
             stderr: TextIO = sys.stderr) -> int:
    try:
        targets = gather_targets(args, stdin, stderr)
        if targets is None:
            print("netdesk scan: " + _("no host given"), file=stderr)
            return EXIT_USAGE
        scanner = Scanner(targets, args.ports, strategy=args.strategy, threads=args.threads,
                          timeout=args.timeout, in_flight=args.in_flight or DEFAULT_IN_FLIGHT,
                          skip_down=args.skip_down, procs=args.procs, banners=args.banners,
                          max_hosts=args.max_hosts)
    except (ScanError, TargetError) as e:
        print(f"netdesk scan: {e}", file=stderr)
        return EXIT_USAGE
    bar = ProgressBar(stderr)
    report = TextReport(stdout, bar, streaming=scanner.several and not args.banners
                        and not args.json)
    interrupted = False
    try:
        result = scanner.run(report)
    except KeyboardInterrupt:
        interrupted = True
        result = scanner.partial_result()
    except (OSError, RuntimeError) as e:  # out of sockets, a worker that died...
        bar.finish()
        print(_("netdesk scan: the scan failed: {error}").format(error=e), file=stderr)
        return EXIT_ERROR
    bar.finish()
    if args.json:
        stdout.write(json.dumps(result.as_json()) + "\n")
    elif scanner.several:
        report.end(result, interrupted)
    else:
        print_single(result, stdout, interrupted)
    stdout.flush()
    if interrupted:
        print("netdesk scan: " + _("interrupted"), file=stderr)
        return EXIT_INTERRUPTED
    return EXIT_OK
