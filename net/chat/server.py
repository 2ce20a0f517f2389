"""The chat service (PROTOCOL.md section 2) on the identification server.

One reading thread per client, as the lab asks. What a client may make
the server keep is bounded by the budgets of ``net.budgets``, each
enforced here or in the listener.

Order and storage: the hub lock guards the online set and hands each
delivery to the clients; it never waits on the disk. Accepted ``say``s go
to the writer thread (``net.chat.writer``), which numbers them, commits
them, and only then delivers them through the hub, so every client sees
one order and nothing is delivered that was not stored.

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

from net import SERVER_NAME, certs
from net.budgets import Budgets, address_key
from net.chat.accounts import Accounts, BadPassword, Refused
from net.chat.fanout import FanOut
from net.chat.framing import FrameError, FrameReader, encode
from net.chat.hashing import HashQueue, HashQueueClosed
from net.chat.history import HistoryStore
from net.chat.names import canonical, name_problem
from net.chat.protocol import (
    DEFAULT_PORT,
    HISTORY_DEFAULT,
    HISTORY_MAX,
    NAME_RULE,
    PASSWORD_MAX,
    PROTO_VERSION,
    TEXT_MAX,
    TOKEN_MAX,
    name_key,
    valid_password,
)
from net.chat.writer import MessageWriter, Pending
from net.listener import Listener, format_address
from net.outbox import Flusher, Outbox
from net.ratelimit import SlidingWindow, TokenBuckets
from net.sockutil import wait_readable
from net.tls import SNIFF_SECONDS, HandshakeError, TlsChannel, sniff

log = logging.getLogger("netdesk.chat")

USERS_FILE = "users.db"
HISTORY_FILE = "history.db"
PING = encode({"type": "ping"})
PONG = encode({"type": "pong"})
MAX_SAFE_INT = 2**53
CHECK_FILES_EVERY = 5.0  # seconds between checks that the data files are still there
__all__ = ["DEFAULT_PORT", "ChatOptions", "ChatServer"]


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


@dataclass(frozen=True)
class Admission:
    """What ``check_login`` decided: the name as registered, or a refusal."""

    name: str | None
    new_account: bool
    code: str | None  # None: admitted
    message: str


class BadRequest(ValueError):
    """A known message type with fields of the wrong kind: ``bad_request``."""


def _utf8_ok(value: str) -> bool:
    """JSON may carry lone surrogates, which no UTF-8 frame can hold."""
    try:
        value.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def text_field(msg: dict, key: str, required: bool = True) -> str | None:
    value = msg.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not _utf8_ok(value):
        raise BadRequest(f"'{key}' must be a string of Unicode characters")
    return value


def int_field(msg: dict, key: str, default: int | None) -> int | None:
    value = msg.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) \
            or not -MAX_SAFE_INT <= value <= MAX_SAFE_INT:
        raise BadRequest(f"'{key}' must be an integer from -2^53 to 2^53")
    return value


class Peer(Outbox):
    """One client connection: its identity, and (``Outbox``) its send queue."""

    via = "chat"  # the front end; members from others (the IRC gateway) say theirs

    def __init__(self, server: ChatServer, sock: socket.socket, addr: tuple):
        super().__init__(sock, server.budgets.backlog_limit, server.flusher, log, "chat")
        self.server = server
        self.ip = addr[0]
        self.addr_key = f"addr:{address_key(self.ip)}"  # what per-address budgets count by
        self.trusted = server.budgets.is_trusted(self.ip)
        self.where = format_address(addr)
        self.name: str | None = None
        self.key: str | None = None
        self.token: str | None = None
        self.since = time.time()
        self.connected = time.monotonic()
        self.messages = 0
        # Between joining the online set and sending welcome, deliveries
        # wait here, so that welcome comes first and nothing comes twice.
        self.held: list[bytes] | None = None
        self.shard = server.fanout.shard()  # its fan-out thread, for good

    def describe(self) -> str:
        return f"{self.name or '-'} ({self.where})"

    def _queued_locked(self) -> int:
        return len(self.backlog) if self.held is None else sum(map(len, self.held))

    def _queue_locked(self, data: bytes) -> None:
        if self.held is not None:
            self.held.append(data)
        else:
            self._send_locked(data)

    def say_bye(self, data: bytes) -> None:
        """Send ``data`` as the last frame, even before a welcome still held back
        (what was held would only have followed the welcome)."""
        with self.lock:
            if self.closed or self.killed:
                return
            self.held = None
            self._send_locked(data)

    def hold(self) -> None:
        with self.lock:
            self.held = []

    def release(self, first: bytes) -> None:
        """Send ``first`` (the welcome), then what was held meanwhile."""
        with self.lock:
            held, self.held = self.held or [], None
            if self.closed or self.killed:
                return
            for data in [first, *held]:
                self._send_locked(data)

    def _kill_locked(self, reason: str | None) -> None:
        if not (self.closed or self.killed):
            self.held = None
        super()._kill_locked(reason)


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
        self.fanout: FanOut | None = None
        self.failures = SlidingWindow(b.max_failures, b.failure_window, b.table_entries)
        self.registrations = SlidingWindow(b.registrations_per_hour, 3600.0, b.table_entries)
        self.says = TokenBuckets(b.say_burst, b.say_rate, b.table_entries)
        self.history_requests = TokenBuckets(b.history_burst, b.history_rate, b.table_entries)
        self.frames = TokenBuckets(b.frame_burst, b.frame_rate, b.table_entries)
        self._hub = threading.Lock()  # the online set, and deliveries in id order
        self._online: dict[str, Peer] = {}
        self._peers: set[Peer] = set()
        self._delivered = 0  # the newest id handed to the online clients
        self.accepted = 0
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
            self.fanout = FanOut()
            started.append(self.fanout.stop)
            self.accounts = Accounts(self.data_dir / USERS_FILE, self.options.token_ttl,
                                     self.hashes, self.budgets.sessions_per_account,
                                     self.budgets.addresses_per_account)
            started.append(self.accounts.close)
            self.history = HistoryStore(self.data_dir / HISTORY_FILE, self.options.retention)
            started.append(self.history.close)
            self.writer = MessageWriter(self.history, self._deliver, self._refuse)
            self._delivered = self.writer.next_id - 1
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

    def stop(self) -> None:
        """Say ``bye`` to every client, close everything, join every thread."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self.listener.pause()
        bye = encode({"type": "bye", "reason": "shutdown"})
        with self._hub:
            peers = list(self._peers)
        for peer in peers:
            peer.send(bye)
        all_ended = self.listener.stop()
        if self.writer is not None:
            self.writer.stop()  # what was accepted is stored before the files close
        if self.fanout is not None:
            self.fanout.stop()
        if self.hashes is not None:
            self.hashes.close()
        self.flusher.stop()
        if all_ended:
            for store in (self.accounts, self.history):
                if store is not None:
                    store.close()

    # -- queries for the controller --------------------------------------------------------
    def clients(self) -> list[dict]:
        with self._hub:
            peers = sorted(self._peers, key=lambda p: p.since)
        return [{"name": p.name, "address": p.where, "since": p.since, "messages": p.messages,
                 "via": "chat", "tls": p.tls is not None} for p in peers]

    def online_names(self) -> list[str]:
        with self._hub:
            return sorted((p.name for p in self._online.values()), key=str.casefold)

    def kick(self, name: str) -> bool:
        with self._hub:
            peer = self._online.get(name_key(canonical(name)))
        if peer is None:
            return False
        if peer.via != "chat":  # another front end's member says it its own way
            peer.kick(f"kicked by the operator ({name})")
            return True
        peer.say_bye(encode({"type": "bye", "reason": "kicked"}))
        peer.kill(f"kicked by the operator ({name})")
        return True

    def clear_users(self) -> int:
        count = self.accounts.clear()
        log.warning("chat: identification file cleared (%d account(s)); "
                    "sessions online now go on", count)
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

    # -- one connection --------------------------------------------------------------------
    def _serve(self, sock: socket.socket, addr: tuple) -> None:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        peer = Peer(self, sock, addr)
        # No lock is held and the peer is in no shared set yet: a client that
        # stalls here costs only this thread, until the login deadline.
        if sniff(sock, self.options.tls_sniff) and not self._start_tls(peer):
            peer.close()
            return
        with self._hub:
            self._peers.add(peer)
        try:
            if self._stopping.is_set():
                peer.send(encode({"type": "bye", "reason": "shutdown"}))
                return
            try:
                known = self.accounts.known_name(peer.ip)
            except sqlite3.Error as e:
                log.error("chat: identification file error serving %s: %s", peer.where, e)
                known = None
            peer.send(encode({"type": "hello", "proto": PROTO_VERSION, "server": SERVER_NAME,
                              "known_name": known, "tls": peer.tls is not None,
                              "tls_required": self.require_tls}))
            self._read_loop(peer, FrameReader(sock, self.budgets.max_payload, peer.recv))
        finally:
            self._leave(peer)
            peer.close_gracefully()

    def _start_tls(self, peer: Peer) -> bool:
        """The handshake, bounded by the login deadline; False when it failed."""
        channel = self.tls_handshake(peer.sock, peer.where, peer.connected)
        if channel is None:
            return False
        peer.tls = channel
        return True

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
        except (HandshakeError, OSError) as e:
            log.info("TLS handshake with %s failed: %s", where, e)
            return None
        log.debug("%s speaks %s", where, channel.info().version)
        return channel

    def _wait_handshake(self, sock: socket.socket, seconds: float) -> bool:
        """Wait for handshake bytes; stopping the server ends the wait (the
        listener shuts the socket down, which makes it readable)."""
        return wait_readable(sock, seconds) and not self._stopping.is_set()

    def _read_loop(self, peer: Peer, reader: FrameReader) -> None:
        b = self.budgets
        last_heard = time.monotonic()
        pinged = False
        while True:
            now = time.monotonic()
            if peer.name is None and now - peer.connected >= b.login_deadline:
                log.info("chat: %s did not log in within %g s, closing", peer.where,
                         b.login_deadline)
                self._error(peer, "login_timeout",
                            f"log in within {b.login_deadline:g} s of connecting")
                return
            idle = now - last_heard
            if idle >= b.idle_close:
                log.info("chat: %s (%s) silent for %.0f s, closing", peer.name or "-",
                         peer.where, idle)
                return
            if idle >= b.ping_after and not pinged:
                peer.send(PING)
                pinged = True
            wait = (b.idle_close if pinged else b.ping_after) - idle
            if peer.name is None:
                wait = min(wait, peer.connected + b.login_deadline - now)
            try:
                msg = reader.read(max(wait, 0.01))
            except TimeoutError:
                continue
            except FrameError as e:
                log.warning("chat: bad frame from %s: %s", peer.where, e)
                self._error(peer, "bad_frame", str(e))
                return
            except OSError:
                return
            if msg is None:
                return
            last_heard, pinged = time.monotonic(), False
            if not self._throttle(peer) or not self._dispatch(peer, msg):
                return

    def _throttle(self, peer: Peer) -> bool:
        """Read an untrusted address's frames no faster than its budget allows.

        Waiting, not refusing: the client's frames queue in the kernel and
        TCP slows it down, while the server spends nothing on it meanwhile.
        False when the server stops while waiting.
        """
        if peer.trusted:
            return True
        while not self.frames.take(peer.addr_key):
            if self._stopping.wait(1.0 / self.budgets.frame_rate):
                return False
        return True

    def _error(self, peer: Peer, code: str, message: str) -> None:
        peer.send(encode({"type": "error", "code": code, "message": message}))

    def _dispatch(self, peer: Peer, msg: dict) -> bool:
        """Handle one message; False closes the connection."""
        kind = msg.get("type")
        handler = _HANDLERS.get(kind) if isinstance(kind, str) else None
        if handler is None:
            shown = repr(kind[:40]) if isinstance(kind, str) and _utf8_ok(kind) else "that"
            self._error(peer, "unknown_type", f"unknown message type {shown}"
                        if isinstance(kind, str) else "every message needs a string 'type'")
            return True
        try:
            return handler(self, peer, msg)
        except BadRequest as e:
            self._error(peer, "bad_request", str(e))
            return True
        except sqlite3.Error as e:
            log.error("chat: data file error serving %s (%s): %s", peer.name or "-",
                      peer.where, e)
            self._error(peer, "server_error", "the server could not store that; try later")
            return True
        except HashQueueClosed:
            return False

    # -- login ----------------------------------------------------------------------------
    def _plain_refused(self, peer: Peer) -> bool:
        """With TLS required, a plain login or resume is refused before
        anything is checked: the password it carried is never looked at."""
        if not self.require_tls or peer.tls is not None:
            return False
        self._error(peer, "tls_required", "this server accepts logins only over TLS")
        return True

    def _on_login(self, peer: Peer, msg: dict) -> bool:
        if peer.name is not None:
            self._error(peer, "already_logged_in", f"already logged in as {peer.name}")
            return True
        if self._plain_refused(peer):
            return True
        raw, password = text_field(msg, "name"), text_field(msg, "password")
        result = self.check_login(peer, raw, password)
        if result.code == "too_many_attempts":
            return self._too_many(peer, result.name)
        if result.code is not None:
            self._error(peer, result.code, result.message)
            return True
        return self._enter(peer, result.name, result.new_account)

    # -- shared by every front end (the chat port and the IRC gateway) -------------
    def check_login(self, caller, raw: str, password: str) -> Admission:
        """Judge a name and password with every login budget; register a new name.

        ``caller`` is a connection with ``ip``, ``addr_key``, ``trusted`` and
        ``where`` (a chat ``Peer`` or an IRC connection): an address and an
        account are counted once whichever port they use. Nothing is entered
        in the online set here. The ``code`` of a refusal is the chat
        protocol's error code; ``too_many_attempts`` means close.
        """
        if name_problem(raw):
            return Admission(None, False, "bad_name", NAME_RULE)
        if not valid_password(password):
            return Admission(None, False, "bad_request",
                             f"a password is 1 to {PASSWORD_MAX} characters")
        name = canonical(raw)
        key = name_key(name)
        name_k, addr_k = f"name:{key}", caller.addr_key
        # An address that has logged in as this name before is its owner's:
        # only its own failures count there, so strangers cannot lock it out.
        owner = self.accounts.has_logged_in_from(name, caller.ip)
        judged_by = (addr_k,) if owner else (name_k, addr_k)
        too_many = Admission(name, False, "too_many_attempts",
                             "too many failed attempts; wait a minute")
        if self.failures.reached(*judged_by):
            return too_many
        if self._is_online(name):  # before the hash: a refusal must cost nothing
            return Admission(name, False, "name_in_use",
                             f"{name} is online on another connection")
        try:
            login = self.accounts.login(name, password, caller.ip,
                                        lambda _: self._may_register(caller))
        except BadPassword:
            log.warning("chat: failed login for %r from %s (bad password)", name, caller.where)
            self.failures.add(name_k, addr_k)
            if self.failures.reached(*judged_by):
                return too_many
            return Admission(name, False, "bad_password", "wrong password for that name")
        except Refused as e:
            return Admission(name, False, e.code, _REFUSALS[e.code])
        self.failures.forget(name_k)
        if login.new_account:
            log.info("chat: new account %s from %s", login.name, caller.where)
        return Admission(login.name, login.new_account, None, "")

    def check_guest(self, raw: str) -> Admission:
        """A name for a guest without an account (the IRC gateway's ``--irc-guests``):
        a valid name that is not an account and looks like none, not online."""
        if name_problem(raw):
            return Admission(None, False, "bad_name", NAME_RULE)
        name = canonical(raw)
        if self.accounts.taken(name):
            return Admission(name, False, "name_taken", f"{name} is an account: log in")
        if self._is_online(name):
            return Admission(name, False, "name_in_use", f"{name} is online on another connection")
        return Admission(name, False, None, "")

    def delivered(self) -> int:
        """The newest id handed to the online members so far."""
        with self._hub:
            return self._delivered

    def add_member(self, member) -> tuple[list[str], int] | None:
        """Put a member of another front end in the online set (the IRC gateway).

        ``member`` has ``name``, ``key`` (``name_key(name)``), ``shard``
        (``self.fanout.shard()``), ``via`` (not ``"chat"``), ``where``,
        ``since``, ``messages``, and ``send(message: dict)``, which takes
        what chat peers get as frames (``message``, ``joined``, ``left``,
        ``error``) as plain dicts, on a fan-out thread: it must not block.
        ``kick(reason)`` ends it. Returns the online names and the newest id
        delivered so far (a history replay goes up to it; later messages
        reach ``send``), or None when the name is online already.
        """
        with self._hub:
            if member.key in self._online:
                return None
            self._online[member.key] = member
            upto = self._delivered
            online = sorted((p.name for p in self._online.values()), key=str.casefold)
            others = [p for p in self._online.values() if p is not member]
            self.fanout.send(_fan_items(others, {"type": "joined", "name": member.name},
                                        about=member))
        log.info("chat: %s logged in from %s (via %s)", member.name, member.where, member.via)
        return online, upto

    def remove_member(self, member) -> None:
        """Take a member of another front end out of the online set (``left``)."""
        self._go_offline(member)

    def submit_say(self, member, text: str, to: str | None = None) -> str | None:
        """A ``say`` from a member of another front end: the same budgets, the
        same writer (one id order, stored before delivery). None when accepted,
        else the chat error code (``rate_limited``, ``bad_text``, ``no_such_user``)."""
        if not self.says.take(*self._bucket_keys(member)):
            return "rate_limited"
        if not 1 <= len(text) <= TEXT_MAX:
            return "bad_text"
        target = None
        if to is not None:
            with self._hub:
                target = self._online.get(name_key(canonical(to)))
            if target is None:
                return "no_such_user"
        self.writer.submit(Pending(member, member.name, text, target.name if target else None))
        return None

    def member(self, name: str):
        """Who is online under ``name`` (a chat peer or another front end's member)."""
        with self._hub:
            return self._online.get(name_key(canonical(name)))

    def members(self) -> list:
        """Everyone online, in no particular order."""
        with self._hub:
            return list(self._online.values())

    def history_for(self, name: str, limit: int, upto: int) -> list[dict]:
        """The newest ``limit`` messages ``name`` may read with ids up to ``upto``."""
        return self.history.page(limit, upto + 1, name, self.budgets.page_bytes)

    def _may_register(self, peer: Peer) -> str | None:
        if peer.trusted:
            return None
        if self.registrations.reached(peer.addr_key):
            return "registration_limited"
        if self.registrations.add(peer.addr_key):  # logged once, when it is reached
            log.warning("chat: %s made %d accounts this hour; refusing more for now",
                        peer.where, self.budgets.registrations_per_hour)
        return None

    def _on_resume(self, peer: Peer, msg: dict) -> bool:
        if peer.name is not None:
            self._error(peer, "already_logged_in", f"already logged in as {peer.name}")
            return True
        if self._plain_refused(peer):
            return True
        token = text_field(msg, "token")
        key = peer.addr_key
        if self.failures.reached(key):
            return self._too_many(peer, None)
        name = self.accounts.token_user(token) if len(token) <= TOKEN_MAX else None
        if name is not None and self._is_online(name):  # before any write
            self._error(peer, "name_in_use", f"{name} is online on another connection")
            return True
        if name is None or not self.accounts.seen(name, peer.ip):
            log.warning("chat: failed resume from %s (bad or expired token)", peer.where)
            if self.failures.add(key):
                return self._too_many(peer, None)
            self._error(peer, "bad_token", "that session token is unknown or expired")
            return True
        return self._enter(peer, name, False, token)

    def _too_many(self, peer: Peer, name: str | None) -> bool:
        log.warning("chat: too many failed logins (%s from %s); closing", name or "token",
                    peer.where)
        self._error(peer, "too_many_attempts", "too many failed attempts; wait a minute")
        return False

    def _is_online(self, name: str) -> bool:
        with self._hub:
            return name_key(name) in self._online

    def _enter(self, peer: Peer, name: str, new_account: bool, token: str | None = None
               ) -> bool:
        key = name_key(name)
        with self._hub:
            if key in self._online:
                self._error(peer, "name_in_use", f"{name} is online on another connection")
                return True
            peer.name, peer.key = name, key
            peer.hold()
            self._online[key] = peer
            upto = self._delivered
            online = sorted((p.name for p in self._online.values()), key=str.casefold)
            self.fanout.send(_fan_items([p for p in self._online.values() if p is not peer],
                                        {"type": "joined", "name": name}, about=peer))
        # Outside the hub: the disk may be slow. Deliveries after ``upto``
        # wait in ``held`` and follow the welcome.
        try:
            token = token or self.accounts.new_token(name)
            history = self.history.page(self.options.welcome_history, upto + 1, name,
                                        self.budgets.page_bytes)
        except sqlite3.Error as e:
            log.error("chat: cannot log %s in: %s", name, e)
            self._go_offline(peer)
            peer.name = peer.key = None
            peer.release(encode({"type": "error", "code": "server_error",
                                 "message": "the server could not store the session"}))
            return True
        peer.token = token
        peer.release(encode({"type": "welcome", "name": name, "token": token,
                             "new_account": new_account, "online": online,
                             "history": history}))
        log.info("chat: %s logged in from %s%s", name, peer.where,
                 " (new account)" if new_account else "")
        return True

    def _leave(self, peer: Peer) -> None:
        with self._hub:
            self._peers.discard(peer)
        self._go_offline(peer)
        self.flusher.discard(peer)

    def _go_offline(self, peer: Peer) -> None:
        with self._hub:
            if peer.key is not None and self._online.get(peer.key) is peer:
                del self._online[peer.key]
                self.fanout.send(_fan_items(list(self._online.values()),
                                            {"type": "left", "name": peer.name}, about=peer))
                log.info("chat: %s left (%s)", peer.name, peer.where)

    # -- after welcome ------------------------------------------------------------------
    def _on_say(self, peer: Peer, msg: dict) -> bool:
        if peer.name is None:
            self._error(peer, "not_logged_in", "log in first")
            return True
        text, to = text_field(msg, "text"), text_field(msg, "to", required=False)
        if not self.says.take(*self._bucket_keys(peer)):
            self._error(peer, "rate_limited", "too many messages; slow down")
            return True
        if not 1 <= len(text) <= TEXT_MAX:
            self._error(peer, "bad_text", f"a message is 1 to {TEXT_MAX} characters")
            return True
        target = None
        if to is not None:
            with self._hub:
                target = self._online.get(name_key(canonical(to)))
            if target is None:
                self._error(peer, "no_such_user", f"{to[:40]} is not online")
                return True
        self.writer.submit(Pending(peer, peer.name, text, target.name if target else None))
        return True

    def _bucket_keys(self, peer: Peer) -> tuple[str, ...]:
        """The account's bucket, and the address's unless it is trusted."""
        return (f"acct:{peer.key}",) if peer.trusted else (f"acct:{peer.key}", peer.addr_key)

    def _deliver(self, batch: list[tuple[Pending, dict]]) -> None:
        """The writer stored ``batch``: hand each message to its recipients."""
        frames = [encode(message) for _, message in batch]  # outside the hub
        with self._hub:
            everyone = list(self._online.values())
            work = []
            for (pending, message), data in zip(batch, frames, strict=True):
                sender = pending.sender
                to = message.get("to")
                if to is None:
                    work += _fan_items(everyone, message, data)
                else:
                    target = self._online.get(name_key(to))
                    work += _fan_items([sender] if target in (None, sender)
                                       else [sender, target], message, data)
                sender.messages += 1
            self.fanout.send(work)
            self._delivered = batch[-1][1]["id"]
            self.accepted += len(batch)

    def _refuse(self, batch: list[Pending], reason: str) -> None:
        """The writer could not store ``batch``: nobody gets it; the senders hear why."""
        data = encode({"type": "error", "code": "server_error",
                       "message": "the server could not store that message; it was not sent"})
        for pending in batch:
            if pending.sender.via == "chat":
                pending.sender.send(data)
            else:
                pending.sender.send({"type": "error", "code": "server_error"})

    def _on_history(self, peer: Peer, msg: dict) -> bool:
        if peer.name is None:
            self._error(peer, "not_logged_in", "log in first")
            return True
        before = int_field(msg, "before", None)
        limit = int_field(msg, "limit", HISTORY_DEFAULT)
        if limit < 1:
            raise BadRequest("'limit' must be at least 1")
        if not self.history_requests.take(*self._bucket_keys(peer)):
            self._error(peer, "rate_limited", "too many history requests; slow down")
            return True
        page = self.history.page(min(limit, HISTORY_MAX), before, peer.name,
                                 self.budgets.page_bytes)
        peer.send(encode({"type": "history", "messages": page}))
        return True

    def _on_ping(self, peer: Peer, msg: dict) -> bool:
        peer.send(PONG)
        return True

    def _on_pong(self, peer: Peer, msg: dict) -> bool:
        return True

    def _on_logout(self, peer: Peer, msg: dict) -> bool:
        if peer.token is not None:
            self.accounts.revoke(peer.token)
        peer.send(encode({"type": "bye"}))
        return False


