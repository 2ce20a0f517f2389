"""Scan targets as users write them, nmap style: ``10.200.1.0/24 10.200.2.1-40,host``.

Each item of a target list is one of:

- an IPv4 address ``10.200.1.7``, or a CIDR block ``10.200.1.0/24`` (every
  address in it, network and broadcast included; host bits are masked off,
  so ``10.200.1.7/24`` is the same block, as nmap does);
- octet ranges ``10.200.1-2.1-40``: any octet may be ``a-b``, or ``*`` for 0-255;
- a whole range ``10.200.1.250-10.200.2.5``;
- an IPv6 address, bare or in brackets (``::1``, ``[::1]``, ``fe80::1%eth0``)
  or an IPv6 block ``2001:db8::/120`` (no zone in a block);
- a host name, resolved to one address, IPv4 first when it has both.

Targets come out in the order written, each item's addresses ascending, and
an address named twice is scanned once, under the first item's name.

The host count is worked out from the items before anything is expanded or
resolved, so a /8 or ``::/0`` over ``max_hosts`` fails at once. Runs of
addresses are merged for it, so repeats and overlaps count once; only octet
ranges with gaps (``10.200.1-2.1-40``) count as written, and each host name
as one host.

Only ASCII digits make a number (``str.isdigit()`` also takes ``²`` and
full-width digits), octets have no leading zeros (``010`` is octal to some
resolvers), and nothing made of digits and dots is ever handed to the
resolver, which would read ``1.2.3`` as 1.2.0.3. The unspecified address
(0.0.0.0, ``::``) is refused, alone or inside a block or range: a connect to
it reaches this machine, which the user should write as 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import itertools
import os
import re
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

from net.fields import shown
from net.i18n import N_, _

MAX_HOSTS_DEFAULT = 65536
# max_hosts itself is bounded: each Target costs some 150 bytes, so a million
# of them is about 150 MB, and a /8 (16.7 million) would be gigabytes.
MAX_HOSTS_LIMIT = 1 << 20
TEXT_MAX = 1 << 20  # characters in a whole target list (as much as a target file)
ITEM_MAX = 300  # characters in one item (a host name is at most 253)
FILE_MAX_BYTES = 1 << 20
FILE_MAX_LINES = 100_000
_SHOWN_MAX = 40
_SEPARATORS = re.compile(r"[\s,]+")
_IPV4_CHARS = frozenset("0123456789.-*/")
_ZONE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_DOTS = re.compile("[.\u3002\uff0e\uff61]")  # the dots IDNA splits labels at
_NAME = re.compile(r"[A-Za-z0-9_.-]+")  # a host name once IDNA made it ASCII

Resolver = Callable[..., list]


class TargetError(ValueError):
    """A target list that can't be scanned; the message says why (one line)."""


@dataclass(frozen=True, slots=True)
class Target:
    name: str  # the host name as written, or for an address the address itself
    address: str  # numeric: "10.200.1.7", "::1", "fe80::1%eth0" (no brackets)
    family: int  # socket.AF_INET or socket.AF_INET6


class _Item(NamedTuple):
    """One parsed item: a block of addresses (or a name), not yet expanded."""

    text: str  # as written, for messages
    family: int  # AF_INET, AF_INET6, or AF_UNSPEC for a host name
    low: int = 0  # first address of a block or whole range
    high: int = 0  # last address, inclusive
    octets: tuple[tuple[int, int], ...] = ()  # octet ranges instead of low-high
    zone: str = ""  # an IPv6 address's "%zone"

    def count(self) -> int:
        if self.family == socket.AF_UNSPEC:
            return 1
        if self.octets:
            n = 1
            for low, high in self.octets:
                n *= high - low + 1
            return n
        return self.high - self.low + 1

    def first(self) -> int:
        if self.octets:
            return int.from_bytes(bytes(low for low, _ in self.octets), "big")
        return self.low


