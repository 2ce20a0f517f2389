"""One chat connection (PROTOCOL.md section 2): its member, read loop and requests.

The counterpart of ``net.irc.session``: ``ChatPort`` runs on its
connection's thread, reads frames (bounded by the login deadline, the idle
ping and close, and the address's frame rate) and answers each request;
``Peer`` is the connection as a member of the online set, with its send
queue (``net.outbox``). Logins, says and history go through the server's
shared paths, the same ones the IRC gateway uses.
"""

from __future__ import annotations

import logging
import socket
import sqlite3
import time
from typing import TYPE_CHECKING

from net import SERVER_NAME
from net.budgets import address_key
from net.chat.admission import Admission, member_buckets
from net.chat.framing import FrameError, FrameReader, encode
from net.chat.hashing import HashQueueClosed
from net.chat.member import Delivery
from net.chat.protocol import HISTORY_DEFAULT, HISTORY_MAX, PROTO_VERSION, TEXT_MAX, name_key
from net.listener import format_address
from net.outbox import Outbox

if TYPE_CHECKING:  # the server module stands on this one
    from net.chat.server import ChatServer

log = logging.getLogger("netdesk.chat")

PING = encode({"type": "ping"})
PONG = encode({"type": "pong"})
BYE_SHUTDOWN = encode({"type": "bye", "reason": "shutdown"})
MAX_SAFE_INT = 2**53
SAY_REFUSALS = {
    "rate_limited": "too many messages; slow down",
    "bad_text": f"a message is 1 to {TEXT_MAX} characters",
}


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
    """One chat connection as a member: its identity, and (``Outbox``) its send queue."""

    via = "chat"
    away = None  # a chat window has no away message
    in_room = True  # a chat window always sees the room
    # How a chat window's user looks on IRC.
    user = "chat"
    host = "netdesk"
    realname = "netdesk chat window"
    server_info = "netdesk"

    def __init__(self, server: ChatServer, sock: socket.socket, addr: tuple):
        super().__init__(sock, server.budgets.backlog_limit, server.flusher, log, "chat")
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
        self.shard = server.hub.fanout.shard()  # its fan-out thread, for good

    @property
    def account(self) -> str | None:
        return self.name  # every chat login is an account's

    def describe(self) -> str:
        return f"{self.name or '-'} ({self.where})"

    def deliver(self, item: Delivery) -> None:
        self.send(item.frame)

    def deliver_many(self, items: list[Delivery]) -> None:
        self.send(b"".join(item.frame for item in items))  # one write for the batch

    def kick(self, reason: str) -> None:
        self.say_bye(encode({"type": "bye", "reason": "kicked"}))
        self.kill(reason)

    def error(self, code: str, message: str) -> None:
        self.send(encode({"type": "error", "code": code, "message": message}))

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


