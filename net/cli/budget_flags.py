"""``netdesk serve`` flags for every budget of ``net.budgets``.

Made from the ``Budgets`` dataclass itself, so no budget lacks its flag:
``say_rate`` becomes ``--say-rate``. Numbers are ASCII digits only and
bounded (see ``net.cli.common``).
"""

from __future__ import annotations

import argparse
from dataclasses import fields

from net.budgets import Budgets, parse_networks
from net.cli.common import seconds_type, whole_number_type
from net.i18n import N_, _, number

_COUNT = whole_number_type(1, 10**9, "count")
_AMOUNT = seconds_type(0.001, 10**9)  # seconds, or a rate a second

HELP = {
    "max_connections": N_("connections at once per service"),
    "per_address_connections": N_("connections at once from one address"),
    "connect_burst": N_("new connections in a burst from one address"),
    "connect_rate": N_("new connections a second from one address, refilling the burst"),
    "login_deadline": N_("seconds a connection has to log in"),
    "backlog_limit": N_("bytes of unsent output a connection may have"),
    "page_bytes": N_("bytes in a welcome or history page at most"),
    "frame_burst": N_("frames read in a burst from one address"),
    "frame_rate": N_("frames read a second from one address, refilling the burst"),
    "stall_timeout": N_("seconds a connection's output may stall"),
    "ping_after": N_("seconds of silence before a ping"),
    "idle_close": N_("seconds of silence before closing"),
    "max_payload": N_("largest frame payload accepted, in bytes"),
    "say_burst": N_("says in a burst, per account and per address"),
    "say_rate": N_("says a second refilling the burst"),
    "history_burst": N_("history requests in a burst, per account and per address"),
    "history_rate": N_("history requests a second refilling the burst"),
    "registrations_per_hour": N_("new accounts an hour from one address"),
    "max_failures": N_("failed logins a minute per name or address"),
    "failure_window": N_("seconds failed logins are counted over"),
    "hash_workers": N_("password hashes at once"),
    "sessions_per_account": N_("session tokens kept per account"),
    "addresses_per_account": N_("addresses remembered per account"),
    "table_entries": N_("entries in each limiter table"),
}


def add_budget_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        _("budgets"), _("what one client or address may make the server keep (the console's "
                        "'budgets' lists them); trusted networks skip the per-address ones"))
    defaults = Budgets()
    for f in fields(Budgets):
        if f.name == "trusted":
            continue
        default = getattr(defaults, f.name)
        group.add_argument("--" + f.name.replace("_", "-"), dest=f"budget_{f.name}",
                           type=_COUNT if isinstance(default, int) else _AMOUNT,
                           default=default, metavar="N",
                           help=_("{what} (default {value})").format(
                               what=_(HELP[f.name]), value=number(default)))
    group.add_argument("--trusted", action="append", metavar="CIDR", dest="trusted",
                       help=_("a network exempt from the per-address budgets; repeat for "
                              "more; 'none' exempts nobody (default: loopback, 127.0.0.0/8 "
                              "and ::1)"))


def budgets_from(args: argparse.Namespace) -> Budgets:
    """The ``Budgets`` the flags ask for. Raises ValueError for a bad --trusted."""
    defaults = Budgets()  # a flag missing from ``args`` keeps its default
    values = {f.name: getattr(args, f"budget_{f.name}", getattr(defaults, f.name))
              for f in fields(Budgets) if f.name != "trusted"}
    if getattr(args, "trusted", None):
        values["trusted"] = parse_networks(args.trusted)
    return Budgets(**values)
