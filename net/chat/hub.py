"""The online set: who is in the room, one order, and the fan-out to them.

The hub's lock guards the online set and hands each delivery to the
fan-out threads in id order; it never waits on the disk. Members of both
front ends (``net.chat.member.Member``) are in the one set, so a name is
online once whichever port it came by, and everyone sees one order.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from net.chat.fanout import FanOut
from net.chat.member import Delivery, Member
from net.chat.names import canonical
from net.chat.protocol import name_key
from net.chat.writer import Pending

log = logging.getLogger("netdesk.chat")


@dataclass(frozen=True)
class Entry:
    """A member let into the online set: who was online then (itself too), and
    the newest id delivered so far (its history goes up to it; later
    messages reach it through the fan-out)."""

    online: list[str]
    upto: int


class Hub:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._online: dict[str, Member] = {}
        self._connections: set = set()  # every chat connection, logged in or not
        self._delivered = 0  # the newest id handed to the online members
        self.accepted = 0  # says delivered since the start
        self.fanout: FanOut | None = None

    def open(self, fanout: FanOut, delivered: int) -> None:
        """Start delivering through ``fanout``, after id ``delivered``."""
        self.fanout = fanout
        self._delivered = delivered

    # -- connections of the chat port ----------------------------------------------
    def connected(self, peer: object) -> None:
        with self._lock:
            self._connections.add(peer)

    def disconnected(self, peer: object) -> None:
        with self._lock:
            self._connections.discard(peer)

    def connections(self) -> list:
        with self._lock:
            return list(self._connections)

    # -- entering and leaving -------------------------------------------------------
    def enter(self, member: Member) -> Entry | None:
        """Put ``member`` (its ``name`` and ``key`` set) in the online set and
        tell the others; None when its name is online already."""
        with self._lock:
            if member.key in self._online:
                return None
            self._online[member.key] = member
            online = sorted((m.name for m in self._online.values()), key=str.casefold)
            others = [m for m in self._online.values() if m is not member]
            self._fan(others, Delivery({"type": "joined", "name": member.name}, about=member))
            return Entry(online, self._delivered)

    def leave(self, member: Member) -> bool:
        """Take ``member`` out of the online set and tell the others (``left``);
        False when it was not in it."""
        with self._lock:
            if member.key is None or self._online.get(member.key) is not member:
                return False
            del self._online[member.key]
            self._fan(list(self._online.values()),
                      Delivery({"type": "left", "name": member.name}, about=member))
            return True

    # -- who is online --------------------------------------------------------------------
    def member(self, name: str) -> Member | None:
        """Who is online under ``name`` (any spelling that canonicalises to it)."""
        with self._lock:
            return self._online.get(name_key(canonical(name)))

    def members(self) -> list[Member]:
        """Everyone online, in no particular order."""
        with self._lock:
            return list(self._online.values())

    def online_names(self) -> list[str]:
        with self._lock:
            return sorted((m.name for m in self._online.values()), key=str.casefold)

    def is_online(self, name: str) -> bool:
        with self._lock:
            return name_key(name) in self._online

    def delivered(self) -> int:
        """The newest id handed to the online members so far."""
        with self._lock:
            return self._delivered

    # -- deliveries ------------------------------------------------------------------------
    def deliver(self, batch: list[tuple[Pending, dict]]) -> None:
        """The writer stored ``batch``: hand each message to its recipients.
        While the fan-out is behind, the writer waits here, before the lock
        (so the fan-out never waits for it), and the senders wait for it."""
        self.fanout.wait_room()
        items = [Delivery(message) for _, message in batch]
        for item in items:
            item.frame  # encoded here, outside the lock  # noqa: B018
        with self._lock:
            everyone = list(self._online.values())
            work = []
            for (pending, message), item in zip(batch, items, strict=True):
                sender = pending.sender
                to = message.get("to")
                if to is None:
                    work.append((everyone, item))
                else:
                    target = self._online.get(name_key(to))
                    work.append(([sender] if target in (None, sender) else [sender, target],
                                 item))
                sender.messages += 1
            self.fanout.send(work)
            self._delivered = batch[-1][1]["id"]
            self.accepted += len(batch)

    def send(self, members: list[Member], item: Delivery) -> None:
        """``item`` to ``members``, after every delivery already queued for them
        (an IRC PONG that must follow what its client said)."""
        with self._lock:
            self._fan(members, item)

    def _fan(self, recipients: list[Member], item: Delivery) -> None:
        if recipients:
            self.fanout.send([(recipients, item)])
