"""The chat service (PROTOCOL.md section 2) on the identification server.

One reading thread per client, as the lab asks. One lock, the hub, gives
every message its id, stores it and hands it to every recipient in one
step, so ids follow the order messages were accepted and every client
receives them in that order. Handing over never blocks: a send that the
kernel can't take at once is queued on that client, a single flusher
thread drains the queues, and a client whose queue passes the backlog
limit or stops moving for ``stall_timeout`` is disconnected. So a slow or
stalled client never delays the others.
"""

from __future__ import annotations

import logging
import socket
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from net import SERVER_NAME
from net.chat.accounts import Accounts, AttemptLimiter, BadPassword
from net.chat.framing import FrameError, FrameReader, encode
from net.chat.history import HistoryStore
from net.chat.protocol import (
    DEFAULT_PORT,
    HISTORY_DEFAULT,
    HISTORY_MAX,
    MAX_PAYLOAD,
    NAME_RULE,
    PASSWORD_MAX,
    PROTO_VERSION,
    TEXT_MAX,
    TOKEN_MAX,
    name_key,
    valid_name,
    valid_password,
)
from net.listener import Listener, format_address
from net.sockutil import ready, shutdown, wait_readable

log = logging.getLogger("netdesk.chat")

USERS_FILE = "users.db"
HISTORY_FILE = "history.db"
PING = encode({"type": "ping"})
PONG = encode({"type": "pong"})


@dataclass
class ChatOptions:
    max_payload: int = MAX_PAYLOAD
    welcome_history: int = 100
    retention: int = 100_000
    flood_burst: int = 200
    flood_rate: float = 20.0  # says a second, refilling the burst
    backlog_limit: int = 1 << 20
    stall_timeout: float = 10.0
    ping_after: float = 90.0
    idle_close: float = 150.0
    token_ttl: float = 7 * 24 * 3600
    port_tries: int = 20