def split_targets(text: str) -> list[str]:
    """Items of a target list separated by spaces and/or commas (any mix,
    repeated separators ok)."""
    if not isinstance(text, str):
        raise TargetError(_("a target list must be text"))
    if len(text) > TEXT_MAX:
        raise TargetError(_("target list too long (at most {n} characters)").format(
            n=TEXT_MAX))
    return [item for item in _SEPARATORS.split(text) if item]


def read_target_file(path: str) -> list[str]:
    """nmap's -iL: one or more targets a line (split as split_targets), '#'
    starts a comment, blank lines skipped.

    Errors (missing file, a directory, not UTF-8, over 1 MiB / 100,000 lines)
    raise TargetError with a clear message naming the file."""
    shown = _shown(os.fspath(path), 100)
    if os.path.isdir(path):
        raise TargetError(_("target file {file} is a directory").format(file=shown))
    try:
        with open(path, "rb") as f:
            data = f.read(FILE_MAX_BYTES + 1)
    except FileNotFoundError:
        raise TargetError(_("target file {file} does not exist").format(file=shown)) from None
    except PermissionError:
        raise TargetError(_("target file {file} can't be read (permission denied)").format(
            file=shown)) from None
    except (OSError, ValueError) as e:  # ValueError: a NUL in the path
        reason = getattr(e, "strerror", None) or e
        raise TargetError(_("target file {file} can't be read ({reason})").format(
            file=shown, reason=reason)) from None
    if len(data) > FILE_MAX_BYTES:
        raise TargetError(_("target file {file} is too big (at most {n} bytes)").format(
            file=shown, n=FILE_MAX_BYTES))
    if b"\0" in data:
        raise TargetError(_("target file {file} is not a text file").format(file=shown))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise TargetError(_("target file {file} is not UTF-8 text (byte {byte})").format(
            file=shown, byte=e.start)) from None
    lines = text.splitlines()
    if len(lines) > FILE_MAX_LINES:
        raise TargetError(_("target file {file} has too many lines (at most {n})").format(
            file=shown, n=FILE_MAX_LINES))
    items: list[str] = []
    for line in lines:
        items += split_targets(line.partition("#")[0])
    return items


def count_hosts(items: str | list[str]) -> int:
    """How many hosts ``items`` name, without expanding or resolving anything.

    Addresses named twice count once, except where two octet ranges with gaps
    (like ``10.200.1-2.1-40``) overlap; each host name written counts as one
    host, even if it is also written as an address."""
    return _count(_parse_all(items))


def parse_targets(items: str | list[str], *, max_hosts: int = MAX_HOSTS_DEFAULT,
                  resolve: Resolver | None = None) -> list[Target]:
    """Expand and resolve. A str is first split with split_targets (so is each
    string of a list, so ``["10.200.1.1,10.200.1.2"]`` is two items).

    ``resolve`` stands in for ``socket.getaddrinfo``: it is called as
    ``resolve(name, None, type=socket.SOCK_STREAM)`` and returns its kind of list,
    or raises ``socket.gaierror``."""
    if (isinstance(max_hosts, bool) or not isinstance(max_hosts, int)
            or not 1 <= max_hosts <= MAX_HOSTS_LIMIT):
        raise TargetError(_("--max-hosts must be between 1 and {n}").format(
            n=MAX_HOSTS_LIMIT))
    parsed = _parse_all(items)
    total = _count(parsed)
    if total > max_hosts:
        raise TargetError(_("{total} hosts is more than --max-hosts {max_hosts}").format(
            total=total, max_hosts=max_hosts))
    for item in parsed:
        if item.family != socket.AF_UNSPEC and item.first() == 0:
            what = "0.0.0.0" if item.family == socket.AF_INET else "::"
            raise TargetError(_("{text} includes {what}, the unspecified address, which is "
                                "no host (write 127.0.0.1 for this machine)").format(
                text=_shown(item.text), what=what))
    resolve = socket.getaddrinfo if resolve is None else resolve
    targets: list[Target] = []
    seen: set[str] = set()
    resolved: dict[str, tuple[str, int]] = {}
    for item in parsed:
        if item.family == socket.AF_UNSPEC:
            if item.text not in resolved:
                resolved[item.text] = _resolve(item.text, resolve)
            address, family = resolved[item.text]
            if address not in seen:
                seen.add(address)
                targets.append(Target(item.text, address, family))
            continue
        for address in _addresses(item):
            if address not in seen:
                seen.add(address)
                targets.append(Target(address, address, item.family))
    return targets


