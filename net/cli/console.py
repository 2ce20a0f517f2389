"""``netdesk serve``: the services on their threads, commands on the main one.

The main thread reads commands from stdin (with a prompt on a terminal).
End of input stops the reading, not the server, so ``netdesk serve <
/dev/null &`` runs as a service until SIGTERM, Ctrl-C or ``shutdown``.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

from net import datadir
from net.chat.server import ChatOptions
from net.cli.budget_flags import budgets_from
from net.cli.common import EXIT_USAGE
from net.cli.console_words import execute
from net.control.controller import ServerConfig, ServerController, service_name
from net.i18n import _
from net.irc.server import IrcOptions
from net.listener import ListenError

log = logging.getLogger("netdesk.control")

LINE_MAX = 4096  # characters of one command line; the rest of a longer one is dropped


class _Stop(Exception):
    """Raised in the main thread by SIGINT/SIGTERM to end the console."""


def _raise_stop(signum, frame):  # noqa: ANN001 - signal handler signature
    raise _Stop


def run_serve(args: argparse.Namespace, stdin=None, stdout=None) -> int:
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    try:
        data_dir = datadir.ensure_data_dir(args.data_dir)
    except OSError as e:
        print("netdesk serve: " + _("cannot use data directory: {reason}").format(reason=e),
              file=sys.stderr)
        return 1
    try:
        budgets = budgets_from(args)
    except ValueError as e:
        print(f"netdesk serve: --trusted: {e}", file=sys.stderr)
        return EXIT_USAGE
    if bool(args.tls_cert) != bool(args.tls_key):
        print("netdesk serve: " + _("--tls-cert and --tls-key go together"), file=sys.stderr)
        return EXIT_USAGE
    if args.tls_cert and args.new_certificate:
        print("netdesk serve: " + _("--new-certificate makes a self-signed certificate; "
                                    "it cannot replace --tls-cert"), file=sys.stderr)
        return EXIT_USAGE
    handler = datadir.setup_logging(data_dir, args.log_level.upper())
    options = ChatOptions(retention=max(1, args.history_retention),
                          tls_cert=Path(args.tls_cert) if args.tls_cert else None,
                          tls_key=Path(args.tls_key) if args.tls_key else None,
                          new_certificate=args.new_certificate, require_tls=args.require_tls)
    config = ServerConfig(host=args.host, echo_port=args.echo_port, chat_port=args.chat_port,
                          chat_options=options, budgets=budgets,
                          # A namespace made without the IRC options (older callers) runs none.
                          irc_port=None if getattr(args, "no_irc", False)
                          else getattr(args, "irc_port", None),
                          irc_options=IrcOptions(
                              guests=getattr(args, "irc_guests", False),
                              server_name=getattr(args, "irc_server_name",
                                                  IrcOptions.server_name)))
    controller = ServerController(data_dir, config, handler)
    previous = {sig: signal.signal(sig, _raise_stop)
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            started = controller.start()
        except (ListenError, ValueError, OSError) as e:
            print(f"netdesk serve: {e}", file=sys.stderr)
            return 1
        for service, host, port in started:
            line = _("{service} listening on {host}:{port}").format(
                service=service_name(service), host=host, port=port)
            print(line, file=stdout, flush=True)
            if service == "chat" and controller.chat and controller.chat.certificate:
                # Not translated: scripts and tests read this line.
                print(f"chat tls fingerprint {controller.chat.certificate.fingerprint}",
                      file=stdout, flush=True)
        _read_commands(controller, stdin, stdout)
        if not controller.stopped.is_set():
            # End of input: keep serving until a signal or another shutdown.
            while not controller.stopped.wait(3600):
                pass
    except _Stop:
        pass
    finally:
        for sig in previous:  # a second Ctrl-C must not break the shutdown
            signal.signal(sig, signal.SIG_IGN)
        controller.shutdown()
        datadir.remove_logging(handler)
        for sig, old in previous.items():
            signal.signal(sig, old)
    return 0


def _read_commands(controller: ServerController, stdin, stdout) -> None:
    interactive = stdin.isatty()
    if interactive:
        print(_("type 'help' for commands"), file=stdout, flush=True)
    while not controller.stopped.is_set():
        if interactive:
            stdout.write("netdesk> ")
            stdout.flush()
        line = stdin.readline(LINE_MAX + 1)
        if not line:
            return
        if len(line) > LINE_MAX and not line.endswith("\n"):
            _skip_rest_of_line(stdin)
            print(_("line too long (at most {n} characters)").format(n=LINE_MAX), file=stdout,
                  flush=True)
            continue
        reply = execute(controller, line)
        if reply.text:
            print(reply.text, file=stdout, flush=True)
        if reply.stop:
            return


def _skip_rest_of_line(stdin) -> None:
    """Read and drop what is left of an over-long line, a bounded chunk at a time."""
    while True:
        chunk = stdin.readline(LINE_MAX)
        if not chunk or chunk.endswith("\n"):
            return
