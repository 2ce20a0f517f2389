"""One IRC client: its connection's life, and the chat rendered as IRC.

A ``Session`` runs on its connection's thread: it reads lines (bounded by
the budgets of ``net.budgets``: the login deadline, idle ping and close, the
per-address line rate), registers the client against netdesk's accounts
(``PASS`` or SASL ``PLAIN``; a new name registers, as the chat's ``login``
does; ``net.irc.registration``) and answers its commands (``net.irc.room``).
Once registered it is a member of the chat server's online set: fan-out
threads hand it the chat's messages, joins and leaves as plain dicts
(``send``), which it renders as IRC lines for this client's capabilities.
What it says goes through the chat server's writer: one id order and one
history for both ports.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from typing import TYPE_CHECKING

from net.budgets import address_key
from net.chat.hashing import HashQueueClosed
from net.chat.member import Delivery
from net.chat.protocol import name_key
from net.irc import numerics as N
from net.irc.channel import Channel, chat_prefix
from net.irc.lines import LineSplitter, LineTooLong, Message, line, parse, split_text
from net.irc.link import Link
from net.irc.registration import Registration
from net.irc.room import Room
from net.listener import format_address

if TYPE_CHECKING:
    from net.chat.server import ChatServer

log = logging.getLogger("netdesk.irc")


class Session(Registration, Room):
    """One IRC connection, and (once registered) a member of the chat's
    online set (``net.chat.member.Member``)."""

    via = "irc"
    server_info = "netdesk IRC gateway"

    def __init__(self, channel: Channel, chat: ChatServer, link: Link, addr: tuple):
        self.channel = channel
        self.chat = chat
        self.options = channel.options
        self.link = link
        self.ip = addr[0]
        self.where = format_address(addr)
        self.addr_key = f"addr:{address_key(self.ip)}"  # the chat port's key: counted once
        self.trusted = channel.budgets.is_trusted(self.ip)
        self.host = self.ip.replace(":", "-") if ":" in self.ip else self.ip
        self.since = time.time()
        self.connected = time.monotonic()
        self.messages = 0
        # Set once, at registration; read by fan-out threads after that.
        self.name: str | None = None
        self.key: str | None = None
        self.shard = 0
        self.caps: set[str] = set()
        self.in_channel = False
        self.account: str | None = None  # None for a guest
        self.away: str | None = None
        self.umodes: frozenset[str] = frozenset()  # user modes (net.irc.umodes), its own
        self.realname = ""
        # Registration state (the connection's thread only).
        self.nick: str | None = None
        self.user: str | None = None
        self.password: str | None = None
        self.sasl_account: str | None = None
        self.sasl_buffer: str | None = None  # base64 gathered for PLAIN, while it runs
        self.cap_pending = False
        self.closing = False
        self.registered = False
        self.quit_reason: str | None = None
        # Deliveries while a JOIN replays the history wait here (under ``lock``);
        # public messages up to ``floor`` are in that replay.
        self.lock = threading.Lock()
        self.held: list[tuple[int | None, bytes]] | None = None
        self.floor = 0
        # Says accepted from this client, and how many of them came back
        # through the fan-out (or were refused): PING waits for the two to meet.
        self.landing = threading.Condition()
        self.submitted = 0
        self.landed = 0

    # -- the connection's life --------------------------------------------------------
    def run(self) -> None:
        self.channel.add(self)
        try:
            if self.channel.stopping:
                self.error("Closing Link: the server is shutting down")
                return
            self._read_loop()
        except HashQueueClosed:
            pass
        finally:
            self._leave()
            self.link.close_gracefully()

    def _read_loop(self) -> None:
        b = self.channel.budgets
        splitter = LineSplitter()
        last_heard, pinged = time.monotonic(), False
        while not self.closing:
            now = time.monotonic()
            if not self.registered and now - self.connected >= b.login_deadline:
                log.info("irc: %s did not register within %g s, closing", self.where,
                         b.login_deadline)
                self.error(f"Closing Link: register within {b.login_deadline:g} s")
                return
            idle = now - last_heard
            if idle >= b.idle_close:
                log.info("irc: %s (%s) silent for %.0f s, closing", self.name or "-",
                         self.where, idle)
                self.error(f"Closing Link: Ping timeout: {idle:.0f} seconds")
                return
            if idle >= b.ping_after and not pinged:
                self.link.send(line("PING", self.options.server_name))
                pinged = True
            wait = (b.idle_close if pinged else b.ping_after) - idle
            if not self.registered:
                wait = min(wait, self.connected + b.login_deadline - now)
            try:
                data = self.link.read(max(wait, 0.01))
            except OSError:
                return
            if data is None:
                continue
            if not data:
                return
            last_heard, pinged = time.monotonic(), False
            for item in splitter.feed(data):
                if isinstance(item, LineTooLong):
                    self.numeric(N.ERR_INPUTTOOLONG, "Input line was too long")
                    continue
                if not self.chat.admissions.throttle(self, self.channel.wait_stopping):
                    return
                self._handle(item)
                if self.closing:
                    return

    def _leave(self) -> None:
        if self.registered:
            if self.in_channel:
                self.channel.tell_channel(line("QUIT", "Quit: " + (self.quit_reason or "left"),
                                              source=self.prefix), but=self)
            self.chat.leave(self)
            log.info("irc: %s left (%s)", self.name, self.where)
        self.channel.remove(self)

    # -- sending --------------------------------------------------------------------------
    @property
    def in_room(self) -> bool:
        return self.in_channel

    @property
    def prefix(self) -> str:
        return f"{self.name or self.nick or '*'}!{self.user or 'unknown'}@{self.host}"

    def numeric(self, code: str, *params: str) -> None:
        self.link.send(line(code, self.name or self.nick or "*", *params,
                            source=self.options.server_name))

    def reply(self, command: str, *params: str, source: str | None = None) -> None:
        self.link.send(line(command, *params, source=source or self.options.server_name))

    def error(self, text: str) -> None:
        self.link.send(line("ERROR", text))
        self.closing = True

    def fail(self, command: str, code: str, text: str) -> None:
        self.link.send(line("FAIL", command, code, text, source=self.options.server_name))

    # -- deliveries from the chat (fan-out threads; never blocks) --------------------------
    def deliver_many(self, items: list[Delivery]) -> None:
        """A fan-out batch rendered line by line, sent as one write."""
        self.link.cork()
        try:
            for item in items:
                self.deliver(item)
        finally:
            self.link.uncork()

    def deliver(self, item: Delivery) -> None:
        message = item.message
        kind = message.get("type")
        if kind == "raw":
            self.link.send(message["data"])
        elif kind == "message":
            if name_key(message["from"]) == self.key:
                self._landed()
            self._relay(item)
        elif kind in ("joined", "left") and not isinstance(item.about, Session):
            # IRC sessions' own JOIN, PART and QUIT are told by the gateway itself.
            name = message.get("name", "")
            data = (line("JOIN", self.options.channel, source=chat_prefix(name))
                    if kind == "joined" else
                    line("QUIT", "Quit: left the chat", source=chat_prefix(name)))
            self._out(None, data, public=True)
        elif kind == "error":
            self._landed()
            self.fail("PRIVMSG", "MESSAGE_NOT_STORED",
                      "the server could not store that message; it was not sent")

    def _landed(self) -> None:
        with self.landing:
            self.landed += 1
            self.landing.notify_all()

    def _relay(self, item: Delivery) -> None:
        message = item.message
        sender, to = message["from"], message.get("to")
        mine = name_key(sender) == self.key
        if mine and "echo-message" not in self.caps:
            return
        # A private message shows under its other party's name, as IRC has it.
        target = self.options.channel if to is None else to if mine else self.name
        if to is None:
            # A public line is the same bytes for every session with the same
            # tags: render it once, not once per recipient.
            key = ("irc", "server-time" in self.caps, "message-tags" in self.caps)
            data = item.rendered(key, lambda: self._render(message, target))
        else:
            data = self._render(message, target)
        if data:
            self._out(message["id"] if to is None else None, data, public=to is None)

    def _render(self, message: dict, target: str, notice: bool = False) -> bytes:
        sender = message["from"]
        source = self.channel.prefix_of(sender)
        tags = {}
        if "server-time" in self.caps:
            tags["time"] = message["ts"]
        if "message-tags" in self.caps:
            tags["msgid"] = str(message["id"])
        text = message["text"]
        command = "PRIVMSG"
        if notice:
            command = "NOTICE"
            text = f"[{_when(message['ts'])}] " + text.replace("\n", "\n  ")
        room = 510 - len(f":{source} {command} {target} :".encode())
        return b"".join(line(command, target, piece, source=source, tags=tags or None)
                        for piece in split_text(text, max(room, 60)))

    def _out(self, ident: int | None, data: bytes, public: bool) -> None:
        with self.lock:
            if public and not self.in_channel and self.held is None:
                return
            if self.held is not None:
                self.held.append((ident, data))
                return
            if ident is not None and ident <= self.floor:
                return
        self.link.send(data)

    def kick(self, reason: str) -> None:
        """The operator's ``kick``: say so, and end the connection."""
        log.warning("irc: disconnecting %s (%s): %s", self.name or "-", self.where, reason)
        self.link.send(line("ERROR", "Closing Link: kicked by the operator"))
        self.link.kill(None)

    # -- lines from the client ------------------------------------------------------------
    def _handle(self, raw: bytes) -> None:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            command = raw.split(b" ", 2)
            word = command[1] if raw.startswith((b"@", b":")) and len(command) > 1 \
                else command[0]
            shown = word.decode("ascii", "replace").upper()[:20] or "*"
            self.fail(shown, "INVALID_UTF8", "lines must be UTF-8; that one was dropped")
            return
        msg = parse(text)
        if msg is None:
            return
        handler = _BEFORE.get(msg.command)
        if handler is None and self.registered:
            handler = _AFTER.get(msg.command)
        if handler is None:
            if not self.registered and msg.command in _AFTER:
                self.numeric(N.ERR_NOTREGISTERED, "You have not registered")
            elif msg.command.isdigit() and len(msg.command) == 3:
                return  # numerics from a client are ignored
            else:
                self.numeric(N.ERR_UNKNOWNCOMMAND, msg.command[:32], "Unknown command")
            return
        try:
            handler(self, msg)
        except sqlite3.Error as e:
            log.error("irc: data file error serving %s (%s): %s", self.name or "-", self.where, e)
            self.reply("NOTICE", self.name or "*",
                       "the server could not store that; try later")

    def need(self, msg: Message, count: int) -> bool:
        if len(msg.params) < count or (count and not msg.params[count - 1]
                                       and msg.command not in ("PRIVMSG", "NOTICE", "AWAY")):
            self.numeric(N.ERR_NEEDMOREPARAMS, msg.command, "Not enough parameters")
            return False
        return True