# -- parsing -------------------------------------------------------------------
def _parse_all(items: str | list[str]) -> list[_Item]:
    if isinstance(items, str):
        texts = split_targets(items)
    elif isinstance(items, (list, tuple)):
        if sum(len(i) for i in items if isinstance(i, str)) > TEXT_MAX:
            raise TargetError(_("target list too long (at most {n} characters)").format(
                n=TEXT_MAX))
        texts = [t for i in items for t in split_targets(i)]
    else:
        raise TargetError(_("a target list must be text or a list of texts"))
    if not texts:
        raise TargetError(_("no target given (example: 10.200.1.0/24 10.200.2.1-40 localhost)"))
    return [_parse_item(text) for text in texts]


def _parse_item(text: str) -> _Item:
    if len(text) > ITEM_MAX:
        raise TargetError(_("target {text} is too long (at most {n} characters)").format(
            text=_shown(text), n=ITEM_MAX))
    if text.startswith("["):
        inner, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith("/")):
            if bracket and rest.startswith(":"):
                raise TargetError(_("{text}: no port here (ports go in the port list)").format(
                    text=_shown(text)))
            raise TargetError(_("{text} is not an IPv6 address like [::1]").format(
                text=_shown(text)))
        if ":" not in inner:
            raise TargetError(_("{text}: brackets are only for IPv6 addresses").format(
                text=_shown(text)))
        return _ipv6_item(text, inner + rest)
    if ":" in text:
        return _ipv6_item(text, text)
    if set(text) <= _IPV4_CHARS:
        return _ipv4_item(text)
    return _name_item(text)


def _ipv4_item(text: str) -> _Item:
    if "/" in text:
        address, _slash, prefix_text = text.partition("/")
        prefix = _number(prefix_text, 32, text, N_("prefix length"))
        if "-" in address or "*" in address:
            raise TargetError(_("{text}: a /prefix goes after a single address").format(
                text=_shown(text)))
        low = _ipv4(address, text)
        size = 1 << (32 - prefix)
        low -= low % size
        return _Item(text, socket.AF_INET, low, low + size - 1)
    start, dash, end = text.partition("-")
    if dash and "-" not in end and start.count(".") == 3 and end.count(".") == 3:
        low, high = _ipv4(start, text), _ipv4(end, text)
        if high < low:
            raise TargetError(_("range {text} runs backwards (write {end}-{start})").format(
                text=_shown(text), end=end, start=start))
        return _Item(text, socket.AF_INET, low, high)
    parts = text.split(".")
    if len(parts) != 4:
        raise TargetError(_("{text} is not an IPv4 address: it needs four numbers like "
                            "10.200.1.7").format(text=_shown(text)))
    octets = []
    for part in parts:
        if part == "*":
            octets.append((0, 255))
            continue
        low_text, dash, high_text = part.partition("-")
        low = _octet(low_text, text)
        high = _octet(high_text, text) if dash else low
        if high < low:
            raise TargetError(_("range {text} runs backwards ({part}: write {high}-{low})").format(
                text=_shown(text), part=part, high=high, low=low))
        octets.append((low, high))
    # Ranges that leave no gaps (10.200.1.1-40, 10.200.1-2.*) are one run of
    # addresses: counted exactly when other items overlap them.
    lows, highs = (bytes(o[i] for o in octets) for i in (0, 1))
    first_range = next((i for i, (low, high) in enumerate(octets) if low != high), 3)
    if all(octets[i] == (0, 255) for i in range(first_range + 1, 4)):
        return _Item(text, socket.AF_INET, int.from_bytes(lows, "big"),
                     int.from_bytes(highs, "big"))
    return _Item(text, socket.AF_INET, octets=tuple(octets))


