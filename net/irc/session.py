"""One IRC client: registration, its commands, and the chat rendered as IRC.

A ``Session`` runs on its connection's thread: it reads lines (bounded by
the budgets of ``net.budgets``: the login deadline, idle ping and close, the
per-address line rate), registers the client against netdesk's accounts
(``PASS`` or SASL ``PLAIN``; a new name registers, as the chat's ``login``
does) and answers its commands. Once registered it is a member of the chat
server's online set: fan-out threads hand it the chat's messages, joins and
leaves as plain dicts (``send``), which it renders as IRC lines for this
client's capabilities. What it says goes through the chat server's writer:
one id order and one history for both ports.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import logging
import sqlite3
import threading
import time
from datetime import datetime, timezone

from net import SERVER_NAME, __version__
from net.budgets import address_key
from net.chat.hashing import HashQueueClosed
from net.chat.names import name_problem
from net.chat.protocol import NAME_MAX, name_key
from net.irc import numerics as N
from net.irc.lines import LineSplitter, LineTooLong, Message, line, parse, split_text
from net.irc.server import chat_prefix
from net.listener import format_address

log = logging.getLogger("netdesk.irc")

# multi-prefix costs nothing (nobody has a prefix); userhost-in-names is one format.
CAPS = ("sasl", "server-time", "message-tags", "echo-message", "multi-prefix",
        "userhost-in-names")
AWAY_MAX = 200
SASL_CHUNK = 400
SASL_MAX = 1200  # bytes of base64 in one authentication: name, name and password fit
USER_MAX = 10
SAY_REFUSALS = {
    "rate_limited": "too many messages; slow down",
    "bad_text": "a message is 1 to 4000 characters",
    "no_such_user": "no such nick",
}


class Session:
    via = "irc"

    def __init__(self, server, link, addr: tuple):
        self.server = server
        self.chat = server.chat
        self.options = server.options
        self.link = link
        self.ip = addr[0]
        self.where = format_address(addr)
        self.addr_key = f"addr:{address_key(self.ip)}"  # the chat port's key: counted once
        self.trusted = server.budgets.is_trusted(self.ip)
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
        self.server.add(self)
        try:
            if self.server.stopping:
                self.error("Closing Link: the server is shutting down")
                return
            self._read_loop()
        except HashQueueClosed:
            pass
        finally:
            self._leave()
            self.link.close()

    def _read_loop(self) -> None:
        b = self.server.budgets
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
                data = self.link.recv(max(wait, 0.01))
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
                if not self._throttle():
                    return
                self._handle(item)
                if self.closing:
                    return

    def _throttle(self) -> bool:
        """Lines from an untrusted address are read at the chat port's frame rate
        (the same bucket: an address is counted once across both ports)."""
        if self.trusted:
            return True
        while not self.chat.frames.take(self.addr_key):
            if self.server._stopping.wait(1.0 / self.server.budgets.frame_rate):
                return False
        return True

    def _leave(self) -> None:
        if self.registered:
            if self.in_channel:
                self.server.tell_channel(line("QUIT", "Quit: " + (self.quit_reason or "left"),
                                              source=self.prefix), but=self)
            self.chat.remove_member(self)
            log.info("irc: %s left (%s)", self.name, self.where)
        self.server.remove(self)

    # -- sending --------------------------------------------------------------------------
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
    def send(self, message: dict) -> None:
        kind = message.get("type")
        if kind == "raw":
            self.link.send(message["data"])
        elif kind == "message":
            if name_key(message["from"]) == self.key:
                self._landed()
            self._relay(message)
        elif kind in ("joined", "left") and message.get("via") == "chat":
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

    def _relay(self, message: dict) -> None:
        sender, to = message["from"], message.get("to")
        mine = name_key(sender) == self.key
        if mine and "echo-message" not in self.caps:
            return
        # A private message shows under its other party's name, as IRC has it.
        target = self.options.channel if to is None else to if mine else self.name
        if to is None:
            # A public line is the same bytes for every session with the same
            # tags: render it once, not once per recipient.
            key = (message["id"], "server-time" in self.caps, "message-tags" in self.caps)
            data = self.server.rendered.get(key)
            if data is None:
                data = self.server.remember(key, self._render(message, target))
        else:
            data = self._render(message, target)
        if data:
            self._out(message["id"] if to is None else None, data, public=to is None)

    def _render(self, message: dict, target: str, notice: bool = False) -> bytes:
        sender = message["from"]
        source = self.server.prefix_of(sender)
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

    # -- registration ---------------------------------------------------------------------
    def on_cap(self, msg: Message) -> None:
        if not self.need(msg, 1):
            return
        sub = msg.params[0].upper()
        me = self.name or self.nick or "*"
        if sub == "LS":
            if not self.registered:
                self.cap_pending = True
            v302 = len(msg.params) > 1 and msg.params[1].isdigit() and int(msg.params[1]) >= 302
            offered = " ".join("sasl=PLAIN" if c == "sasl" and v302 else c for c in CAPS)
            self.reply("CAP", me, "LS", offered)
        elif sub == "LIST":
            self.reply("CAP", me, "LIST", " ".join(sorted(self.caps)))
        elif sub == "REQ":
            if not self.registered:
                self.cap_pending = True
            wanted = msg.params[1].split() if len(msg.params) > 1 else []
            names = [w[1:] if w.startswith("-") else w for w in wanted]
            if wanted and all(n in CAPS for n in names):
                for w, n in zip(wanted, names, strict=True):
                    if w.startswith("-"):
                        self.caps.discard(n)
                    else:
                        self.caps.add(n)
                self.reply("CAP", me, "ACK", " ".join(wanted))
            else:
                self.reply("CAP", me, "NAK", " ".join(wanted))
        elif sub == "END":
            if not self.registered:
                self.cap_pending = False
                self._try_register()
        else:
            self.numeric("410", sub[:20], "Invalid CAP command")

    def on_pass(self, msg: Message) -> None:
        if self.registered:
            self.numeric(N.ERR_ALREADYREGISTERED, "You may not reregister")
            return
        if self.need(msg, 1):
            self.password = msg.params[0]

    def on_nick(self, msg: Message) -> None:
        if not msg.params or not msg.params[0]:
            self.numeric(N.ERR_NONICKNAMEGIVEN, "No nickname given")
            return
        nick = msg.params[0]
        if self.registered:
            if name_key(nick) != self.key:
                self.numeric(N.ERR_NONICKCHANGE, nick[:NAME_MAX],
                             "Your nick is your netdesk account's name; it cannot change")
            return
        if name_problem(nick):
            self.numeric(N.ERR_ERRONEUSNICKNAME, nick[:NAME_MAX] or "*",
                         "Erroneous nickname: " + name_problem(nick))
            return
        if not self._name_free(nick):
            self.numeric(N.ERR_NICKNAMEINUSE, nick, "Nickname is already in use")
            return
        self.nick = nick
        self._try_register()

    def _name_free(self, nick: str, grace: float = 0.5) -> bool:
        """Is ``nick`` free, or freed within ``grace`` seconds? A client that
        reconnects at once often finds its old session still being torn down
        on another thread; a short bounded wait spares it a needless 433."""
        deadline = time.monotonic() + grace
        while self.chat.member(nick) is not None:
            if time.monotonic() >= deadline or self.server.stopping:
                return False
            time.sleep(0.01)  # polling a condition within a deadline
        return True

    def on_user(self, msg: Message) -> None:
        if self.registered:
            self.numeric(N.ERR_ALREADYREGISTERED, "You may not reregister")
            return
        if not self.need(msg, 4):
            return
        user = "".join(ch for ch in msg.params[0] if ch.isalnum() or ch in "-_.")[:USER_MAX]
        self.user = user or "user"
        self.realname = msg.params[3][:100]
        self._try_register()

    def on_authenticate(self, msg: Message) -> None:
        if not self.need(msg, 1):
            return
        arg = msg.params[0]
        if self.registered:  # the nick is the account: no other account afterwards
            self.numeric(N.ERR_ALREADYREGISTERED, "You may not reregister")
            return
        if arg == "*":
            if self.sasl_buffer is not None:
                self.sasl_buffer = None
                self.numeric(N.ERR_SASLABORTED, "SASL authentication aborted")
            return
        if self.sasl_buffer is None:
            if "sasl" not in self.caps:
                self.numeric(N.ERR_SASLFAIL, "SASL authentication failed: request sasl first")
            elif arg.upper() == "PLAIN":
                self.sasl_buffer = ""
                self.reply("AUTHENTICATE", "+", source="")
            else:
                self.numeric(N.RPL_SASLMECHS, "PLAIN", "are available SASL mechanisms")
                self.numeric(N.ERR_SASLFAIL, "SASL authentication failed")
            return
        if len(arg) > SASL_CHUNK:
            self.sasl_buffer = None
            self.numeric(N.ERR_SASLTOOLONG, "SASL message too long")
            return
        if len(self.sasl_buffer) + len(arg) > SASL_MAX:  # kept bounded, whatever comes
            self.sasl_buffer = None
            self.numeric(N.ERR_SASLFAIL, "SASL authentication failed: too long")
            return
        if arg != "+":
            self.sasl_buffer += arg
        if len(arg) == SASL_CHUNK:
            return  # more to come
        blob, self.sasl_buffer = self.sasl_buffer, None
        self._sasl_plain(blob)

    def _sasl_plain(self, blob: str) -> None:
        try:
            fields = base64.b64decode(blob, validate=True).decode("utf-8").split("\0")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            fields = []
        if len(fields) != 3 or (fields[0] and fields[0] != fields[1]):
            self.numeric(N.ERR_SASLFAIL, "SASL authentication failed: bad PLAIN message")
            return
        _authz, account, password = fields
        result = self.chat.check_login(self, account, password)
        if result.code is not None:
            self.numeric(N.ERR_SASLFAIL, f"SASL authentication failed: {result.message}")
            if result.code == "too_many_attempts":
                self.error("Closing Link: too many failed attempts; wait a minute")
            return
        self.sasl_account = result.name
        self.numeric(N.RPL_LOGGEDIN, f"{self.nick or result.name}!{self.user or '*'}@{self.host}",
                     result.name, f"You are now logged in as {result.name}")
        self.numeric(N.RPL_SASLSUCCESS, "SASL authentication successful")

    def _try_register(self) -> None:
        if self.registered or self.cap_pending or not self.nick or not self.user:
            return
        account = None
        if self.sasl_account is not None:
            name = account = self.sasl_account
            new = False
        elif self.password is not None:
            # Kept across a 433 (the client picks another nick); a wrong
            # password closes the connection, so each one is hashed once.
            result = self.chat.check_login(self, self.nick, self.password)
            if not self._admitted(result):
                return
            self.password = None  # not kept once used
            name = account = result.name
            new = result.new_account
        elif self.options.guests:
            result = self.chat.check_guest(self.nick)
            if not self._admitted(result):
                return
            name, new = result.name, False
        else:
            self.numeric(N.ERR_PASSWDMISMATCH, "This server needs a netdesk account: "
                         "PASS <password> or SASL PLAIN (a new name registers)")
            self.error("Closing Link: a password is required")
            return
        self.name, self.key, self.account = name, name_key(name), account
        self.shard = self.chat.fanout.shard()
        joined = self.chat.add_member(self)
        if joined is None:
            self.name = self.key = self.account = None
            self.numeric(N.ERR_NICKNAMEINUSE, name, "Nickname is already in use")
            self.nick = None
            return
        self.registered = True
        self.link.who = name
        self.server.registered(self)
        log.info("irc: %s registered from %s%s", name, self.where,
                 " (new account)" if new else "" if account else " (guest)")
        self._welcome()

    def _admitted(self, result) -> bool:
        if result.code is None:
            return True
        if result.code in ("bad_name", "name_too_similar"):
            self.numeric(N.ERR_ERRONEUSNICKNAME, self.nick, result.message)
            self.nick = None
        elif result.code in ("name_in_use", "name_taken"):
            self.numeric(N.ERR_NICKNAMEINUSE, self.nick, result.message)
            self.nick = None
        else:
            self.numeric(N.ERR_PASSWDMISMATCH, result.message)
            self.error(f"Closing Link: {result.message}")
        return False

    def _welcome(self) -> None:
        o = self.options
        created = datetime.fromtimestamp(self.server.created, timezone.utc)
        self.numeric(N.RPL_WELCOME, f"Welcome to the netdesk IRC gateway, {self.prefix}")
        self.numeric(N.RPL_YOURHOST, f"Your host is {o.server_name}, running {SERVER_NAME}")
        self.numeric(N.RPL_CREATED, f"This server was created {created:%Y-%m-%d %H:%M:%S} UTC")
        self.numeric(N.RPL_MYINFO, o.server_name, f"netdesk-{__version__}", "iw", "nt")
        self.numeric(N.RPL_ISUPPORT, *isupport(o), "are supported by this server")
        count = len(self.chat.members())
        self.numeric(N.RPL_LUSERCLIENT, f"There are {count} users and 0 invisible on 1 server")
        self.numeric(N.RPL_LUSERME, f"I have {count} clients and 0 servers")
        self._motd()

    def _motd(self) -> None:
        if not self.options.motd:
            self.numeric(N.ERR_NOMOTD, "MOTD File is missing")
            return
        self.numeric(N.RPL_MOTDSTART, f"- {self.options.server_name} Message of the day - ")
        for text in self.options.motd:
            self.numeric(N.RPL_MOTD, f"- {text}")
        self.numeric(N.RPL_ENDOFMOTD, "End of /MOTD command.")

    def on_ping(self, msg: Message) -> None:
        if not msg.params or not msg.params[0]:
            self.numeric(N.ERR_NOORIGIN, "No origin specified")
            return
        pong = line("PONG", self.options.server_name, msg.params[0],
                    source=self.options.server_name)
        if not self.registered:
            self.link.send(pong)
            return
        # A PING orders like a barrier: what this client said has been stored
        # and handed out (bounded wait), and the PONG follows it on the same
        # fan-out thread, after every delivery already queued for this client.
        with self.landing:
            self.landing.wait_for(lambda: self.landed >= self.submitted, timeout=2.0)
        self.chat.fanout.send([([self], {"type": "raw", "data": pong})])

    def on_pong(self, msg: Message) -> None:
        pass  # being heard is what counts: the read loop saw a line

    def on_quit(self, msg: Message) -> None:
        reason = msg.params[0][:200] if msg.params else ""
        self.quit_reason = reason or None
        self.error(f"Closing Link: {self.host} (Quit: {reason or 'bye'})")

    # -- the channel -------------------------------------------------------------------------
    def _is_channel(self, target: str) -> bool:
        return name_key(target) == name_key(self.options.channel)

    def on_join(self, msg: Message) -> None:
        if not self.need(msg, 1):
            return
        if msg.params[0] == "0":
            if self.in_channel:
                self._part("")
            return
        for target in msg.params[0].split(",")[:10]:
            if not self._is_channel(target):
                self.numeric(N.ERR_NOSUCHCHANNEL, target[:64] or "*",
                             f"No such channel: this server has one room, {self.options.channel}")
            elif not self.in_channel:
                self._join()

    def _join(self) -> None:
        with self.lock:
            self.held = []
        upto = self.chat.delivered()
        try:
            page = [m for m in self.chat.history_for(self.name, self.options.replay * 4, upto)
                    if "to" not in m][-self.options.replay:]
        except sqlite3.Error:
            page = []
            log.error("irc: cannot read the history for %s", self.name)
        self.server.set_in_channel(self, True, line("JOIN", self.options.channel,
                                                    source=self.prefix))
        self._topic_reply()
        self._names_reply()
        # Without server-time the replay comes as NOTICEs, each with its time.
        notice = "server-time" not in self.caps
        replay = [self._render(m, self.options.channel, notice=notice) for m in page]
        with self.lock:
            held, self.held = self.held or [], None
            self.floor = upto
            for data in replay:
                self.link.send(data)
            for ident, data in held:
                if ident is None or ident > upto:
                    self.link.send(data)

    def on_part(self, msg: Message) -> None:
        if not self.need(msg, 1):
            return
        reason = msg.params[1] if len(msg.params) > 1 else ""
        for target in msg.params[0].split(",")[:10]:
            if not self._is_channel(target):
                self.numeric(N.ERR_NOSUCHCHANNEL, target[:64] or "*", "No such channel")
            elif not self.in_channel:
                self.numeric(N.ERR_NOTONCHANNEL, self.options.channel,
                             "You're not on that channel")
            else:
                self._part(reason)

    def _part(self, reason: str) -> None:
        params = [self.options.channel] + ([reason[:200]] if reason else [])
        self.server.set_in_channel(self, False, line("PART", *params, source=self.prefix))

    def _topic_reply(self) -> None:
        self.numeric(N.RPL_TOPIC, self.options.channel, self.options.topic)

    def on_topic(self, msg: Message) -> None:
        if not self.need(msg, 1):
            return
        if not self._is_channel(msg.params[0]):
            self.numeric(N.ERR_NOSUCHCHANNEL, msg.params[0][:64], "No such channel")
        elif len(msg.params) > 1:
            self.numeric(N.ERR_CHANOPRIVSNEEDED, self.options.channel,
                         "The topic is read-only")
        else:
            self._topic_reply()

    def channel_names(self) -> list[str]:
        """Who is in the room: every chat window's user, and IRC sessions that joined."""
        members = [m for m in self.chat.members() if m.via == "chat" or m.in_channel]
        return sorted((m.name for m in members), key=str.casefold)

    def _names_reply(self) -> None:
        names = self.channel_names()
        if "userhost-in-names" in self.caps:
            names = [self.server.prefix_of(n) for n in names]
        room = 510 - len(f":{self.options.server_name} 353 {self.name} = "
                         f"{self.options.channel} :".encode())
        chunk: list[str] = []
        for name in names:
            if chunk and len(" ".join([*chunk, name]).encode()) > room:
                self.numeric(N.RPL_NAMREPLY, "=", self.options.channel, " ".join(chunk))
                chunk = []
            chunk.append(name)
        if chunk:
            self.numeric(N.RPL_NAMREPLY, "=", self.options.channel, " ".join(chunk))
        self.numeric(N.RPL_ENDOFNAMES, self.options.channel, "End of /NAMES list.")

    def on_names(self, msg: Message) -> None:
        if not msg.params or any(self._is_channel(t) for t in msg.params[0].split(",")):
            self._names_reply()
        else:
            self.numeric(N.RPL_ENDOFNAMES, msg.params[0].split(",")[0][:64],
                         "End of /NAMES list.")

    def on_list(self, msg: Message) -> None:
        self.numeric(N.RPL_LISTSTART, "Channel", "Users  Name")
        if not msg.params or any(self._is_channel(t) for t in msg.params[0].split(",")):
            self.numeric(N.RPL_LIST, self.options.channel, str(len(self.channel_names())),
                         self.options.topic)
        self.numeric(N.RPL_LISTEND, "End of /LIST")

    def on_mode(self, msg: Message) -> None:
        if not self.need(msg, 1):
            return
        target = msg.params[0]
        if self._is_channel(target):
            if len(msg.params) == 1:
                self.numeric(N.RPL_CHANNELMODEIS, self.options.channel, "+nt")
                self.numeric(N.RPL_CREATIONTIME, self.options.channel,
                             str(int(self.server.created)))
            elif msg.params[1] in ("b", "+b", "e", "+e", "I", "+I") and len(msg.params) == 2:
                self.numeric(N.RPL_ENDOFBANLIST, self.options.channel, "End of channel ban list")
            else:
                self.numeric(N.ERR_CHANOPRIVSNEEDED, self.options.channel,
                             "The room's modes are fixed")
        elif target.startswith("#"):
            self.numeric(N.ERR_NOSUCHCHANNEL, target[:64], "No such channel")
        elif name_key(target) != self.key:
            if self.chat.member(target) is None:
                self.numeric(N.ERR_NOSUCHNICK, target[:64], "No such nick/channel")
            else:
                self.numeric(N.ERR_USERSDONTMATCH, "Can't change mode for other users")
        elif len(msg.params) == 1:
            self.numeric(N.RPL_UMODEIS, "+")
        elif any(ch not in "+-iw" for ch in msg.params[1]):
            self.numeric(N.ERR_UMODEUNKNOWNFLAG, "Unknown MODE flag")

    # -- messages ----------------------------------------------------------------------------
    def on_privmsg(self, msg: Message) -> None:
        notice = msg.command == "NOTICE"
        if not msg.params or not msg.params[0]:
            if not notice:
                self.numeric(N.ERR_NORECIPIENT, f"No recipient given ({msg.command})")
            return
        if len(msg.params) < 2 or not msg.params[1]:
            if not notice:
                self.numeric(N.ERR_NOTEXTTOSEND, "No text to send")
            return
        target, text = msg.params[0], msg.params[1]
        if "," in target:
            if not notice:
                self.numeric("407", target[:64], "Too many targets: one at a time")
            return
        if self._is_channel(target):
            if not self.in_channel:
                if not notice:
                    self.numeric(N.ERR_CANNOTSENDTOCHAN, self.options.channel,
                                 "Cannot send to channel (join it first)")
                return
            code = self.chat.submit_say(self, text)
        elif target.startswith(("#", "&", "+", "!")):
            if not notice:
                self.numeric(N.ERR_NOSUCHNICK, target[:64], "No such nick/channel")
            return
        else:
            member = self.chat.member(target)
            if member is None:
                if not notice:
                    self.numeric(N.ERR_NOSUCHNICK, target[:64], "No such nick/channel")
                return
            code = self.chat.submit_say(self, text, to=member.name)
            if code is None and not notice and getattr(member, "away", None):
                self.numeric(N.RPL_AWAY, member.name, member.away)
        if code is None:
            with self.landing:
                self.submitted += 1
        if code == "no_such_user":
            if not notice:
                self.numeric(N.ERR_NOSUCHNICK, target[:64], "No such nick/channel")
        elif code is not None and not notice:
            self.fail(msg.command, code.upper(), SAY_REFUSALS.get(code, code))

    def on_tagmsg(self, msg: Message) -> None:
        pass  # client-only tags (typing...) have nowhere to go in the chat

    # -- about people ------------------------------------------------------------------------
    def on_away(self, msg: Message) -> None:
        text = msg.params[0][:AWAY_MAX] if msg.params else ""
        self.away = text or None
        if text:
            self.numeric(N.RPL_NOWAWAY, "You have been marked as being away")
        else:
            self.numeric(N.RPL_UNAWAY, "You are no longer marked as being away")

    def _who_line(self, member) -> None:
        irc = member.via == "irc"
        user, host = (member.user, member.host) if irc else ("chat", "netdesk")
        in_room = member.via == "chat" or member.in_channel
        flags = ("G" if irc and member.away else "H")
        realname = member.realname if irc else "netdesk chat window"
        self.numeric(N.RPL_WHOREPLY, self.options.channel if in_room else "*", user, host,
                     self.options.server_name, member.name, flags, f"0 {realname}")

    def on_who(self, msg: Message) -> None:
        mask = msg.params[0] if msg.params else "*"
        if self._is_channel(mask):
            for name in self.channel_names():
                member = self.chat.member(name)
                if member is not None:
                    self._who_line(member)
        elif mask in ("*", "0"):
            for member in self.chat.members():
                self._who_line(member)
        elif "*" in mask or "?" in mask:
            pattern = mask.casefold()
            for member in sorted(self.chat.members(), key=lambda m: m.name.casefold()):
                if fnmatch.fnmatchcase(member.name.casefold(), pattern):
                    self._who_line(member)
        elif not mask.startswith("#"):
            member = self.chat.member(mask) if not name_problem(mask) else None
            if member is not None:
                self._who_line(member)
        self.numeric(N.RPL_ENDOFWHO, mask[:64], "End of WHO list")

    def on_whois(self, msg: Message) -> None:
        if not self.need(msg, 1):
            return
        nick = msg.params[-1].split(",")[0]
        member = self.chat.member(nick) if not name_problem(nick) else None
        if member is None:
            self.numeric(N.ERR_NOSUCHNICK, nick[:64], "No such nick/channel")
            self.numeric(N.RPL_ENDOFWHOIS, nick[:64], "End of /WHOIS list")
            return
        irc = member.via == "irc"
        user, host = (member.user, member.host) if irc else ("chat", "netdesk")
        realname = member.realname if irc else "netdesk chat window"
        self.numeric(N.RPL_WHOISUSER, member.name, user, host, "*", realname)
        if member.via == "chat" or member.in_channel:
            self.numeric(N.RPL_WHOISCHANNELS, member.name, self.options.channel)
        self.numeric(N.RPL_WHOISSERVER, member.name, self.options.server_name,
                     "netdesk" if not irc else "netdesk IRC gateway")
        if irc and member.away:
            self.numeric(N.RPL_AWAY, member.name, member.away)
        if not irc or member.account:
            self.numeric(N.RPL_WHOISACCOUNT, member.name, member.name, "is logged in as")
        self.numeric(N.RPL_ENDOFWHOIS, member.name, "End of /WHOIS list")

    def on_whowas(self, msg: Message) -> None:
        if not self.need(msg, 1):
            return
        self.numeric(N.ERR_WASNOSUCHNICK, msg.params[0][:64], "There was no such nickname")
        self.numeric(N.RPL_ENDOFWHOWAS, msg.params[0][:64], "End of WHOWAS")

    def on_ison(self, msg: Message) -> None:
        nicks = " ".join(msg.params).split()[:20]
        online = [m.name for n in nicks if not name_problem(n)
                  and (m := self.chat.member(n)) is not None]
        self.numeric(N.RPL_ISON, " ".join(online))

    def on_userhost(self, msg: Message) -> None:
        found = []
        for nick in msg.params[:5]:
            member = self.chat.member(nick) if not name_problem(nick) else None
            if member is not None:
                irc = member.via == "irc"
                away = "-" if irc and member.away else "+"
                where = f"{member.user}@{member.host}" if irc else "chat@netdesk"
                found.append(f"{member.name}={away}{where}")
        self.numeric(N.RPL_USERHOST, " ".join(found))

    def on_motd(self, msg: Message) -> None:
        self._motd()

    def on_lusers(self, msg: Message) -> None:
        count = len(self.chat.members())
        self.numeric(N.RPL_LUSERCLIENT, f"There are {count} users and 0 invisible on 1 server")
        self.numeric(N.RPL_LUSERME, f"I have {count} clients and 0 servers")

    def on_kick(self, msg: Message) -> None:
        if self.need(msg, 2):
            self.numeric(N.ERR_CHANOPRIVSNEEDED, msg.params[0][:64],
                         "Only the server's operator kicks")


def isupport(o) -> list[str]:
    return ["AWAYLEN=200", "CASEMAPPING=ascii", "CHANLIMIT=#:1", "CHANMODES=,,,nt",
            "CHANNELLEN=32", "CHANTYPES=#", "MAXTARGETS=1", "MODES=1", "NETWORK=netdesk",
            f"NICKLEN={NAME_MAX}", "PREFIX=", "TARGMAX=PRIVMSG:1,NOTICE:1,JOIN:,PART:",
            f"TOPICLEN={len(o.topic)}", "USERLEN=10", "UTF8ONLY"]


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
