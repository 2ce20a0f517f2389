"""Port lists as users write them: ``1-1024,3306,8000-8100``."""

from __future__ import annotations

ALL_PORTS = "1-65535"


class PortSpecError(ValueError):
    """A port list that can't be scanned; the message says why."""


def parse_ports(spec: str) -> list[int]:
    """Ports named by ``spec``, ascending and without repeats."""
    if not isinstance(spec, str) or not spec.strip():
        raise PortSpecError("no ports given (example: 1-1024,3306,8000-8100)")
    ports: set[int] = set()
    for part in spec.replace(" ", "").split(","):
        if not part:
            raise PortSpecError(f"empty item in port list {spec!r}")
        low_text, dash, high_text = part.partition("-")
        low = _port(low_text, part)
        high = _port(high_text, part) if dash else low
        if high < low:
            raise PortSpecError(f"range {part!r} runs backwards (write {high}-{low})")
        ports.update(range(low, high + 1))
    return sorted(ports)


def _port(text: str, part: str) -> int:
    if not text.isdigit():
        raise PortSpecError(f"{part!r} is not a port or a range like 20-25")
    port = int(text)
    if not 1 <= port <= 65535:
        raise PortSpecError(f"port {port} is out of range (1-65535)")
    return port
