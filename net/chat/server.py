"""The chat service (PROTOCOL.md section 2) on the identification server.

``ChatServer`` wires the parts together and runs their life cycle: the
listener and TLS, one reading thread per chat connection
(``net.chat.chat_port``), admission with its budgets (``net.chat.admission``),
the online set with its one order and fan-out (``net.chat.hub``), and the
stores. The IRC gateway (``net.irc``) stands on the same server: its
sessions are members of the one online set, and enter, say and leave
through the same paths as chat peers (``enter``, ``say``, ``leave``).

Order and storage: accepted ``say``s go to the writer thread
(``net.chat.writer``), which numbers them, commits them, and only then
delivers them through the hub, so every member sees one order and nothing
is delivered that was not stored.

Sending never blocks (``net.outbox``): what the kernel can't take at once
is queued on that client, a single flusher thread drains the queues, and a
client whose unsent output passes its budget or stops moving for
``stall_timeout`` is disconnected. So a slow or stalled client never
delays the others.
"""

from __future__ import annotations

import logging
import socket
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from net import certs
from net.budgets import Budgets
from net.chat.accounts import Accounts
from net.chat.admission import Admission, Admissions, member_buckets
from net.chat.chat_port import BYE_SHUTDOWN, ChatPort, Peer
from net.chat.fanout import FanOut
from net.chat.framing import encode
from net.chat.hashing import HashQueue
from net.chat.history import HistoryStore
from net.chat.hub import Entry, Hub
from net.chat.member import Caller, Delivery, Member
from net.chat.protocol import DEFAULT_PORT, TEXT_MAX
from net.chat.writer import MessageWriter, Pending
from net.listener import Listener
from net.outbox import Flusher
from net.ratelimit import TokenBuckets
from net.sockutil import wait_readable
from net.tls import SNIFF_SECONDS, HandshakeError, TlsChannel, sniff

log = logging.getLogger("netdesk.chat")

USERS_FILE = "users.db"
HISTORY_FILE = "history.db"
CHECK_FILES_EVERY = 5.0  # seconds between checks that the data files are still there
__all__ = ["DEFAULT_PORT", "USERS_FILE", "Admission", "ChatOptions", "ChatServer"]


@dataclass
class ChatOptions:
    welcome_history: int = 100
    retention: int = 100_000
    token_ttl: float = 7 * 24 * 3600
    port_tries: int = 20
    budgets: Budgets = field(default_factory=Budgets)
    # TLS (PROTOCOL.md section 3): the operator's certificate and key, or
    # None for the self-signed one kept in the data directory.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    new_certificate: bool = False  # make a new self-signed one on start
    require_tls: bool = False  # plain logins get tls_required
    tls_sniff: float = SNIFF_SECONDS  # how long to wait for a TLS ClientHello