def _when(ts: str) -> str:
    """``2026-11-27T15:04:05.123Z`` as ``2026-11-27 15:04 UTC`` for a replayed NOTICE."""
    return f"{ts[:10]} {ts[11:16]} UTC" if len(ts) >= 16 else ts


_BEFORE = {
    "CAP": Session.on_cap, "PASS": Session.on_pass, "NICK": Session.on_nick,
    "USER": Session.on_user, "AUTHENTICATE": Session.on_authenticate,
    "PING": Session.on_ping, "PONG": Session.on_pong, "QUIT": Session.on_quit,
}
_AFTER = {
    "JOIN": Session.on_join, "PART": Session.on_part, "TOPIC": Session.on_topic,
    "NAMES": Session.on_names, "LIST": Session.on_list, "MODE": Session.on_mode,
    "PRIVMSG": Session.on_privmsg, "NOTICE": Session.on_privmsg, "TAGMSG": Session.on_tagmsg,
    "AWAY": Session.on_away, "WHO": Session.on_who, "WHOIS": Session.on_whois,
    "WHOWAS": Session.on_whowas, "ISON": Session.on_ison, "USERHOST": Session.on_userhost,
    "MOTD": Session.on_motd, "LUSERS": Session.on_lusers, "KICK": Session.on_kick,
}
