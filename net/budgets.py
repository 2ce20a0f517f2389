"""Every budget a client draws on, in one place (PROTOCOL.md 2.6 and 2.7).

Whatever a client can make the server keep (threads, sockets, memory,
rows, CPU for password hashes) is bounded by one of the budgets below.
Each has a default and a ``netdesk serve`` flag, and the control panel
shows them. Addresses in the trusted networks (by default loopback only,
as Ergo exempts localhost) skip the per-address budgets, never the
per-account ones nor those that protect the server as a whole.

| budget                       | default      | who is exempt        |
| ---------------------------- | ------------ | -------------------- |
| connections per service      | 1000         | nobody               |
| connections per address      | 32           | trusted networks     |
| new connections per address  | 20, 5/s      | trusted networks     |
| login deadline               | 30 s         | nobody               |
| unsent output per connection | 1 MiB        | nobody               |
| a welcome or history page    | 512 KiB      | nobody               |
| frames read per address      | 200, 50/s    | trusted networks     |
| writes that stall            | 10 s         | nobody               |
| silence: ping, then close    | 90 s, 150 s  | nobody               |
| frame payload                | 64 KiB       | nobody               |
| says per account             | 200, 20/s    | nobody               |
| says per address             | 200, 20/s    | trusted networks     |
| history requests per account | 20, 2/s      | nobody               |
| history requests per address | 20, 2/s      | trusted networks     |
| new accounts per address     | 20 an hour   | trusted networks     |
| failed logins per name/addr  | 5 a minute   | nobody (*)           |
| password hashes at once      | 2, fair per address | nobody        |
| sessions kept per account    | 20 newest    | nobody               |
| addresses kept per account   | 50 newest    | nobody               |
| limiter and bucket entries   | 10000 each   | nobody               |

(*) Failures by others never lock a name's owner out: a login from an
address that has logged in as that name before is judged by that
address's own failures only.

An IPv6 client is counted by its /64, the block one host or one home is
given, so it cannot multiply itself by changing the last 64 bits.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, fields

from net.i18n import N_, _, number

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
LOOPBACK = ("127.0.0.0/8", "::1/128")


def parse_networks(specs: list[str] | tuple[str, ...]) -> tuple[IPNetwork, ...]:
    """CIDR strings to networks; ``none`` alone means no network at all.

    Raises ValueError with a message that names the bad entry.
    """
    if list(specs) == ["none"]:
        return ()
    networks = []
    for spec in specs:
        try:
            networks.append(ipaddress.ip_network(spec.strip(), strict=False))
        except ValueError:
            raise ValueError(_("not a network: {spec} (expected e.g. 192.0.2.0/24, ::1/128 "
                               "or 'none')").format(spec=repr(spec[:60]))) from None
    return tuple(networks)


@dataclass(frozen=True)
class Budgets:
    """The numbers; see the module's table for who is exempt."""

    max_connections: int = 1000
    per_address_connections: int = 32
    connect_burst: int = 20
    connect_rate: float = 5.0
    login_deadline: float = 30.0
    backlog_limit: int = 1 << 20
    page_bytes: int = 512 * 1024
    frame_burst: int = 200
    frame_rate: float = 50.0
    stall_timeout: float = 10.0
    ping_after: float = 90.0
    idle_close: float = 150.0
    max_payload: int = 65536
    say_burst: int = 200
    say_rate: float = 20.0
    history_burst: int = 20
    history_rate: float = 2.0
    registrations_per_hour: int = 20
    max_failures: int = 5
    failure_window: float = 60.0
    hash_workers: int = 2
    sessions_per_account: int = 20
    addresses_per_account: int = 50
    table_entries: int = 10_000
    trusted: tuple[IPNetwork, ...] = field(default_factory=lambda: parse_networks(LOOPBACK))

    def is_trusted(self, ip: str) -> bool:
        address = _address(ip)
        if address is None:
            return False
        return any(address.version == net.version and address in net for net in self.trusted)

    def describe(self) -> list[tuple[str, str]]:
        """(budget, value with its unit) rows for people: the panel and ``budgets``,
        in the current language."""
        rows = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "trusted":
                text = ", ".join(str(n) for n in value) or _("none")
            elif f.name in _BYTES:
                text = (_("{n} KiB").format(n=number(value / 1024)) if value < 1 << 20
                        else _("{n} MiB").format(n=number(value / (1 << 20))))
            else:
                text = _(_UNITS.get(f.name, "{n}")).format(n=number(value))
            rows.append((_(_LABELS[f.name]), text))
        return rows


_BYTES = {"backlog_limit", "max_payload", "page_bytes"}
_SECONDS, _A_SECOND = N_("{n} s"), N_("{n} a second")
_UNITS = {"login_deadline": _SECONDS, "stall_timeout": _SECONDS, "ping_after": _SECONDS,
          "idle_close": _SECONDS, "failure_window": _SECONDS, "connect_rate": _A_SECOND,
          "say_rate": _A_SECOND, "history_rate": _A_SECOND, "frame_rate": _A_SECOND}
# Each budget's name for people (English: the field's name, in words).
_LABELS = {
    "max_connections": N_("max connections"),
    "per_address_connections": N_("per address connections"),
    "connect_burst": N_("connect burst"),
    "connect_rate": N_("connect rate"),
    "login_deadline": N_("login deadline"),
    "backlog_limit": N_("backlog limit"),
    "page_bytes": N_("page bytes"),
    "frame_burst": N_("frame burst"),
    "frame_rate": N_("frame rate"),
    "stall_timeout": N_("stall timeout"),
    "ping_after": N_("ping after"),
    "idle_close": N_("idle close"),
    "max_payload": N_("max payload"),
    "say_burst": N_("say burst"),
    "say_rate": N_("say rate"),
    "history_burst": N_("history burst"),
    "history_rate": N_("history rate"),
    "registrations_per_hour": N_("registrations per hour"),
    "max_failures": N_("max failures"),
    "failure_window": N_("failure window"),
    "hash_workers": N_("hash workers"),
    "sessions_per_account": N_("sessions per account"),
    "addresses_per_account": N_("addresses per account"),
    "table_entries": N_("table entries"),
    "trusted": N_("trusted"),
}


def _address(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped  # a dual-stack socket's view of an IPv4 peer
    return address


def address_key(ip: str) -> str:
    """What per-address budgets count by: the IPv4 address, or the IPv6 /64."""
    address = _address(ip)
    if address is None:
        return ip
    if address.version == 6:
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)
