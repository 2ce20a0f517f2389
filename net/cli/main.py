"""The command line: ``netdesk serve``, ``netdesk echo`` and ``netdesk scan``.

Parsing lives here so that the GUI entry point and the console share one
parser; each subcommand renders an engine from ``net`` for a terminal.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from net import __version__, i18n
from net.chat.protocol import DEFAULT_PORT as CHAT_PORT
from net.cli.budget_flags import add_budget_flags
from net.cli.common import EXIT_USAGE, port_number, seconds_type, whole_number_type
from net.echo.server import DEFAULT_PORT as ECHO_PORT
from net.fields import shown
from net.i18n import _, number
from net.irc.options import SERVER_NAME_MAX, IrcOptions, is_server_name
from net.irc.server import DEFAULT_PORT as IRC_PORT


def add_lang_option(parser: argparse.ArgumentParser, shown: bool = True) -> None:
    """``--lang``: on the main parser (in the help) and after each subcommand.

    The language is installed before parsing (``choose_language``); here the
    option is only checked, so a wrong one is a usage error."""
    parser.add_argument("--lang", choices=sorted(i18n.LANGUAGES), metavar="en|ru",
                        default=None if shown else argparse.SUPPRESS,
                        help=_("the language of every text: en (English) or ru (Russian); "
                               "default: the system's") if shown else argparse.SUPPRESS)


def irc_server_name(text: str) -> str:
    """argparse type: the IRC gateway's server name (``net.irc.options``)."""
    if not is_server_name(text):
        raise argparse.ArgumentTypeError(
            _("not a server name: {text} (write a host name with a dot, like irc.example.org: "
              "letters, digits, hyphens and dots, at most {n} characters)").format(
                  text=shown(text), n=SERVER_NAME_MAX))
    return text


LOG_LEVELS = ["debug", "info", "warning", "error"]


