"""What an operator sets for the IRC gateway: its port, names, topic and replay,
and what a server name may be."""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_PORT = 6667


@dataclass
class IrcOptions:
    server_name: str = "irc.netdesk"
    channel: str = "#netdesk"
    topic: str = "netdesk chat: the room of netdesk's chat windows, open to IRC"
    motd: tuple[str, ...] = ()  # no lines: 422 (no MOTD)
    guests: bool = False  # let clients without PASS or SASL in under names that are no account
    replay: int = 50  # messages replayed on JOIN
    port_tries: int = 20


SERVER_NAME_MAX = 63  # RFC 2812: a server name is a host name of at most 63 characters
_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?")


def is_server_name(text: str) -> bool:
    """Whether ``text`` can be the gateway's name, the source of its numerics:
    a host-like name of ASCII letters, digits and hyphens in dot-separated
    labels, with at least one dot (so that no nick can look like it), and no
    longer than ``SERVER_NAME_MAX``."""
    if not 3 <= len(text) <= SERVER_NAME_MAX or "." not in text:
        return False
    return all(_LABEL.fullmatch(label) for label in text.split("."))