class ChatServer:
    def __init__(self, data_dir: Path, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                 options: ChatOptions | None = None):
        self.options = options or ChatOptions()
        self.budgets = b = self.options.budgets
        self.data_dir = Path(data_dir)
        self.listener = Listener("chat", host, port, self._serve, logger=log,
                                 port_tries=self.options.port_tries, budgets=b,
                                 on_refused=_refuse_connection)
        self.accounts: Accounts | None = None
        self.history: HistoryStore | None = None
        self.writer: MessageWriter | None = None
        self.hashes: HashQueue | None = None
        self.hub = Hub()
        self.admissions = Admissions(b, self.hub.is_online)
        self.says = TokenBuckets(b.say_burst, b.say_rate, b.table_entries)
        self.history_requests = TokenBuckets(b.history_burst, b.history_rate, b.table_entries)
        self._stopping = threading.Event()
        self.flusher = Flusher("chat-flusher", b.stall_timeout, self._check_files)
        self._next_check = 0.0
        self.certificate: certs.Certificate | None = None
        self._tls_context = None
        self.require_tls = self.options.require_tls  # the panel may switch it

    # -- life cycle ---------------------------------------------------------------
    def start(self) -> tuple[str, int]:
        """Open the stores and listen. Raises OSError (``StoreError`` for a data
        file that cannot be used, ``ListenError`` for the port)."""
        started = []
        try:
            self._load_certificate()
            self.hashes = HashQueue(self.budgets.hash_workers)
            started.append(self.hashes.close)
            fanout = FanOut()
            started.append(fanout.stop)
            self.accounts = Accounts(self.data_dir / USERS_FILE, self.options.token_ttl,
                                     self.hashes, self.budgets.sessions_per_account,
                                     self.budgets.addresses_per_account)
            self.admissions.accounts = self.accounts
            started.append(self.accounts.close)
            self.history = HistoryStore(self.data_dir / HISTORY_FILE, self.options.retention)
            started.append(self.history.close)
            self.writer = MessageWriter(self.history, self.hub.deliver, self._refuse)
            self.hub.open(fanout, self.writer.next_id - 1)
            started.append(self.writer.stop)
            self.flusher.start()
            started.append(self.flusher.stop)
            return self.listener.start()
        except BaseException:
            for undo in reversed(started):
                undo()
            raise

    def _load_certificate(self) -> None:
        o = self.options
        if o.tls_cert is not None or o.tls_key is not None:
            if o.tls_cert is None or o.tls_key is None:
                raise certs.CertificateError("--tls-cert and --tls-key go together")
            self.certificate = certs.load(o.tls_cert, o.tls_key)
        else:
            self.certificate = certs.ensure(self.data_dir, self.listener.host,
                                            o.new_certificate)
        self._tls_context = self.certificate.context()
        log.info("chat: TLS certificate %s (%s)", self.certificate.fingerprint,
                 "self-signed" if self.certificate.self_signed else self.certificate.cert_file)

    @property
    def address(self) -> tuple[str, int]:
        return self.listener.address

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def wait_stopping(self, seconds: float) -> bool:
        """Wait up to ``seconds``; True once the server is stopping."""
        return self._stopping.wait(seconds)

    def stop(self) -> None:
        """Say ``bye`` to every client, close everything, join every thread."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self.listener.pause()
        for peer in self.hub.connections():
            peer.send(BYE_SHUTDOWN)
        all_ended = self.listener.stop()
        if self.writer is not None:
            self.writer.stop()  # what was accepted is stored before the files close
        if self.hub.fanout is not None:
            self.hub.fanout.stop()
        if self.hashes is not None:
            self.hashes.close()
        self.flusher.stop()
        if all_ended:
            for store in (self.accounts, self.history):
                if store is not None:
                    store.close()

    # -- queries for the controller --------------------------------------------------------
    @property
    def accepted(self) -> int:
        """Says delivered since the start."""
        return self.hub.accepted

    def clients(self) -> list[dict]:
        peers = sorted(self.hub.connections(), key=lambda p: p.since)
        return [{"name": p.name, "address": p.where, "since": p.since, "messages": p.messages,
                 "via": p.via, "tls": p.tls is not None} for p in peers]

    def online_names(self) -> list[str]:
        return self.hub.online_names()

    def kick(self, name: str) -> bool:
        member = self.hub.member(name)
        if member is None:
            return False
        member.kick(f"kicked by the operator ({name})")
        return True

    def clear_users(self) -> int:
        count = self.accounts.clear()
        # The log is English (never through _()): one or many, in English words.
        log.warning("chat: identification file cleared (%d %s); sessions online now go on",
                    count, "account" if count == 1 else "accounts")
        return count

    # -- housekeeping, on the flusher's thread ---------------------------------------
    def _check_files(self) -> None:
        """Now and then, put back a data file someone deleted (see ``Store``)."""
        now = time.monotonic()
        if now < self._next_check:
            return
        self._next_check = now + CHECK_FILES_EVERY
        for store in (self.accounts, self.history):
            try:
                store.check_file()
            except sqlite3.Error as e:
                log.error("chat: checking %s failed: %s", store.path, e)

    # -- connections -------------------------------------------------------------------------
    def _serve(self, sock: socket.socket, addr: tuple) -> None:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        peer = Peer(self, sock, addr)
        # No lock is held and the peer is in no shared set yet: a client that
        # stalls here costs only this thread, until the login deadline.
        if sniff(sock, self.options.tls_sniff):
            peer.tls = self.tls_handshake(sock, peer.where, peer.connected)
            if peer.tls is None:
                peer.close()
                return
        ChatPort(self, peer).run()

    def tls_handshake(self, sock: socket.socket, where: str, connected: float
                      ) -> TlsChannel | None:
        """TLS as the server, with this server's certificate, on a connection
        made at ``connected`` (monotonic) that started with a ClientHello:
        the channel, or None (logged) when the handshake failed or did not
        finish within the login deadline. The IRC gateway's port uses it too."""
        channel = TlsChannel(self._tls_context, server_side=True)
        try:
            channel.handshake(sock, connected + self.budgets.login_deadline,
                              self._wait_handshake)
        except HandshakeError as e:
            # A client that went away or refused the certificate (a chat
            # window's check against the system's CAs, before it trusts the
            # certificate on first use) is no failure of ours: not shown in
            # the panel's log at its usual level.
            if e.peer_left:
                log.debug("TLS: %s ended the handshake: %s", where, e)
            else:
                log.info("TLS handshake with %s failed: %s", where, e)
            return None
        except OSError as e:
            log.debug("TLS: %s went away during the handshake: %s", where, e)
            return None
        log.debug("%s speaks %s", where, channel.info().version)
        return channel

    def _wait_handshake(self, sock: socket.socket, seconds: float) -> bool:
        """Wait for handshake bytes; stopping the server ends the wait (the
        listener shuts the socket down, which makes it readable)."""
        return wait_readable(sock, seconds) and not self._stopping.is_set()

    # -- the paths every front end takes (the chat port and the IRC gateway) -----------
    def check_login(self, caller: Caller, raw: str, password: str) -> Admission:
        """Judge a name and password (``Admissions.check_login``)."""
        return self.admissions.check_login(caller, raw, password)

    def enter(self, member: Member) -> Entry | None:
        """Put ``member`` (``name`` and ``key`` set) in the online set; None when
        its name is online already (see ``Hub.enter``)."""
        entry = self.hub.enter(member)
        if entry is not None:
            log.debug("chat: %s is online (via %s)", member.name, member.via)
        return entry

    def leave(self, member: Member) -> None:
        """Take ``member`` out of the online set (the others get ``left``)."""
        if self.hub.leave(member):
            log.info("chat: %s left (%s)", member.name, member.where)

    def say(self, member: Member, text: str, to: str | None = None) -> str | None:
        """A ``say`` from ``member``, whichever its front end: the same budgets,
        the same writer (one id order, stored before delivery). None when
        accepted, else the chat error code (``rate_limited``, ``bad_text``,
        ``no_such_user``)."""
        if not self.says.take(*member_buckets(member)):
            return "rate_limited"
        if not 1 <= len(text) <= TEXT_MAX:
            return "bad_text"
        target = None
        if to is not None:
            target = self.hub.member(to)
            if target is None:
                return "no_such_user"
        self.writer.submit(Pending(member, member.name, text, target.name if target else None))
        return None

    def member(self, name: str) -> Member | None:
        """Who is online under ``name``, from either front end."""
        return self.hub.member(name)

    def members(self) -> list[Member]:
        """Everyone online, in no particular order."""
        return self.hub.members()

    def history_for(self, name: str, limit: int, upto: int) -> list[dict]:
        """The newest ``limit`` messages ``name`` may read with ids up to ``upto``."""
        return self.history.page(limit, upto + 1, name, self.budgets.page_bytes)

    def _refuse(self, batch: list[Pending], reason: str) -> None:
        """The writer could not store ``batch``: nobody gets it; the senders hear why."""
        item = Delivery({"type": "error", "code": "server_error",
                         "message": "the server could not store that message; it was not sent"})
        for pending in batch:
            pending.sender.deliver(item)


def _refuse_connection(sock: socket.socket, why: str) -> None:
    """The listener refused this connection: say so in the protocol, then it closes."""
    sock.setblocking(False)
    sock.send(encode({"type": "error", "code": "too_many_connections", "message": why}))
