"""The IRC side of the one room: which IRC sessions are connected and joined.

The chat server's online set holds every member of both front ends; what
only IRC needs is kept here: the gateway's sessions (registered or not),
who of them joined the channel (JOINs, PARTs and QUITs go to them), how a
name looks as ``nick!user@host``, and the gateway's stop signal. Sessions
(``net.irc.session``) use this public interface, never the server's
insides.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from net.budgets import Budgets
from net.chat.protocol import name_key
from net.irc.options import IrcOptions
from net.outbox import Flusher

if TYPE_CHECKING:  # the session module stands on this one
    from net.irc.session import Session


def chat_prefix(name: str) -> str:
    """How a chat window's user looks on IRC."""
    return f"{name}!chat@netdesk"


class Channel:
    def __init__(self, options: IrcOptions, budgets: Budgets, flusher: Flusher):
        self.options = options
        self.budgets = budgets
        self.flusher = flusher
        self.created = time.time()
        self._lock = threading.Lock()  # the sessions and who is in the channel
        self._sessions: set[Session] = set()
        self._by_key: dict[str, Session] = {}  # registered sessions by name_key
        self._stopping = threading.Event()

    # -- stopping ---------------------------------------------------------------------
    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def wait_stopping(self, seconds: float) -> bool:
        """Wait up to ``seconds``; True once the gateway is stopping."""
        return self._stopping.wait(seconds)

    def stop(self) -> list[Session]:
        """Mark the gateway stopping; the sessions to tell (empty when it was already)."""
        if self._stopping.is_set():
            return []
        self._stopping.set()
        return self.sessions()

    # -- sessions -----------------------------------------------------------------------
    def sessions(self) -> list[Session]:
        with self._lock:
            return list(self._sessions)

    def add(self, session: Session) -> None:
        with self._lock:
            self._sessions.add(session)

    def registered(self, session: Session) -> None:
        with self._lock:
            self._by_key[session.key] = session

    def remove(self, session: Session) -> None:
        with self._lock:
            self._sessions.discard(session)
            if session.key is not None and self._by_key.get(session.key) is session:
                del self._by_key[session.key]
        self.flusher.discard(session.link)

    def prefix_of(self, name: str) -> str:
        """``nick!user@host`` of a name in the room, from either port."""
        with self._lock:
            session = self._by_key.get(name_key(name))
        return session.prefix if session is not None else chat_prefix(name)

    # -- the channel ----------------------------------------------------------------------
    def set_in_channel(self, session: Session, joined: bool, data: bytes | None) -> None:
        """Mark ``session`` in or out of the channel and tell the IRC sessions in it
        (``session`` too) ``data`` (its JOIN or PART), in one step."""
        with self._lock:
            if joined:
                session.in_channel = True
            targets = [s for s in self._sessions if s.in_channel]
            if not joined:
                session.in_channel = False
        if data is not None:
            for s in targets:
                s.link.send(data)

    def tell_channel(self, data: bytes, but: Session | None = None) -> None:
        """``data`` to the IRC sessions in the channel, except ``but``."""
        with self._lock:
            targets = [s for s in self._sessions if s.in_channel and s is not but]
        for s in targets:
            s.link.send(data)