def _ipv4(address: str, text: str) -> int:
    parts = address.split(".")
    if len(parts) != 4:
        raise TargetError(_("{text}: {address} is not an IPv4 address like 10.200.1.7").format(
            text=_shown(text), address=_shown(address)))
    return int.from_bytes(bytes(_octet(p, text) for p in parts), "big")


def _octet(part: str, text: str) -> int:
    if not part:
        raise TargetError(_("{text} has an empty number (write IPv4 like 10.200.1.7)").format(
            text=_shown(text)))
    value = _number(part, 255, text, N_("number"))
    if part != str(value):
        raise TargetError(_("{text}: {part} has a leading zero (some tools read it as "
                            "octal)").format(text=_shown(text), part=_shown(part)))
    return value


def _number(part: str, most: int, text: str, what: str) -> int:
    """``part`` as a number from 0 to ``most``; ``what`` (marked with ``N_``) names it."""
    what = _(what)
    if not part or not (part.isascii() and part.isdigit()):
        raise TargetError(_("{text}: {part} is not a {what}").format(
            text=_shown(text), part=_shown(part), what=what))
    if len(part.lstrip("0")) > len(str(most)) or int(part) > most:
        raise TargetError(_("{text}: {what} {part} is out of range (0-{most})").format(
            text=_shown(text), what=what, part=_shown(part), most=most))
    return int(part)


def _ipv6_item(text: str, bare: str) -> _Item:
    if not bare.isascii():
        raise TargetError(_("{text} is not an IPv6 address").format(text=_shown(text)))
    if "-" in bare:
        raise TargetError(_("{text}: IPv6 ranges aren't supported (write a block like "
                            "2001:db8::/120)").format(text=_shown(text)))
    address, slash, prefix_text = bare.partition("/")
    address, percent, zone = address.partition("%")
    if percent and slash:
        raise TargetError(_("{text}: a zone like %eth0 goes on a single address").format(
            text=_shown(text)))
    if percent and not _ZONE.fullmatch(zone):
        raise TargetError(_("{text} has no zone like %eth0 after the %").format(text=_shown(text)))
    try:
        value = int(ipaddress.IPv6Address(address))
    except ValueError:
        if bare.count(":") == 1:
            raise TargetError(_("{text} is not an IPv6 address (ports go in the port list)")
                              .format(text=_shown(text))) from None
        raise TargetError(_("{text} is not an IPv6 address").format(text=_shown(text))) from None
    if not slash:
        return _Item(text, socket.AF_INET6, value, value, zone=zone)
    prefix = _number(prefix_text, 128, text, N_("prefix length"))
    size = 1 << (128 - prefix)
    value -= value % size
    return _Item(text, socket.AF_INET6, value, value + size - 1)


