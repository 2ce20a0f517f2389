"""Port lists as users write them: ``1-1024,3306,8000-8100``.

The parsing is net/fields.py's, shared with every other field; this module
keeps the scanner's names for it.
"""

from __future__ import annotations

from net.fields import ALL_PORTS, PORT_LIST_MAX, FieldError, port_list

SPEC_MAX = PORT_LIST_MAX
PortSpecError = FieldError  # a port list that can't be scanned; the message says why


def parse_ports(spec: str) -> list[int]:
    """Ports named by ``spec``, ascending and without repeats."""
    return port_list(spec)


__all__ = ["ALL_PORTS", "SPEC_MAX", "PortSpecError", "parse_ports"]
