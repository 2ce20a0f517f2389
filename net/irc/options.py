"""What an operator sets for the IRC gateway: its port, names, topic and replay."""

from __future__ import annotations

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
