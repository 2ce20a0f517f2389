"""Port lists as users write them: ``1-1024,3306,8000-8100``.

Only ASCII digits make a port: ``str.isdigit()`` and ``int()`` also accept
``²`` or full-width ``１２３``, and ``int()`` of thousands of digits raises
an error of its own, so a number's text is checked and bounded first.
"""

from __future__ import annotations

from net.i18n import _

ALL_PORTS = "1-65535"
# Every port listed one by one ("1,2,...,65535") is 382,000 characters.
SPEC_MAX = 400_000
_DIGITS_MAX = 5  # "65535", not counting leading zeros
_SHOWN_MAX = 20


class PortSpecError(ValueError):
    """A port list that can't be scanned; the message says why."""


def parse_ports(spec: str) -> list[int]:
    """Ports named by ``spec``, ascending and without repeats."""
    if not isinstance(spec, str) or not spec.strip():
        raise PortSpecError(_("no ports given (example: 1-1024,3306,8000-8100)"))
    if len(spec) > SPEC_MAX:
        raise PortSpecError(_("port list too long (at most {n} characters)").format(
            n=SPEC_MAX))
    ranges: list[tuple[int, int]] = []
    for part in spec.replace(" ", "").split(","):
        if not part:
            raise PortSpecError(_("empty item in port list {spec}").format(spec=_shown(spec)))
        low_text, dash, high_text = part.partition("-")
        low = _port(low_text, part)
        high = _port(high_text, part) if dash else low
        if high < low:
            raise PortSpecError(_("range {part} runs backwards (write {high}-{low})").format(
                part=_shown(part), high=high, low=low))
        ranges.append((low, high))
    # Merge before expanding, so "1-65535" repeated is no slower than once.
    ports: list[int] = []
    for low, high in sorted(ranges):
        start = max(low, ports[-1] + 1) if ports else low
        ports.extend(range(start, high + 1))
    return ports


def _port(text: str, part: str) -> int:
    if not text or not (text.isascii() and text.isdigit()):
        raise PortSpecError(_("{part} is not a port or a range like 20-25").format(
            part=_shown(part)))
    if len(text.lstrip("0")) > _DIGITS_MAX:
        raise PortSpecError(_("port {port} is out of range (1-65535)").format(port=_shown(text)))
    port = int(text)
    if not 1 <= port <= 65535:
        raise PortSpecError(_("port {port} is out of range (1-65535)").format(port=port))
    return port


def _shown(text: str) -> str:
    """``text`` quoted for a message, cut short when long."""
    if len(text) > _SHOWN_MAX:
        return repr(text[:_SHOWN_MAX] + "...")
    return repr(text)
