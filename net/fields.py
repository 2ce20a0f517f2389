"""What people type into a field or an argument: whole numbers, ports, port
lists, checked once for every face (argparse, the console, the scanner and
every window) with one wording.

Only ASCII digits make a number: ``str.isdigit()`` also takes ``²``, and
``int()`` takes full-width ``１２３``, ``٣`` and ``1_000`` and raises an
error of its own past 4,300 digits. So a number's text is checked to be
ASCII digits and bounded in length *before* it is converted: a field
holding 5,000 digits costs nothing and says "out of range".

Everything raises ``FieldError`` (a ValueError) with a message for people;
nothing here imports more than the words (net.i18n), so the scanner may
use it too.
"""

from __future__ import annotations

from net.i18n import _

SHOWN_MAX = 20  # characters of bad input quoted back in a message
PORT_MAX = 65535
ALL_PORTS = "1-65535"
# Every port listed one by one ("1,2,...,65535") is 382,000 characters.
PORT_LIST_MAX = 400_000


class FieldError(ValueError):
    """Text that is not what the field takes; the message says why."""


def shown(text: str, limit: int = SHOWN_MAX) -> str:
    """``text`` quoted for a message, cut short when long."""
    return repr(text[:limit] + "...") if len(text) > limit else repr(text)


def is_digits(text: str) -> bool:
    """ASCII digits only, at least one (what every number here is written in)."""
    return bool(text) and text.isascii() and text.isdigit()


def _bounded_int(text: str, high: int) -> int | None:
    """``text`` (ASCII digits) as an int, or None when it is surely past ``high``:
    the length is looked at before anything is converted."""
    significant = text.lstrip("0")
    if len(significant) > len(str(high)):
        return None
    return int(significant or "0")


def whole_number(text: str, low: int, high: int, what: str | None = None) -> int:
    """``text`` as an int from ``low`` to ``high``, written in ASCII digits."""
    what = _("value") if what is None else what
    text = text.strip()
    if not is_digits(text):
        raise FieldError(_("not a whole number: {text}").format(text=shown(text)))
    number = _bounded_int(text, high)
    if number is None or not low <= number <= high:
        raise FieldError(_("{what} {value} is out of range ({low}-{high})").format(
            what=what, value=shown(text) if number is None else number, low=low, high=high))
    return number


def port(text: str, allow_zero: bool = False, field: str | None = None) -> int:
    """A TCP port from a field: 1-65535, or 0-65535 with ``allow_zero`` (a
    server's "any free port"). ``field`` names the field in the message
    ("Chat port: 70000 is out of range (0-65535)")."""
    field = _("port") if field is None else field
    low = 0 if allow_zero else 1
    text = text.strip()
    if not text:
        raise FieldError(_("{field}: enter a port number ({low}-{high})").format(
            field=field, low=low, high=PORT_MAX))
    if not is_digits(text):
        raise FieldError(_("{field}: {text} is not a port number ({low}-{high})").format(
            field=field, text=shown(text), low=low, high=PORT_MAX))
    number = _bounded_int(text, PORT_MAX)
    if number is None or not low <= number <= PORT_MAX:
        raise FieldError(_("{field}: {value} is out of range ({low}-{high})").format(
            field=field, value=shown(text) if number is None else number, low=low,
            high=PORT_MAX))
    return number


HOST_MAX = 253  # characters of a DNS name; an address is shorter


def host(text: str) -> str:
    """A host name or address from a field, stripped: never empty, never with
    spaces or control characters inside (those would go to the resolver and
    be remembered)."""
    text = text.strip()
    if not text:
        raise FieldError(_("enter a host name or address"))
    if len(text) > HOST_MAX or any(c.isspace() or not c.isprintable() for c in text):
        raise FieldError(_("{text} is not a host name or address").format(text=shown(text)))
    return text


def port_or_none(value: object, allow_zero: bool = False) -> int | None:
    """A port read back from a settings file (any JSON value), or None when
    it is not one: a bad remembered value is forgotten, never fatal."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str) or len(value) > 32:
        return None
    try:
        return port(value, allow_zero)
    except FieldError:
        return None


def port_list(spec: str) -> list[int]:
    """Ports named by ``spec`` (``1-1024,3306,8000-8100``), ascending, no repeats."""
    if not isinstance(spec, str) or not spec.strip():
        raise FieldError(_("no ports given (example: 1-1024,3306,8000-8100)"))
    if len(spec) > PORT_LIST_MAX:
        raise FieldError(_("port list too long (at most {n} characters)").format(
            n=PORT_LIST_MAX))
    ranges: list[tuple[int, int]] = []
    for part in spec.replace(" ", "").split(","):
        if not part:
            raise FieldError(_("empty item in port list {spec}").format(spec=shown(spec)))
        low_text, dash, high_text = part.partition("-")
        low = _listed_port(low_text, part)
        high = _listed_port(high_text, part) if dash else low
        if high < low:
            raise FieldError(_("range {part} runs backwards (write {high}-{low})").format(
                part=shown(part), high=high, low=low))
        ranges.append((low, high))
    # Merge before expanding, so "1-65535" repeated is no slower than once.
    ports: list[int] = []
    for low, high in sorted(ranges):
        start = max(low, ports[-1] + 1) if ports else low
        ports.extend(range(start, high + 1))
    return ports


def _listed_port(text: str, part: str) -> int:
    if not is_digits(text):
        raise FieldError(_("{part} is not a port or a range like 20-25").format(
            part=shown(part)))
    number = _bounded_int(text, PORT_MAX)
    if number is None or not 1 <= number <= PORT_MAX:
        raise FieldError(_("port {port} is out of range (1-65535)").format(
            port=shown(text) if number is None else number))
    return number
