"""The command line: ``netdesk serve``, ``netdesk echo`` and ``netdesk scan``.

Parsing lives here so that the GUI entry point and the console share one
parser; each subcommand renders an engine from ``net`` for a terminal.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TextIO

from net import __version__
from net.chat_server import DEFAULT_PORT as CHAT_PORT
from net.echo_server import DEFAULT_PORT as ECHO_PORT

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def port_number(text: str) -> int:
    """argparse type: a TCP port, 0 to 65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is out of range (0-65535)")
    return port


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netdesk",
        description="A desktop network workbench. With no command, opens the window.")
    parser.add_argument("--version", action="version", version=f"netdesk {__version__}")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="where logs, accounts and settings live "
                             "(default: the platform's user data directory)")
    parser.add_argument("--log-level", default="info",
                        choices=["debug", "info", "warning", "error"],
                        help="how much goes to the log file (debug logs every echo chunk)")
    parser.add_argument("--smoke-test", action="store_true",
                        help="open every window, wait until drawn, close, exit 0")
    # For tests/bench/bench_start.py: exit as soon as the launcher is drawn.
    parser.add_argument("--exit-when-drawn", action="store_true", help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the echo and chat servers with a command console")
    serve.add_argument("--history-retention", type=int, default=100_000, metavar="N",
                       help="chat messages kept in the history (default 100000)")
    serve.add_argument("--host", default="0.0.0.0", help="address to listen on (default: all)")
    serve.add_argument("--echo-port", type=port_number, default=ECHO_PORT,
                       help=f"echo service port (default {ECHO_PORT}; busy: the next free one)")
    serve.add_argument("--chat-port", type=port_number, default=CHAT_PORT,
                       help=f"chat service port (default {CHAT_PORT}; busy: the next free one)")
    serve.add_argument("--data-dir", dest="sub_data_dir", metavar="DIR", help=argparse.SUPPRESS)

    echo = sub.add_parser("echo", help="an interactive echo client")
    echo.add_argument("host", nargs="?", help="server host (asked for when missing)")
    echo.add_argument("port", nargs="?", type=port_number, help="server port")
    echo.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for a reply")

    from net.scanner import DEFAULT_TIMEOUT, STRATEGIES
    scan = sub.add_parser("scan", help="scan a host's TCP ports")
    scan.add_argument("host", nargs="?",
                      help="host name, IPv4 or IPv6 address (asked for when missing)")
    scan.add_argument("-p", "--ports", default="1-65535",
                      help="ports, e.g. 1-1024,3306,8000-8100 (default: all, 1-65535)")
    scan.add_argument("--threads", type=int, default=None,
                      help="worker threads (default: 1 for fast, 256 for threads)")
    scan.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                      help=f"seconds before an unanswered port is 'filtered' "
                           f"(default {DEFAULT_TIMEOUT:g})")
    scan.add_argument("--strategy", choices=STRATEGIES, default="fast",
                      help="fast: many non-blocking connects per thread (default); "
                           "threads: a pool of blocking connects; sequential: one at a time")
    scan.add_argument("--in-flight", type=int, default=None, help=argparse.SUPPRESS)
    scan.add_argument("--json", action="store_true",
                      help="print one JSON object and nothing else on stdout")
    return parser


def parse(argv: list[str] | None) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    # --data-dir is accepted before or after the subcommand.
    if getattr(args, "sub_data_dir", None):
        args.data_dir = args.sub_data_dir
    return args


def ask(prompt: str, default: str, stdin: TextIO, stdout: TextIO) -> str | None:
    """Prompt with a default; None at end of input."""
    stdout.write(f"{prompt} [{default}]: ")
    stdout.flush()
    line = stdin.readline()
    if not line:
        return None
    return line.strip() or default


def ask_valid(prompt: str, default: str, check: Callable[[str], object],
              stdin: TextIO, stdout: TextIO, tries: int = 3):
    """Ask until ``check`` accepts the answer (it raises ValueError otherwise)."""
    for _ in range(tries):
        answer = ask(prompt, default, stdin, stdout)
        if answer is None:
            return None
        try:
            return check(answer)
        except (ValueError, argparse.ArgumentTypeError) as e:
            stdout.write(f"  {e}\n")
    return None


def run_echo(args: argparse.Namespace, stdin: TextIO = sys.stdin,
             stdout: TextIO = sys.stdout) -> int:
    from net.echo_client import EchoClient, describe_error

    host = args.host or ask("Host", "127.0.0.1", stdin, stdout)
    if host is None:
        return EXIT_USAGE
    port = args.port
    if port is None:
        port = ask_valid("Port", str(ECHO_PORT), _port_1_65535, stdin, stdout)
        if port is None:
            return EXIT_USAGE
    client = EchoClient(timeout=args.timeout)
    try:
        peer = client.connect(host, port)
    except OSError as e:
        print(f"netdesk echo: cannot connect to {host}:{port}: {describe_error(e)}",
              file=sys.stderr)
        return EXIT_ERROR
    stdout.write(f"connected to {peer[0]}:{peer[1]} (type lines; 'exit' quits)\n")
    stdout.flush()
    try:
        for line in stdin:
            text = line.rstrip("\r\n")
            if text == "exit":
                break
            data = (text + "\n").encode("utf-8")
            stdout.write(f"sent {len(data)} bytes\n")
            reply, rtt = client.roundtrip(data)
            stdout.write(f"received {len(reply)} bytes in {rtt * 1000:.2f} ms: "
                         f"{reply.decode('utf-8', 'replace').rstrip()}\n")
            stdout.flush()
    except OSError as e:
        stdout.write(f"connection lost: {describe_error(e)}\n")
        return EXIT_ERROR
    except KeyboardInterrupt:
        stdout.write("\n")
    finally:
        client.close()
    stdout.write("disconnected\n")
    return EXIT_OK


def _port_1_65535(text: str) -> int:
    port = port_number(text)
    if port == 0:
        raise ValueError("port 0 is for servers; give the port a server listens on")
    return port


def main(argv: list[str] | None = None, open_gui: Callable[[argparse.Namespace], int] | None = None
         ) -> int:
    """Run a subcommand; with none, hand over to ``open_gui``."""
    args = parse(argv)
    if args.command == "echo":
        return run_echo(args)
    if args.command == "serve":
        from net.console import run_serve
        return run_serve(args)
    if args.command == "scan":
        from net.scan_cli import run_scan
        return run_scan(args)
    if open_gui is None:
        build_parser().print_help()
        return EXIT_USAGE
    return open_gui(args)
