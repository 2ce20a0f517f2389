"""``netdesk echo``: an interactive echo client on a terminal."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from net.cli.common import EXIT_ERROR, EXIT_OK, EXIT_USAGE, ask, ask_valid, client_port
from net.echo.client import EchoClient
from net.echo.server import DEFAULT_PORT as ECHO_PORT
from net.i18n import _, ngettext, number
from net.sockutil import describe_error


def run_echo(args: argparse.Namespace, stdin: TextIO = sys.stdin,
             stdout: TextIO = sys.stdout) -> int:
    host = args.host or ask(_("Host"), "127.0.0.1", stdin, stdout)
    if host is None:
        return EXIT_USAGE
    port = args.port
    if port is None:
        port = ask_valid(_("Port"), str(ECHO_PORT), client_port, stdin, stdout)
        if port is None:
            return EXIT_USAGE
    client = EchoClient(timeout=args.timeout)
    try:
        peer = client.connect(host, port)
    except OSError as e:
        print("netdesk echo: " + _("cannot connect to {host}:{port}: {reason}").format(
            host=host, port=port, reason=describe_error(e)), file=sys.stderr)
        return EXIT_ERROR
    stdout.write(_("connected to {host}:{port} (type lines; 'exit' quits)").format(
        host=peer[0], port=peer[1]) + "\n")
    stdout.flush()
    try:
        for line in stdin:
            text = line.rstrip("\r\n")
            if text == "exit":
                break
            data = (text + "\n").encode("utf-8")
            stdout.write(ngettext("sent {n} byte", "sent {n} bytes", len(data)).format(
                n=number(len(data))) + "\n")
            reply, rtt = client.roundtrip(data)
            stdout.write(ngettext("received {n} byte in {ms} ms: {text}",
                                  "received {n} bytes in {ms} ms: {text}", len(reply)).format(
                n=number(len(reply)), ms=number(rtt * 1000, 2),
                text=reply.decode("utf-8", "replace").rstrip()) + "\n")
            stdout.flush()
    except OSError as e:
        stdout.write(_("connection lost: {reason}").format(reason=describe_error(e)) + "\n")
        return EXIT_ERROR
    except KeyboardInterrupt:
        stdout.write("\n")
    finally:
        client.close()
    stdout.write(_("disconnected") + "\n")
    return EXIT_OK
