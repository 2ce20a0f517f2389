"""The IRC gateway's service: a port of its own beside the chat port.

``IrcServer`` listens with a ``Listener`` that counts each address together
with the chat port's (so one address has one connection budget across both),
serves every IRC connection on its own thread (``net.irc.session``) and
keeps the IRC side of the one room: which IRC sessions are connected and
which have joined the channel. The chat itself, its accounts, budgets,
writer, history and online set are the ``ChatServer``'s: an IRC session is
a member of its online set beside the chat peers.

Stop the gateway before the chat server it stands on (the controller does).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass

from net.chat.protocol import name_key
from net.chat.server import ChatServer
from net.irc.lines import line
from net.irc.link import Link
from net.listener import Listener, format_address
from net.outbox import Flusher
from net.tls import sniff

log = logging.getLogger("netdesk.irc")

DEFAULT_PORT = 6667
RENDERED_MAX = 4096  # rendered public lines kept: a few batches' worth
__all__ = ["DEFAULT_PORT", "IrcOptions", "IrcServer"]


@dataclass
class IrcOptions:
    server_name: str = "irc.netdesk"
    channel: str = "#netdesk"
    topic: str = "netdesk chat: the room of netdesk's chat windows, open to IRC"
    motd: tuple[str, ...] = ()  # no lines: 422 (no MOTD)
    guests: bool = False  # let clients without PASS or SASL in under names that are no account
    replay: int = 50  # messages replayed on JOIN
    port_tries: int = 20


def chat_prefix(name: str) -> str:
    """How a chat window's user looks on IRC."""
    return f"{name}!chat@netdesk"


class IrcServer:
    def __init__(self, chat: ChatServer, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                 options: IrcOptions | None = None):
        self.chat = chat
        self.options = options or IrcOptions()
        self.budgets = chat.budgets
        self.listener = Listener("irc", host, port, self._serve, logger=log,
                                 port_tries=self.options.port_tries, budgets=self.budgets,
                                 on_refused=self._refuse_connection,
                                 counts_with=chat.listener)
        self.created = time.time()
        self._lock = threading.Lock()  # the sessions and who is in the channel
        self._sessions: set = set()
        self._by_key: dict[str, object] = {}  # registered sessions by name_key
        # Public lines rendered for fan-out, by (id, time tag, msgid tag); bounded.
        self.rendered: dict[tuple, bytes] = {}
        self._stopping = threading.Event()
        self.flusher = Flusher("irc-flusher", self.budgets.stall_timeout)

    # -- life cycle ---------------------------------------------------------------
    def start(self) -> tuple[str, int]:
        self.flusher.start()
        try:
            return self.listener.start()
        except BaseException:
            self._stopping.set()
            self.flusher.stop()
            raise

    @property
    def address(self) -> tuple[str, int]:
        return self.listener.address

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def stop(self) -> None:
        """Tell every IRC client, end every session and join every thread."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self.listener.pause()
        with self._lock:
            sessions = list(self._sessions)
        for session in sessions:
            session.link.send(line("ERROR", "Closing Link: the server is shutting down"))
            session.link.kill(None)
        self.listener.stop()
        self.flusher.stop()

    # -- for the controller ---------------------------------------------------------
    def clients(self) -> list[dict]:
        with self._lock:
            sessions = sorted(self._sessions, key=lambda s: s.since)
        return [{"name": s.name, "address": s.where, "since": s.since,
                 "messages": s.messages, "via": "irc", "tls": s.link.tls is not None}
                for s in sessions]

    # -- the IRC side of the room (sessions call these) ---------------------------------
    def add(self, session) -> None:
        with self._lock:
            self._sessions.add(session)

    def registered(self, session) -> None:
        with self._lock:
            self._by_key[session.key] = session

    def remember(self, key: tuple, data: bytes) -> bytes:
        """Keep a rendered line for the other recipients (fan-out threads race
        here harmlessly: both render the same bytes)."""
        if len(self.rendered) >= RENDERED_MAX:
            self.rendered.clear()
        self.rendered[key] = data
        return data

    def prefix_of(self, name: str) -> str:
        """``nick!user@host`` of a name in the room, from either port."""
        with self._lock:
            session = self._by_key.get(name_key(name))
        return session.prefix if session is not None else chat_prefix(name)

    def remove(self, session) -> None:
        with self._lock:
            self._sessions.discard(session)
            if session.key is not None and self._by_key.get(session.key) is session:
                del self._by_key[session.key]
        self.flusher.discard(session.link)

    def set_in_channel(self, session, joined: bool, data: bytes | None) -> None:
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

    def tell_channel(self, data: bytes, but=None) -> None:
        """``data`` to the IRC sessions in the channel, except ``but``."""
        with self._lock:
            targets = [s for s in self._sessions if s.in_channel and s is not but]
        for s in targets:
            s.link.send(data)

    # -- connections --------------------------------------------------------------------
    def _serve(self, sock: socket.socket, addr: tuple) -> None:
        from net.irc.session import Session  # the session module stands on this one
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        # TLS when the first byte is a ClientHello, as on the chat port; the
        # handshake holds no lock and ends at the login deadline.
        tls = None
        sock.setblocking(False)  # no send or recv of the handshake may block
        if sniff(sock, self.chat.options.tls_sniff):
            tls = self.chat.tls_handshake(sock, f"irc {format_address(addr)}",
                                          time.monotonic())
            if tls is None:
                return
        link = Link(sock, self.budgets.backlog_limit, self.flusher, tls)
        Session(self, link, addr).run()

    @staticmethod
    def _refuse_connection(sock: socket.socket, why: str) -> None:
        sock.setblocking(False)
        sock.send(line("ERROR", f"Closing Link: too many connections ({why})"))
