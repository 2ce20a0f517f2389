"""The scanner window's words: strategies, states and column titles as the
form and the table show them, and the status line's account of how a scan
runs. No Tk. Only the screen uses them: exports keep the English codes."""

from __future__ import annotations

from net.i18n import N_, _, ngettext, number, pgettext
from net.scan.engine import UP, ScanStarted

# What each strategy does, in a line under the box (wrapped at the
# smallest width), and what a blank thread count means with it.
STRATEGY_HINTS = {
    "fast": N_("Up to {n} connects at once on one thread: the fastest."),
    "threads": N_("A pool of threads, each waiting on one connect."),
    "sequential": N_("One connect after another: slow, for comparison."),
}
THREADS_HINTS = {"fast": N_("blank = 1 thread"), "threads": N_("blank = 256 threads"),
                 "sequential": N_("not used: one connect at a time")}
# Every state a row of the table can show (the State column is as wide as
# the longest in the language shown).
ROW_STATES = ("open", UP, "scanning", "cancelled")


def strategy_name(strategy: str) -> str:
    """A strategy as the form and the status show it ("fast" / "быстрая");
    the settings and the engine keep the English code."""
    names = {"fast": pgettext("scan strategy", "fast"),
             "threads": pgettext("scan strategy", "threads"),
             "sequential": pgettext("scan strategy", "sequential")}
    return names.get(strategy, strategy)


def state_name(state: str) -> str:
    """A row's state as the table shows it: a port "open", a host "up",
    "scanning" or "cancelled"."""
    names = {"open": pgettext("port state", "open"), UP: pgettext("host state", "up"),
             "scanning": pgettext("host state", "scanning"),
             "cancelled": pgettext("host state", "cancelled")}
    return names.get(state, state)


def column_title(column: str) -> str:
    """A column's heading, without the sort arrow."""
    names = {"port": _("Port"), "service": _("Service"), "banner": _("Banner"),
             "state": _("State")}
    return names[column]


def how(event: ScanStarted) -> str:
    """How the scan runs, for the status line: "fast: 2,048 connects in flight"."""
    name = strategy_name(event.strategy)
    if event.strategy == "fast":
        connects = ngettext("{n} connect in flight", "{n} connects in flight",
                            event.in_flight).format(n=number(event.in_flight))
        if event.threads > 1:
            return _("{strategy}: {connects} on {threads}").format(
                strategy=name, connects=connects, threads=ngettext(
                    "{n} thread", "{n} threads", event.threads).format(n=number(event.threads)))
        return _("{strategy}: {connects}").format(strategy=name, connects=connects)
    if event.strategy == "threads":
        return _("{strategy}: {threads}").format(strategy=name, threads=ngettext(
            "{n} thread", "{n} threads", event.threads).format(n=number(event.threads)))
    return _("{strategy}: one connect at a time").format(strategy=name)


def host_counts(up: int, down: int) -> str:
    """"hosts: 3 up, 1 down" for the progress line."""
    return _("hosts: {up} up, {down} down").format(up=number(up), down=number(down))


def shown(row: tuple[int, str, str, str]) -> tuple[int, str, str, str]:
    """A port row's values as the table shows them (the state in words)."""
    port, service, banner, state = row
    return port, service, banner, state_name(state)


def shorten(text: str, most: int) -> str:
    """``text`` cut to ``most`` characters, an ellipsis showing the cut."""
    return text if len(text) <= most else text[: most - 1] + "…"
