"""Who can be in the room: the ``Member`` protocol, and what the hub hands members.

Two front ends put members in the chat server's one online set: the chat
port (``net.chat.chat_port.Peer``) and the IRC gateway
(``net.irc.session.Session``). The hub, the writer and the operator's
queries treat them alike through what this protocol declares; each front
end renders a ``Delivery`` in its own protocol.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from net.chat.framing import encode


class Caller(Protocol):
    """A connection the admission budgets judge (logged in or not yet)."""

    ip: str
    addr_key: str  # what per-address budgets count by: one key across both ports
    trusted: bool  # in the trusted networks: no per-address budgets
    where: str  # its address, for log lines


class Member(Caller, Protocol):
    """Someone in the online set, from either front end."""

    name: str | None  # set before it enters the online set
    key: str | None  # ``name_key(name)``
    shard: int  # its fan-out thread (``FanOut.shard()``), for good
    via: str  # the front end, for the operator's table: "chat", "irc"
    since: float  # when it connected (epoch seconds)
    messages: int  # its says delivered so far
    away: str | None  # an away message, or None
    in_room: bool  # sees the room's public lines (an IRC session once it joined)
    # How it looks to the IRC side: ``user@host``, its real name, its account
    # (None for a guest) and the server line WHOIS shows.
    user: str
    host: str
    realname: str
    account: str | None
    server_info: str

    def deliver(self, item: Delivery) -> None:
        """Take ``item`` (a fan-out thread, or the writer's): must never block."""

    def deliver_many(self, items: list[Delivery]) -> None:
        """Take ``items`` in order, in as few writes as it can: a fan-out
        thread's batch. Must never block."""

    def kick(self, reason: str) -> None:
        """The operator's kick: say so in its own protocol, and end it."""


class Delivery:
    """One message for the members: the chat protocol's dict, its frame
    (encoded once, however many chat peers get it) and what other front ends
    rendered of it, so each rendering is made once too. ``about`` is the
    member a ``joined`` or ``left`` is about."""

    __slots__ = ("message", "about", "_frame", "_rendered")

    def __init__(self, message: dict, frame: bytes | None = None,
                 about: Member | None = None):
        self.message = message
        self.about = about
        self._frame = frame
        self._rendered: dict[object, bytes] = {}

    @property
    def frame(self) -> bytes:
        """The chat frame (fan-out threads may race here harmlessly: both
        encode the same bytes)."""
        if self._frame is None:
            self._frame = encode(self.message)
        return self._frame

    def rendered(self, key: object, render: Callable[[], bytes]) -> bytes:
        """What ``render()`` makes of it, made once per ``key`` (a front end's
        way of rendering, e.g. the IRC capabilities that change the bytes)."""
        data = self._rendered.get(key)
        if data is None:
            data = self._rendered[key] = render()
        return data
