"""The IRC gateway's service: a port of its own beside the chat port.

``IrcServer`` listens with a ``Listener`` that counts each address together
with the chat port's (so one address has one connection budget across both)
and serves every IRC connection on its own thread (``net.irc.session``);
the IRC side of the one room, which sessions are connected and which joined
the channel, is its ``Channel`` (``net.irc.channel``). The chat itself, its
accounts, budgets, writer, history and online set are the ``ChatServer``'s:
an IRC session is a member of its online set beside the chat peers.

Stop the gateway before the chat server it stands on (the controller does).
"""

from __future__ import annotations

import logging
import socket
import time

from net.chat.server import ChatServer
from net.irc.channel import Channel
from net.irc.lines import line
from net.irc.link import Link
from net.irc.options import DEFAULT_PORT, IrcOptions
from net.irc.session import Session
from net.listener import Listener, format_address
from net.outbox import Flusher
from net.tls import sniff

log = logging.getLogger("netdesk.irc")

__all__ = ["DEFAULT_PORT", "IrcOptions", "IrcServer"]


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
        self.flusher = Flusher("irc-flusher", self.budgets.stall_timeout)
        self.channel = Channel(self.options, self.budgets, self.flusher)

    # -- life cycle ---------------------------------------------------------------
    def start(self) -> tuple[str, int]:
        self.flusher.start()
        try:
            return self.listener.start()
        except BaseException:
            self.channel.stop()
            self.flusher.stop()
            raise

    @property
    def address(self) -> tuple[str, int]:
        return self.listener.address

    @property
    def stopping(self) -> bool:
        return self.channel.stopping

    def stop(self) -> None:
        """Tell every IRC client, end every session and join every thread."""
        if self.channel.stopping:
            return
        self.listener.pause()
        for session in self.channel.stop():
            session.link.send(line("ERROR", "Closing Link: the server is shutting down"))
            session.link.kill(None)
        self.listener.stop()
        self.flusher.stop()

    # -- for the controller ---------------------------------------------------------
    def clients(self) -> list[dict]:
        sessions = sorted(self.channel.sessions(), key=lambda s: s.since)
        return [{"name": s.name, "address": s.where, "since": s.since,
                 "messages": s.messages, "via": s.via, "tls": s.link.tls is not None}
                for s in sessions]

    # -- connections --------------------------------------------------------------------
    def _serve(self, sock: socket.socket, addr: tuple) -> None:
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
        Session(self.channel, self.chat, link, addr).run()

    @staticmethod
    def _refuse_connection(sock: socket.socket, why: str) -> None:
        sock.setblocking(False)
        sock.send(line("ERROR", f"Closing Link: too many connections ({why})"))