class ChatPort:
    """The thread of one chat connection, from ``hello`` to its end."""

    def __init__(self, server: ChatServer, peer: Peer):
        self.server = server
        self.peer = peer

    def run(self) -> None:
        server, peer = self.server, self.peer
        server.hub.connected(peer)
        try:
            if server.stopping:
                peer.send(BYE_SHUTDOWN)
                return
            try:
                known = server.accounts.known_name(peer.ip)
            except sqlite3.Error as e:
                log.error("chat: identification file error serving %s: %s", peer.where, e)
                known = None
            peer.send(encode({"type": "hello", "proto": PROTO_VERSION, "server": SERVER_NAME,
                              "known_name": known, "tls": peer.tls is not None,
                              "tls_required": server.require_tls}))
            self._read_loop(FrameReader(peer.sock, server.budgets.max_payload, peer.recv))
        finally:
            server.hub.disconnected(peer)
            self._go_offline()
            server.flusher.discard(peer)
            peer.close_gracefully()

    def _read_loop(self, reader: FrameReader) -> None:
        b, peer = self.server.budgets, self.peer
        last_heard = time.monotonic()
        pinged = False
        while True:
            now = time.monotonic()
            if peer.name is None and now - peer.connected >= b.login_deadline:
                log.info("chat: %s did not log in within %g s, closing", peer.where,
                         b.login_deadline)
                peer.error("login_timeout", f"log in within {b.login_deadline:g} s of connecting")
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
                peer.error("bad_frame", str(e))
                return
            except OSError:
                return
            if msg is None:
                return
            last_heard, pinged = time.monotonic(), False
            if not self.server.admissions.throttle(peer, self.server.wait_stopping) \
                    or not self._dispatch(msg):
                return

    def _dispatch(self, msg: dict) -> bool:
        """Handle one message; False closes the connection."""
        peer = self.peer
        kind = msg.get("type")
        handler = _HANDLERS.get(kind) if isinstance(kind, str) else None
        if handler is None:
            shown = repr(kind[:40]) if isinstance(kind, str) and _utf8_ok(kind) else "that"
            peer.error("unknown_type", f"unknown message type {shown}"
                       if isinstance(kind, str) else "every message needs a string 'type'")
            return True
        try:
            return handler(self, msg)
        except BadRequest as e:
            peer.error("bad_request", str(e))
            return True
        except sqlite3.Error as e:
            log.error("chat: data file error serving %s (%s): %s", peer.name or "-",
                      peer.where, e)
            peer.error("server_error", "the server could not store that; try later")
            return True
        except HashQueueClosed:
            return False

    # -- login ----------------------------------------------------------------------------
    def _may_log_in(self) -> bool:
        """Not logged in yet, and (with TLS required) over TLS: a plain login or
        resume is refused before anything is checked, so the password it
        carried is never looked at."""
        peer = self.peer
        if peer.name is not None:
            peer.error("already_logged_in", f"already logged in as {peer.name}")
            return False
        if self.server.require_tls and peer.tls is None:
            peer.error("tls_required", "this server accepts logins only over TLS")
            return False
        return True

    def _on_login(self, msg: dict) -> bool:
        if not self._may_log_in():
            return True
        raw, password = text_field(msg, "name"), text_field(msg, "password")
        return self._admit(self.server.admissions.check_login(self.peer, raw, password))

    def _on_resume(self, msg: dict) -> bool:
        if not self._may_log_in():
            return True
        token = text_field(msg, "token")
        return self._admit(self.server.admissions.check_resume(self.peer, token), token)

    def _admit(self, result: Admission, token: str | None = None) -> bool:
        """Enter the online set as ``result`` allows, or say why not;
        False (close) after too many failures."""
        peer = self.peer
        if result.code == "too_many_attempts":
            log.warning("chat: too many failed logins (%s from %s); closing",
                        result.name or "token", peer.where)
            peer.error("too_many_attempts", result.message)
            return False
        if result.code is not None:
            peer.error(result.code, result.message)
            return True
        name = result.name
        peer.hold()  # deliveries after the welcome's history wait for it
        peer.name, peer.key = name, name_key(name)
        entry = self.server.enter(peer)
        if entry is None:
            peer.name = peer.key = None
            peer.release(encode({"type": "error", "code": "name_in_use",
                                 "message": f"{name} is online on another connection"}))
            return True
        # Outside the hub: the disk may be slow. Deliveries after ``upto``
        # wait in ``held`` and follow the welcome.
        try:
            token = token or self.server.accounts.new_token(name)
            history = self.server.history_for(name, self.server.options.welcome_history,
                                              entry.upto)
        except sqlite3.Error as e:
            log.error("chat: cannot log %s in: %s", name, e)
            self._go_offline()
            peer.name = peer.key = None
            peer.release(encode({"type": "error", "code": "server_error",
                                 "message": "the server could not store the session"}))
            return True
        peer.token = token
        peer.release(encode({"type": "welcome", "name": name, "token": token,
                             "new_account": result.new_account, "online": entry.online,
                             "history": history}))
        log.info("chat: %s logged in from %s%s", name, peer.where,
                 " (new account)" if result.new_account else "")
        return True

    def _go_offline(self) -> None:
        self.server.leave(self.peer)

    # -- after welcome ------------------------------------------------------------------
    def _logged_in(self) -> bool:
        if self.peer.name is None:
            self.peer.error("not_logged_in", "log in first")
            return False
        return True

    def _on_say(self, msg: dict) -> bool:
        if not self._logged_in():
            return True
        text, to = text_field(msg, "text"), text_field(msg, "to", required=False)
        code = self.server.say(self.peer, text, to)
        if code == "no_such_user":
            self.peer.error(code, f"{to[:40]} is not online")
        elif code is not None:
            self.peer.error(code, SAY_REFUSALS[code])
        return True

    def _on_history(self, msg: dict) -> bool:
        if not self._logged_in():
            return True
        peer = self.peer
        before = int_field(msg, "before", None)
        limit = int_field(msg, "limit", HISTORY_DEFAULT)
        if limit < 1:
            raise BadRequest("'limit' must be at least 1")
        if not self.server.history_requests.take(*member_buckets(peer)):
            peer.error("rate_limited", "too many history requests; slow down")
            return True
        page = self.server.history.page(min(limit, HISTORY_MAX), before, peer.name,
                                        self.server.budgets.page_bytes)
        peer.send(encode({"type": "history", "messages": page}))
        return True

    def _on_ping(self, msg: dict) -> bool:
        self.peer.send(PONG)
        return True

    def _on_pong(self, msg: dict) -> bool:
        return True

    def _on_logout(self, msg: dict) -> bool:
        if self.peer.token is not None:
            self.server.accounts.revoke(self.peer.token)
        self.peer.send(encode({"type": "bye"}))
        return False


_HANDLERS = {
    "login": ChatPort._on_login,
    "resume": ChatPort._on_resume,
    "say": ChatPort._on_say,
    "history": ChatPort._on_history,
    "ping": ChatPort._on_ping,
    "pong": ChatPort._on_pong,
    "logout": ChatPort._on_logout,
}
