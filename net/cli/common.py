"""What every subcommand shares: exit codes, argument types and prompts."""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable
from typing import TextIO

from net.i18n import _

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


_NUMBER_MAX = 32  # characters of a number's text looked at; longer is refused unread
_SHOWN_MAX = 20  # characters of bad input quoted back in a message
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]*)?|\.[0-9]+")


def shown(text: str, limit: int = _SHOWN_MAX) -> str:
    """``text`` quoted for a message, cut short when long."""
    return repr(text[:limit] + "...") if len(text) > limit else repr(text)


def whole_number(text: str, low: int, high: int, what: str | None = None) -> int:
    """``text`` as an int from ``low`` to ``high``, written in ASCII digits.

    ``int()`` alone also takes ``'１２３'``, ``'٣'``, ``'1_000'`` and
    whitespace, and raises an error of its own past 4,300 digits.
    """
    what = _("value") if what is None else what
    if not (text.isascii() and text.isdigit()):
        raise argparse.ArgumentTypeError(
            _("not a whole number: {text}").format(text=shown(text)))
    if len(text.lstrip("0")) > len(str(high)):
        raise argparse.ArgumentTypeError(_("{what} {value} is out of range ({low}-{high})").format(
            what=what, value=shown(text), low=low, high=high))
    number = int(text)
    if not low <= number <= high:
        raise argparse.ArgumentTypeError(_("{what} {value} is out of range ({low}-{high})").format(
            what=what, value=number, low=low, high=high))
    return number


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
    if not (text.isascii() and text.isdigit()):
        raise argparse.ArgumentTypeError(_("not a port number: {text}").format(text=shown(text)))
    return whole_number(text, 0, 65535, _("port"))


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