_HANDLERS = {
    "login": ChatServer._on_login,
    "resume": ChatServer._on_resume,
    "say": ChatServer._on_say,
    "history": ChatServer._on_history,
    "ping": ChatServer._on_ping,
    "pong": ChatServer._on_pong,
    "logout": ChatServer._on_logout,
}

_REFUSALS = {
    "name_too_similar": "that name looks too much like an existing one; choose another",
    "registration_limited": "too many new accounts from your address lately; try later",
}


def _fan_items(recipients: list, message: dict, data: bytes | None = None,
               about: object = None) -> list[tuple]:
    """FanOut items for one message: chat peers get its frame (``data`` if
    already encoded), members of other front ends the dict itself, which they
    render in their own protocol (for ``joined``/``left``, with ``via``: the
    front end of ``about``, whom it is about). Each recipient is in one
    item, so the order of its deliveries is kept."""
    chat = [r for r in recipients if r.via == "chat"]
    other = [r for r in recipients if r.via != "chat"] if len(chat) < len(recipients) else []
    items: list[tuple] = []
    if chat:
        items.append((chat, encode(message) if data is None else data))
    if other:
        items.append((other, message if about is None else {**message, "via": about.via}))
    return items


def _refuse_connection(sock: socket.socket, why: str) -> None:
    """The listener refused this connection: say so in the protocol, then it closes."""
    sock.setblocking(False)
    sock.send(encode({"type": "error", "code": "too_many_connections", "message": why}))