def _name_item(text: str) -> _Item:
    if text.startswith("-"):
        raise TargetError(_("{text} looks like an option, not a target").format(text=_shown(text)))
    if "/" in text:
        raise TargetError(_("{text}: a /prefix goes after an address, not a name").format(
            text=_shown(text)))
    if not text.isprintable():
        raise TargetError(_("{text} is not a valid host name").format(text=_shown(text)))
    try:
        ascii_name = text.encode("idna").decode("ascii")
    except UnicodeError:
        raise TargetError(_("{text} is not a valid host name").format(text=_shown(text))) from None
    # IDNA turns full-width digits, dots and colons into ASCII ones ("：：1" is
    # "::1"), and resolvers read "0x7f.1" or "1.2.3" as addresses: none of that
    # may pass as a name.
    if not _NAME.fullmatch(ascii_name):
        raise TargetError(_("{text} is not a valid host name").format(text=_shown(text)))
    last = ascii_name.rstrip(".").rpartition(".")[2]
    last_written = _DOTS.split(text.rstrip("."))[-1]
    if (set(ascii_name) <= _IPV4_CHARS or last.isdigit() or last_written.isdigit()
            or _inet_aton_takes(ascii_name)):
        raise TargetError(_("{text} is neither an IPv4 address (ASCII digits, like "
                            "10.200.1.7) nor a host name").format(text=_shown(text)))
    return _Item(text, socket.AF_UNSPEC)


def _inet_aton_takes(name: str) -> bool:
    try:
        socket.inet_aton(name)
    except (OSError, ValueError):
        return False
    return True


def _count(items: list[_Item]) -> int:
    """Hosts in ``items``: runs of addresses merged, names counted once each."""
    runs: dict[tuple[int, str], list[tuple[int, int]]] = {}
    names: set[str] = set()
    total = 0
    for item in items:
        if item.family == socket.AF_UNSPEC:
            names.add(item.text)
        elif item.octets:
            total += item.count()
        else:
            runs.setdefault((item.family, item.zone), []).append((item.low, item.high))
    for spans in runs.values():
        end = -1
        for low, high in sorted(spans):
            if high > end:
                total += high - max(low, end + 1) + 1
                end = high
    return total + len(names)


# -- expanding and resolving ----------------------------------------------------------
def _addresses(item: _Item) -> Iterator[str]:
    if item.family == socket.AF_INET6:
        for value in range(item.low, item.high + 1):
            address = str(ipaddress.IPv6Address(value))
            yield f"{address}%{item.zone}" if item.zone else address
    elif item.octets:
        for a, b, c, d in itertools.product(*(range(lo, hi + 1) for lo, hi in item.octets)):
            yield f"{a}.{b}.{c}.{d}"
    else:
        for v in range(item.low, item.high + 1):
            yield f"{v >> 24}.{v >> 16 & 255}.{v >> 8 & 255}.{v & 255}"


def _resolve(name: str, resolve: Resolver) -> tuple[str, int]:
    """(address, family) of ``name``: its first IPv4 address, else its first IPv6."""
    try:
        infos = resolve(name, None, type=socket.SOCK_STREAM)
    except UnicodeError:
        raise TargetError(_("{name} is not a valid host name").format(name=_shown(name))) from None
    except OSError as e:
        raise TargetError(_("unknown host {name} ({reason})").format(
            name=_shown(name), reason=e.strerror or e)) from None
    found = [(family, sockaddr) for family, *_rest, sockaddr in infos
             if family in (socket.AF_INET, socket.AF_INET6)]
    if not found:
        raise TargetError(_("unknown host {name} (no IPv4 or IPv6 address)").format(
            name=_shown(name)))
    found.sort(key=lambda info: info[0] != socket.AF_INET)  # stable: IPv4 first
    family, sockaddr = found[0]
    address = str(sockaddr[0])
    if family == socket.AF_INET6 and "%" not in address and len(sockaddr) > 3 and sockaddr[3]:
        address = f"{address}%{sockaddr[3]}"
    try:
        value = ipaddress.ip_address(address)
    except ValueError:
        raise TargetError(_("{name} resolved to {address}, not an address").format(
            name=_shown(name), address=_shown(address))) from None
    if value.is_unspecified:
        raise TargetError(_("{name} resolves to {value}, the unspecified address, which is "
                            "no host").format(name=_shown(name), value=value))
    return str(value), family


def _shown(text: str, most: int = _SHOWN_MAX) -> str:
    """``text`` quoted for a one-line message, cut short when long (targets
    are longer than a number: 40 characters by default)."""
    return shown(text, most)
