"""``netdesk serve`` flags for every budget of ``net.budgets``.

Made from the ``Budgets`` dataclass itself, so no budget lacks its flag:
``say_rate`` becomes ``--say-rate``. Numbers are ASCII digits only (Python's
int() also takes '１２３' and '²'-like digits) and bounded in length.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import fields

from net.budgets import Budgets, parse_networks

_INT = re.compile(r"[0-9]{1,9}")
_REAL = re.compile(r"[0-9]{1,9}(\.[0-9]{1,6})?")

HELP = {
    "max_connections": "connections at once per service",
    "per_address_connections": "connections at once from one address",
    "login_deadline": "seconds a connection has to log in",
    "backlog_limit": "bytes of unsent output a connection may have",
    "stall_timeout": "seconds a connection's output may stall",
    "ping_after": "seconds of silence before a ping",
    "idle_close": "seconds of silence before closing",
    "max_payload": "largest frame payload accepted, in bytes",
    "say_burst": "says in a burst, per account and per address",
    "say_rate": "says a second refilling the burst",
    "history_burst": "history requests in a burst, per account and per address",
    "history_rate": "history requests a second refilling the burst",
    "registrations_per_hour": "new accounts an hour from one address",
    "max_failures": "failed logins a minute per name or address",
    "failure_window": "seconds failed logins are counted over",
    "hash_workers": "password hashes at once",
    "sessions_per_account": "session tokens kept per account",
    "addresses_per_account": "addresses remembered per account",
    "table_entries": "entries in each limiter table",
}


def positive_int(text: str) -> int:
    if not _INT.fullmatch(text) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 to 999999999, "
                                         f"not {text[:20]!r}")
    return int(text)


def positive_real(text: str) -> float:
    if not _REAL.fullmatch(text) or float(text) <= 0:
        raise argparse.ArgumentTypeError(f"expected a number above 0 such as 2 or 0.5, "
                                         f"not {text[:20]!r}")
    return float(text)


def add_budget_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "budgets", "what one client or address may make the server keep (the console's "
                   "'budgets' lists them); trusted networks skip the per-address ones")
    defaults = Budgets()
    for f in fields(Budgets):
        if f.name == "trusted":
            continue
        default = getattr(defaults, f.name)
        group.add_argument("--" + f.name.replace("_", "-"), dest=f"budget_{f.name}",
                           type=positive_int if isinstance(default, int) else positive_real,
                           default=default, metavar="N",
                           help=f"{HELP[f.name]} (default {default:g})")
    group.add_argument("--trusted", action="append", metavar="CIDR", dest="trusted",
                       help="a network exempt from the per-address budgets; repeat for more; "
                            "'none' exempts nobody (default: loopback, 127.0.0.0/8 and ::1)")


def budgets_from(args: argparse.Namespace) -> Budgets:
    """The ``Budgets`` the flags ask for. Raises ValueError for a bad --trusted."""
    values = {f.name: getattr(args, f"budget_{f.name}") for f in fields(Budgets)
              if f.name != "trusted"}
    if args.trusted:
        values["trusted"] = parse_networks(args.trusted)
    return Budgets(**values)