def _add_global_options(parser: argparse.ArgumentParser, subcommand: bool = False) -> None:
    """--data-dir and --log-level. Every subcommand takes them too, after its
    name (``netdesk scan localhost --data-dir X``); there they default to
    SUPPRESS, so that one given before the subcommand is not overwritten."""
    unset = argparse.SUPPRESS
    parser.add_argument("--data-dir", metavar=_("DIR"), default=unset if subcommand else None,
                        help=_("where logs, accounts and settings live "
                               "(default: the platform's user data directory)"))
    parser.add_argument("--log-level", choices=LOG_LEVELS,
                        default=unset if subcommand else "info",
                        help=_("how much goes to the log file (debug logs every echo chunk)"))
    add_lang_option(parser, shown=not subcommand)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netdesk",
        description=_("A desktop network workbench. With no command, opens the window."))
    parser.add_argument("--version", action="version", version=f"netdesk {__version__}",
                        help=_("show the version and exit"))
    _add_global_options(parser)
    parser.add_argument("--smoke-test", action="store_true",
                        help=_("open every window, wait until drawn, close, exit 0"))
    # For tests/bench/bench_start.py: exit as soon as the launcher is drawn.
    parser.add_argument("--exit-when-drawn", action="store_true", help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar=_("COMMAND"))

    serve = sub.add_parser("serve", help=_("run the echo and chat servers with a command console"),
                           usage=_("netdesk serve [--host H] [--echo-port P] [--chat-port P] "
                                   "[budget options] (--help lists them)"))
    serve.add_argument("--history-retention", type=whole_number_type(1, 10**9, "retention"),
                       default=100_000, metavar="N",
                       help=_("chat messages kept in the history (default {n})").format(
                           n=number(100_000)))
    serve.add_argument("--host", default="0.0.0.0", metavar="H",
                       help=_("address to listen on (default: all)"))
    serve.add_argument("--echo-port", type=port_number, default=ECHO_PORT, metavar="P",
                       help=_("echo service port (default {port}; busy: the next free one)")
                       .format(port=ECHO_PORT))
    serve.add_argument("--chat-port", type=port_number, default=CHAT_PORT, metavar="P",
                       help=_("chat service port (default {port}; busy: the next free one)")
                       .format(port=CHAT_PORT))
    tls = serve.add_argument_group(_("TLS on the chat port"))
    tls.add_argument("--tls-cert", metavar="FILE",
                     help=_("the certificate (PEM) to use instead of the self-signed one "
                            "made in the data directory"))
    tls.add_argument("--tls-key", metavar="FILE",
                     help=_("the private key (PEM) of --tls-cert"))
    tls.add_argument("--require-tls", action="store_true",
                     help=_("refuse logins on plain (unencrypted) connections"))
    tls.add_argument("--new-certificate", action="store_true",
                     help=_("make a new self-signed certificate (clients that pinned the old "
                            "one will be asked to accept it)"))
    irc = serve.add_mutually_exclusive_group()
    irc.add_argument("--irc-port", type=port_number, default=IRC_PORT, metavar="P",
                     help=_("IRC gateway port: IRC clients join the chat as #netdesk "
                            "(default {port}; 0: any free port)").format(port=IRC_PORT))
    irc.add_argument("--no-irc", action="store_true",
                     help=_("do not run the IRC gateway"))
    serve.add_argument("--irc-guests", action="store_true",
                       help=_("let IRC clients without a password in, under names that "
                              "are no account"))
    serve.add_argument("--irc-server-name", type=irc_server_name,
                       default=IrcOptions.server_name, metavar=_("NAME"),
                       help=_("the IRC gateway's server name, the source of its replies "
                              "(default {name})").format(name=IrcOptions.server_name))
    _add_global_options(serve, subcommand=True)
    add_budget_flags(serve)

    echo = sub.add_parser("echo", help=_("an interactive echo client"))
    echo.add_argument("host", nargs="?", metavar=_("host"),
                      help=_("server host (asked for when missing)"))
    echo.add_argument("port", nargs="?", type=port_number, metavar=_("port"),
                      help=_("server port"))
    echo.add_argument("--timeout", type=seconds_type(0.001, 86400), default=5.0, metavar="S",
                      help=_("seconds to wait for a reply"))
    _add_global_options(echo, subcommand=True)

    from net.scan.engine import DEFAULT_TIMEOUT, MAX_PROCS, STRATEGIES
    from net.scan.targets import MAX_HOSTS_DEFAULT
    scan = sub.add_parser("scan", help=_("scan the TCP ports of hosts and networks"),
                          description=_("Targets: host names, addresses, CIDR blocks "
                                        "(10.200.1.0/24), ranges (10.200.1.1-40), IPv6, "
                                        "separated by spaces or commas."))
    scan.add_argument("targets", nargs="*", metavar=_("TARGET"),
                      help=_("what to scan (asked for when missing)"))
    scan.add_argument("-iL", dest="input_list", metavar=_("FILE"),
                      help=_("read targets from FILE: one or more a line, '#' comments"))
    scan.add_argument("-p", "--ports", default="1-65535", metavar=_("PORTS"),
                      help=_("ports, e.g. 1-1024,3306,8000-8100 (default: all, 1-65535)"))
    scan.add_argument("--max-hosts", type=whole_number_type(1, 1 << 20, "max-hosts"),
                      default=MAX_HOSTS_DEFAULT, metavar="N",
                      help=_("refuse target lists of more hosts (default {n})").format(
                          n=number(MAX_HOSTS_DEFAULT)))
    down = scan.add_mutually_exclusive_group()
    down.add_argument("--skip-down", dest="skip_down", action="store_true", default=None,
                      help=_("ask each host a few common ports first and scan only those "
                             "that answer (default with more than one host)"))
    down.add_argument("-Pn", dest="skip_down", action="store_false",
                      help=_("scan every host, answering or not"))
    scan.add_argument("--banners", action="store_true",
                      help=_("show what open ports say first (SSH, SMTP, HTTP, netdesk), "
                             "for the first 1024 open ports"))
    scan.add_argument("--threads", type=whole_number_type(1, 2048, "threads"), default=None,
                      metavar="N", help=_("worker threads (default: 1 for fast, 256 for threads)"))
    scan.add_argument("--procs", type=whole_number_type(1, MAX_PROCS, "procs"), default=None,
                      metavar="N",
                      help=_("worker processes for the fast strategy (default: one per CPU "
                             "on large scans, where it is faster)"))
    # The range (0.01-60) is the engine's to check, in one line.
    scan.add_argument("--timeout", type=seconds_type(), default=DEFAULT_TIMEOUT, metavar="S",
                      help=_("longest wait for a port's answer; shorter waits are learned "
                             "from each host's round trips (default {seconds})").format(
                                 seconds=f"{DEFAULT_TIMEOUT:g}"))
    scan.add_argument("--strategy", choices=STRATEGIES, default="fast",
                      help=_("fast: many non-blocking connects at once (default); "
                             "threads: a pool of blocking connects; sequential: one at a time"))
    scan.add_argument("--in-flight", type=whole_number_type(1, 1_000_000, "in-flight"),
                      default=None, help=argparse.SUPPRESS)
    scan.add_argument("--json", action="store_true",
                      help=_("print one JSON object and nothing else on stdout"))
    _add_global_options(scan, subcommand=True)
    return parser


def lang_in(argv: list[str]) -> str | None:
    """The value of the last ``--lang`` in ``argv`` (``--lang ru``, ``--lang=ru``,
    or cut short to ``--la``/``--lan`` as argparse allows), before any ``--``."""
    found = None
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        name, equals, value = arg.partition("=")
        if len(name) >= 4 and "--lang".startswith(name):
            if equals:
                found = value
            elif i + 1 < len(argv):
                found = argv[i + 1]
    return found


def choose_language(argv: list[str] | None) -> str:
    """Install the language ``--lang`` names, wherever it stands, else the
    system's, before the parser is built: its help and errors are in it.
    A ``--lang`` the parser will refuse does not count."""
    lang = lang_in(sys.argv[1:] if argv is None else argv)
    return i18n.setup(lang if lang in i18n.LANGUAGES else None)


def parse(argv: list[str] | None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def main(argv: list[str] | None = None, open_gui: Callable[[argparse.Namespace], int] | None = None
         ) -> int:
    """Run a subcommand; with none, hand over to ``open_gui``."""
    choose_language(argv)
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
