"""The command line: ``netdesk serve``, ``netdesk echo`` and ``netdesk scan``.

Parsing lives here so that the GUI entry point and the console share one
parser; each subcommand renders an engine from ``net`` for a terminal.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from net import __version__
from net.chat.protocol import DEFAULT_PORT as CHAT_PORT
from net.cli.budget_flags import add_budget_flags
from net.cli.common import EXIT_USAGE, port_number, seconds_type, whole_number_type
from net.echo.server import DEFAULT_PORT as ECHO_PORT

LOG_LEVELS = ["debug", "info", "warning", "error"]


def _add_global_options(parser: argparse.ArgumentParser, subcommand: bool = False) -> None:
    """--data-dir and --log-level. Every subcommand takes them too, after its
    name (``netdesk scan localhost --data-dir X``); there they default to
    SUPPRESS, so that one given before the subcommand is not overwritten."""
    unset = argparse.SUPPRESS
    parser.add_argument("--data-dir", metavar="DIR", default=unset if subcommand else None,
                        help="where logs, accounts and settings live "
                             "(default: the platform's user data directory)")
    parser.add_argument("--log-level", choices=LOG_LEVELS,
                        default=unset if subcommand else "info",
                        help="how much goes to the log file (debug logs every echo chunk)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netdesk",
        description="A desktop network workbench. With no command, opens the window.")
    parser.add_argument("--version", action="version", version=f"netdesk {__version__}")
    _add_global_options(parser)
    parser.add_argument("--smoke-test", action="store_true",
                        help="open every window, wait until drawn, close, exit 0")
    # For tests/bench/bench_start.py: exit as soon as the launcher is drawn.
    parser.add_argument("--exit-when-drawn", action="store_true", help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the echo and chat servers with a command console",
                           usage="netdesk serve [--host H] [--echo-port P] [--chat-port P] "
                                 "[budget options] (--help lists them)")
    serve.add_argument("--history-retention", type=whole_number_type(1, 10**9, "retention"),
                       default=100_000, metavar="N",
                       help="chat messages kept in the history (default 100000)")
    serve.add_argument("--host", default="0.0.0.0", help="address to listen on (default: all)")
    serve.add_argument("--echo-port", type=port_number, default=ECHO_PORT,
                       help=f"echo service port (default {ECHO_PORT}; busy: the next free one)")
    serve.add_argument("--chat-port", type=port_number, default=CHAT_PORT,
                       help=f"chat service port (default {CHAT_PORT}; busy: the next free one)")
    _add_global_options(serve, subcommand=True)
    add_budget_flags(serve)

    echo = sub.add_parser("echo", help="an interactive echo client")
    echo.add_argument("host", nargs="?", help="server host (asked for when missing)")
    echo.add_argument("port", nargs="?", type=port_number, help="server port")
    echo.add_argument("--timeout", type=seconds_type(0.001, 86400), default=5.0,
                      help="seconds to wait for a reply")
    _add_global_options(echo, subcommand=True)

    from net.scan.engine import DEFAULT_TIMEOUT, MAX_PROCS, STRATEGIES
    from net.scan.targets import MAX_HOSTS_DEFAULT
    scan = sub.add_parser("scan", help="scan the TCP ports of hosts and networks",
                          description="Targets: host names, addresses, CIDR blocks "
                                      "(10.200.1.0/24), ranges (10.200.1.1-40), IPv6, "
                                      "separated by spaces or commas.")
    scan.add_argument("targets", nargs="*", metavar="TARGET",
                      help="what to scan (asked for when missing)")
    scan.add_argument("-iL", dest="input_list", metavar="FILE",
                      help="read targets from FILE: one or more a line, '#' comments")
    scan.add_argument("-p", "--ports", default="1-65535",
                      help="ports, e.g. 1-1024,3306,8000-8100 (default: all, 1-65535)")
    scan.add_argument("--max-hosts", type=whole_number_type(1, 1 << 20, "max-hosts"),
                      default=MAX_HOSTS_DEFAULT,
                      help=f"refuse target lists of more hosts (default {MAX_HOSTS_DEFAULT})")
    down = scan.add_mutually_exclusive_group()
    down.add_argument("--skip-down", dest="skip_down", action="store_true", default=None,
                      help="ask each host a few common ports first and scan only those "
                           "that answer (default with more than one host)")
    down.add_argument("-Pn", dest="skip_down", action="store_false",
                      help="scan every host, answering or not")
    scan.add_argument("--banners", action="store_true",
                      help="show what open ports say first (SSH, SMTP, HTTP, netdesk), "
                           "for the first 1024 open ports")
    scan.add_argument("--threads", type=whole_number_type(1, 2048, "threads"), default=None,
                      help="worker threads (default: 1 for fast, 256 for threads)")
    scan.add_argument("--procs", type=whole_number_type(1, MAX_PROCS, "procs"), default=None,
                      help="worker processes for the fast strategy (default: one per CPU "
                           "on large scans, where it is faster)")
    # The range (0.01-60) is the engine's to check, in one line.
    scan.add_argument("--timeout", type=seconds_type(), default=DEFAULT_TIMEOUT,
                      help=f"longest wait for a port's answer; shorter waits are learned "
                           f"from each host's round trips (default {DEFAULT_TIMEOUT:g})")
    scan.add_argument("--strategy", choices=STRATEGIES, default="fast",
                      help="fast: many non-blocking connects at once (default); "
                           "threads: a pool of blocking connects; sequential: one at a time")
    scan.add_argument("--in-flight", type=whole_number_type(1, 1_000_000, "in-flight"),
                      default=None, help=argparse.SUPPRESS)
    scan.add_argument("--json", action="store_true",
                      help="print one JSON object and nothing else on stdout")
    _add_global_options(scan, subcommand=True)
    return parser


def parse(argv: list[str] | None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def main(argv: list[str] | None = None, open_gui: Callable[[argparse.Namespace], int] | None = None
         ) -> int:
    """Run a subcommand; with none, hand over to ``open_gui``."""
    args = parse(argv)
    if args.command == "echo":
        from net.cli.echo import run_echo
        return run_echo(args)
    if args.command == "serve":
        from net.cli.console import run_serve
        return run_serve(args)
    if args.command == "scan":
        from net.cli.scan import run_scan
        return run_scan(args)
    if open_gui is None:
        build_parser().print_help()
        return EXIT_USAGE
    return open_gui(args)
