"""What every subcommand shares: exit codes, argument types and prompts."""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable
from typing import TextIO

from net import fields
from net.fields import shown
from net.i18n import _

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


_NUMBER_MAX = 32  # characters of a number's text looked at; longer is refused unread
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]*)?|\.[0-9]+")


def whole_number(text: str, low: int, high: int, what: str | None = None) -> int:
    """``text`` as an int from ``low`` to ``high``, for argparse (net/fields.py checks it)."""
    try:
        return fields.whole_number(text, low, high, what)
    except fields.FieldError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def whole_number_type(low: int, high: int, what: str | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to ``high``."""
    def convert(text: str) -> int:
        return whole_number(text, low, high, what)
    convert.__name__ = what or "value"
    return convert


def seconds_type(low: float = 0.0, high: float = math.inf) -> Callable[[str], float]:
    """An argparse type: a finite decimal number of seconds, like ``1.5``,
    from ``low`` to ``high``. Not nan, inf, exponents or non-ASCII digits."""
    def seconds(text: str) -> float:
        if len(text) > _NUMBER_MAX or not _DECIMAL.fullmatch(text):
            raise argparse.ArgumentTypeError(
                _("not a number of seconds: {text} (write e.g. 1.5)").format(text=shown(text)))
        value = float(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                _("{value} seconds is out of range ({low}-{high})").format(
                    value=text, low=f"{low:g}", high=f"{high:g}"))
        return value
    return seconds


def port_number(text: str) -> int:
    """argparse type: a TCP port, 0 to 65535."""
    try:
        return fields.port(text, allow_zero=True)
    except fields.FieldError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


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
    for _attempt in range(tries):
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
        raise ValueError(_("port 0 is for servers; give the port a server listens on"))
    return port