def _utf8_ok(value: str) -> bool:
    """JSON may carry lone surrogates, which no UTF-8 frame can hold."""
    try:
        value.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Peer:
    """One client connection: its identity, its send queue, its flood bucket."""

    def __init__(self, server: ChatServer, sock: socket.socket, addr: tuple):
        self.server = server
        self.sock = sock
        self.ip = addr[0]
        self.where = format_address(addr)
        self.name: str | None = None
        self.key: str | None = None
        self.since = time.time()
        self.messages = 0
        self.lock = threading.Lock()  # the send queue and the socket's life
        self.backlog = bytearray()
        self.allowance = 0  # a big direct reply (welcome, history) may exceed the limit
        self.last_progress = time.monotonic()
        self.closed = False
        self.killed = False
        self.tokens = float(server.options.flood_burst)
        self.refilled = time.monotonic()

    def send(self, data: bytes, reply: bool = False) -> None:
        """Queue ``data`` without ever blocking; the kernel takes what it can now."""
        with self.lock:
            if self.closed:
                return
            if not self.backlog:
                try:
                    sent = self.sock.send(data)
                except (BlockingIOError, InterruptedError):
                    sent = 0
                except OSError:
                    self._kill_locked(None)
                    return
                if sent == len(data):
                    return
                self.backlog += data[sent:]
                self.last_progress = time.monotonic()
                if reply:
                    self.allowance = max(self.allowance, len(self.backlog))
                self.server._want_flush(self)
            else:
                self.backlog += data
                if reply:
                    self.allowance = max(self.allowance, len(self.backlog))
            if len(self.backlog) > self.server.options.backlog_limit + self.allowance:
                self._kill_locked("its unsent backlog passed "
                                  f"{self.server.options.backlog_limit} bytes")

    def flush(self) -> bool:
        """Send what the kernel takes now; True when nothing is left."""
        with self.lock:
            if self.closed or not self.backlog:
                self.backlog.clear()
                return True
            try:
                sent = self.sock.send(self.backlog)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                self._kill_locked(None)
                return True
            if sent:
                del self.backlog[:sent]
                self.last_progress = time.monotonic()
            if not self.backlog:
                self.allowance = 0
            return not self.backlog

    def stalled(self, limit: float) -> bool:
        with self.lock:
            return bool(self.backlog) and time.monotonic() - self.last_progress > limit

    def kill(self, reason: str | None) -> None:
        with self.lock:
            self._kill_locked(reason)

    def _kill_locked(self, reason: str | None) -> None:
        """End the connection: its reading thread wakes and cleans up."""
        if self.closed or self.killed:
            return
        self.killed = True
        if reason:
            log.warning("chat: disconnecting %s (%s): %s", self.name or "-", self.where, reason)
        self.backlog.clear()
        shutdown(self.sock)

    def close(self) -> None:
        with self.lock:
            self.closed = True
            self.backlog.clear()
            self.sock.close()

    def take_token(self) -> bool:
        opts = self.server.options
        now = time.monotonic()
        self.tokens = min(float(opts.flood_burst),
                          self.tokens + (now - self.refilled) * opts.flood_rate)
        self.refilled = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class ChatServer:
    def __init__(self, data_dir: Path, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                 options: ChatOptions | None = None):
        self.options = options or ChatOptions()
        self.data_dir = Path(data_dir)
        self.listener = Listener("chat", host, port, self._serve, logger=log,
                                 port_tries=self.options.port_tries)
        self.accounts: Accounts | None = None
        self.history: HistoryStore | None = None
        self.limiter = AttemptLimiter()
        self._hub = threading.Lock()  # ids, history, the online set and fan-out
        self._online: dict[str, Peer] = {}
        self._peers: set[Peer] = set()
        self._next_id = 1
        self.accepted = 0
        self._flush_lock = threading.Lock()
        self._backlogged: set[Peer] = set()
        self._flush_wake = threading.Event()
        self._stopping = threading.Event()
        self._flusher: threading.Thread | None = None

    # -- life cycle ---------------------------------------------------------------
    def start(self) -> tuple[str, int]:
        self.accounts = Accounts(self.data_dir / USERS_FILE, self.options.token_ttl)
        self.history = HistoryStore(self.data_dir / HISTORY_FILE, self.options.retention)
        self._next_id = self.history.last_id() + 1
        self._flusher = threading.Thread(target=self._flush_loop, name="chat-flusher",
                                         daemon=True)
        self._flusher.start()
        try:
            return self.listener.start()
        except BaseException:
            self._stop_flusher()
            self._close_stores()
            raise

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
            peer.send(bye, reply=True)
        self.listener.stop()
        self._stop_flusher()
        self._close_stores()

    def _stop_flusher(self) -> None:
        self._stopping.set()
        self._flush_wake.set()
        if self._flusher is not None:
            self._flusher.join()
            self._flusher = None

    def _close_stores(self) -> None:
        for store in (self.accounts, self.history):
            if store is not None:
                store.close()

    # -- queries for the controller --------------------------------------------------------
    def clients(self) -> list[dict]:
        with self._hub:
            peers = sorted(self._peers, key=lambda p: p.since)
        return [{"name": p.name, "address": p.where, "since": p.since, "messages": p.messages}
                for p in peers]

    def online_names(self) -> list[str]:
        with self._hub:
            return sorted((p.name for p in self._online.values()), key=str.casefold)

    def kick(self, name: str) -> bool:
        with self._hub:
            peer = self._online.get(name_key(name))
        if peer is None:
            return False
        peer.send(encode({"type": "bye", "reason": "kicked"}), reply=True)
        peer.kill(f"kicked by the operator ({name})")
        return True

    def clear_users(self) -> int:
        count = self.accounts.clear()
        log.warning("chat: identification file cleared (%d account(s)); "
                    "sessions online now go on", count)
        return count

    # -- the flusher -----------------------------------------------------------------
    def _want_flush(self, peer: Peer) -> None:
        with self._flush_lock:
            self._backlogged.add(peer)
        self._flush_wake.set()

    def _flush_loop(self) -> None:
        while not self._stopping.is_set():
            self._flush_wake.clear()
            with self._flush_lock:
                peers = list(self._backlogged)
            if not peers:
                self._flush_wake.wait(1.0)
                continue
            for peer in _writable(peers, 0.1):
                if peer.flush():
                    with self._flush_lock:
                        self._backlogged.discard(peer)
            for peer in peers:
                if peer.stalled(self.options.stall_timeout):
                    peer.kill(f"its writes stalled for {self.options.stall_timeout:g} s")
                    with self._flush_lock:
                        self._backlogged.discard(peer)

    # -- one connection --------------------------------------------------------------------
    def _serve(self, sock: socket.socket, addr: tuple) -> None:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        peer = Peer(self, sock, addr)
        with self._hub:
            self._peers.add(peer)
        try:
            if self._stopping.is_set():
                peer.send(encode({"type": "bye", "reason": "shutdown"}))
                return
            peer.send(encode({"type": "hello", "proto": PROTO_VERSION, "server": SERVER_NAME,
                              "known_name": self.accounts.known_name(peer.ip)}))
            self._read_loop(peer, FrameReader(sock, self.options.max_payload))
        except sqlite3.Error as e:
            log.error("chat: identification file error serving %s: %s", peer.where, e)
        finally:
            self._leave(peer)
            _drain_and_close(peer)

    def _read_loop(self, peer: Peer, reader: FrameReader) -> None:
        opts = self.options
        last_heard = time.monotonic()
        pinged = False
        while True:
            idle = time.monotonic() - last_heard
            if idle >= opts.idle_close:
                log.info("chat: %s (%s) silent for %.0f s, closing", peer.name or "-",
                         peer.where, idle)
                return
            if idle >= opts.ping_after and not pinged:
                peer.send(PING)
                pinged = True
            wait = (opts.idle_close if pinged else opts.ping_after) - idle
            try:
                msg = reader.read(max(wait, 0.01))
            except TimeoutError:
                continue
            except FrameError as e:
                log.warning("chat: bad frame from %s: %s", peer.where, e)
                peer.send(encode({"type": "error", "code": "bad_frame", "message": str(e)}))
                return
            except OSError:
                return
            if msg is None:
                return
            last_heard, pinged = time.monotonic(), False
            if not self._dispatch(peer, msg):
                return

    def _error(self, peer: Peer, code: str, message: str) -> None:
        peer.send(encode({"type": "error", "code": code, "message": message}))

    def _dispatch(self, peer: Peer, msg: dict) -> bool:
        """Handle one message; False closes the connection."""
        kind = msg.get("type")
        handler = _HANDLERS.get(kind) if isinstance(kind, str) else None
        if handler is None:
            self._error(peer, "unknown_type", f"unknown message type {kind!r}"
                        if isinstance(kind, str) else "every message needs a string 'type'")
            return True
        return handler(self, peer, msg)

    # -- login ----------------------------------------------------------------------------
    def _on_login(self, peer: Peer, msg: dict) -> bool:
        if peer.name is not None:
            self._error(peer, "already_logged_in", f"already logged in as {peer.name}")
            return True
        name, password = msg.get("name"), msg.get("password")
        if not isinstance(name, str) or not isinstance(password, str) \
                or not _utf8_ok(name) or not _utf8_ok(password):
            self._error(peer, "bad_request", "login needs a string 'name' and 'password'")
            return True
        keys = (f"name:{name_key(name)}", f"addr:{peer.ip}")
        if self.limiter.blocked(*keys):
            return self._too_many(peer, name)
        if not valid_name(name):
            self._error(peer, "bad_name", NAME_RULE)
            return True
        if not valid_password(password):
            self._error(peer, "bad_request", f"a password is 1 to {PASSWORD_MAX} characters")
            return True
        if self._is_online(name):
            self._error(peer, "name_in_use", f"{name} is online on another connection")
            return True
        try:
            login = self.accounts.login(name, password, peer.ip)
        except BadPassword:
            log.warning("chat: failed login for %r from %s (bad password)", name, peer.where)
            if self.limiter.fail(*keys):
                return self._too_many(peer, name)
            self._error(peer, "bad_password", "wrong password for that name")
            return True
        self.limiter.succeed(keys[0])
        token = self.accounts.new_token(login.name)
        return self._enter(peer, login.name, token, login.new_account)

    def _on_resume(self, peer: Peer, msg: dict) -> bool:
        if peer.name is not None:
            self._error(peer, "already_logged_in", f"already logged in as {peer.name}")
            return True
        token = msg.get("token")
        if not isinstance(token, str) or not _utf8_ok(token):
            self._error(peer, "bad_request", "resume needs a string 'token'")
            return True
        key = f"addr:{peer.ip}"
        if self.limiter.blocked(key):
            return self._too_many(peer, None)
        name = self.accounts.resume(token, peer.ip) if len(token) <= TOKEN_MAX else None
        if name is None:
            log.warning("chat: failed resume from %s (bad or expired token)", peer.where)
            if self.limiter.fail(key):
                return self._too_many(peer, None)
            self._error(peer, "bad_token", "that session token is unknown or expired")
            return True
        if self._is_online(name):
            self._error(peer, "name_in_use", f"{name} is online on another connection")
            return True
        return self._enter(peer, name, token, False)

    def _too_many(self, peer: Peer, name: str | None) -> bool:
        log.warning("chat: too many failed logins (%s from %s); closing", name or "token",
                    peer.where)
        self._error(peer, "too_many_attempts", "too many failed attempts; wait a minute")
        return False

    def _is_online(self, name: str) -> bool:
        with self._hub:
            return name_key(name) in self._online

    def _enter(self, peer: Peer, name: str, token: str, new_account: bool) -> bool:
        key = name_key(name)
        with self._hub:
            if key in self._online:  # lost a race with another connection
                self._error(peer, "name_in_use", f"{name} is online on another connection")
                return True
            peer.name, peer.key = name, key
            self._online[key] = peer
            online = sorted((p.name for p in self._online.values()), key=str.casefold)
            history = self.history.page(self.options.welcome_history)
            peer.send(encode({"type": "welcome", "name": name, "token": token,
                              "new_account": new_account, "online": online,
                              "history": history}), reply=True)
            joined = encode({"type": "joined", "name": name})
            for other in self._online.values():
                if other is not peer:
                    other.send(joined)
        log.info("chat: %s logged in from %s%s", name, peer.where,
                 " (new account)" if new_account else "")
        return True

    def _leave(self, peer: Peer) -> None:
        with self._hub:
            self._peers.discard(peer)
            if peer.key is not None and self._online.get(peer.key) is peer:
                del self._online[peer.key]
                left = encode({"type": "left", "name": peer.name})
                for other in self._online.values():
                    other.send(left)
                log.info("chat: %s left (%s)", peer.name, peer.where)
        with self._flush_lock:
            self._backlogged.discard(peer)

    # -- after welcome ------------------------------------------------------------------
    def _on_say(self, peer: Peer, msg: dict) -> bool:
        if peer.name is None:
            self._error(peer, "not_logged_in", "log in first")
            return True
        text, to = msg.get("text"), msg.get("to")
        if not isinstance(text, str) or (to is not None and not isinstance(to, str)):
            self._error(peer, "bad_request", "say needs a string 'text' (and 'to', if any)")
            return True
        if not peer.take_token():
            self._error(peer, "rate_limited", "too many messages; slow down")
            return True
        if not 1 <= len(text) <= TEXT_MAX or not _utf8_ok(text):
            self._error(peer, "bad_text", f"a message is 1 to {TEXT_MAX} characters")
            return True
        with self._hub:
            target = None
            if to is not None:
                target = self._online.get(name_key(to))
                if target is None:
                    self._error(peer, "no_such_user", f"{to} is not online")
                    return True
            message = {"type": "message", "id": self._next_id, "from": peer.name,
                       "text": text, "ts": now_iso()}
            if target is not None:
                message["to"] = target.name
            self._next_id += 1
            try:
                self.history.append(message)
            except sqlite3.Error as e:  # a full disk: deliver anyway, say so in the log
                log.error("chat: message %d not saved to history: %s", message["id"], e)
            data = encode(message)
            if target is not None:
                peer.send(data)
                if target is not peer:
                    target.send(data)
            else:
                for other in self._online.values():
                    other.send(data)
            self.accepted += 1
            peer.messages += 1
        return True

    def _on_history(self, peer: Peer, msg: dict) -> bool:
        if peer.name is None:
            self._error(peer, "not_logged_in", "log in first")
            return True
        before, limit = msg.get("before"), msg.get("limit", HISTORY_DEFAULT)
        if (before is not None and not _is_int(before)) or not _is_int(limit) or limit < 1:
            self._error(peer, "bad_request", "history takes an integer 'before' and 'limit' >= 1")
            return True
        page = self.history.page(min(limit, HISTORY_MAX), before)
        peer.send(encode({"type": "history", "messages": page}), reply=True)
        return True

    def _on_ping(self, peer: Peer, msg: dict) -> bool:
        peer.send(PONG)
        return True

    def _on_pong(self, peer: Peer, msg: dict) -> bool:
        return True

    def _on_logout(self, peer: Peer, msg: dict) -> bool:
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


def _writable(peers: list[Peer], timeout: float) -> list[Peer]:
    """The peers whose sockets can take data now."""
    by_sock = {peer.sock: peer for peer in peers}
    return [by_sock[s] for s in ready(list(by_sock), True, timeout)]


def _drain_and_close(peer: Peer, limit: int = 1 << 20, seconds: float = 0.5) -> None:
    """Close so that what we sent last (an error, a bye) reaches the client.

    Closing with unread input makes the kernel send a reset, which can
    destroy our last frame before the client reads it; so flush, send FIN,
    then read and discard (bounded in bytes and time) until the client closes.
    """
    deadline = time.monotonic() + seconds
    while not peer.flush() and time.monotonic() < deadline:
        _writable([peer], 0.05)
    try:
        peer.sock.shutdown(socket.SHUT_WR)
        drained = 0
        while drained < limit and wait_readable(peer.sock, max(0.0, deadline - time.monotonic())):
            data = peer.sock.recv(65536)
            if not data:
                break
            drained += len(data)
    except OSError:
        pass
    peer.close()
