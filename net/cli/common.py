"""What every subcommand shares: exit codes, argument types and prompts."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TextIO

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


def client_port(text: str) -> int:
    port = port_number(text)
    if port == 0:
        raise ValueError("port 0 is for servers; give the port a server listens on")
    return port
