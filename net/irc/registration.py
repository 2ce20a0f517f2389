"""Registering an IRC client: CAP, PASS, NICK, USER, SASL PLAIN, the welcome.

A mixin of ``net.irc.session.Session``: the account is netdesk's (``PASS``
or SASL ``PLAIN`` checked by the chat server's ``check_login``, with its
budgets; a new name registers), the nick is the account's name, and once
registered the session joins the chat server's online set.
"""

from __future__ import annotations

import base64
import binascii
import logging
import time
from datetime import datetime, timezone

from net import SERVER_NAME, __version__
from net.chat.member import Delivery
from net.chat.names import name_problem
from net.chat.protocol import NAME_MAX, name_key
from net.irc import numerics as N
from net.irc.lines import Message, line
from net.irc.umodes import USER_MODES

log = logging.getLogger("netdesk.irc")

# multi-prefix costs nothing (nobody has a prefix); userhost-in-names is one format.
CAPS = ("sasl", "server-time", "message-tags", "echo-message", "multi-prefix",
        "userhost-in-names")
SASL_CHUNK = 400
SASL_MAX = 1200  # bytes of base64 in one authentication: name, name and password fit
USER_MAX = 10
TLS_REQUIRED = "this server accepts logins only over TLS"


class Registration:
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
            if time.monotonic() >= deadline or self.channel.stopping:
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
        if self._plain_refused():
            self.numeric(N.ERR_SASLFAIL, f"SASL authentication failed: {TLS_REQUIRED}")
            return
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
        if self._plain_refused() and self.sasl_account is None:
            self.numeric(N.ERR_PASSWDMISMATCH, TLS_REQUIRED)
            self.error(f"Closing Link: {TLS_REQUIRED}")
            return
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
            result = self.chat.admissions.check_guest(self.nick)
            if not self._admitted(result):
                return
            name, new = result.name, False
        else:
            self.numeric(N.ERR_PASSWDMISMATCH, "This server needs a netdesk account: "
                         "PASS <password> or SASL PLAIN (a new name registers)")
            self.error("Closing Link: a password is required")
            return
        self.name, self.key, self.account = name, name_key(name), account
        self.shard = self.chat.hub.fanout.shard()
        joined = self.chat.enter(self)
        if joined is None:
            self.name = self.key = self.account = None
            self.numeric(N.ERR_NICKNAMEINUSE, name, "Nickname is already in use")
            self.nick = None
            return
        self.registered = True
        self.link.who = name
        self.channel.registered(self)
        log.info("irc: %s registered from %s%s", name, self.where,
                 " (new account)" if new else "" if account else " (guest)")
        self._welcome()

    def _plain_refused(self) -> bool:
        """With TLS required on the chat, a login over plain IRC is refused
        before the password is looked at, as a plain chat login is."""
        return self.chat.require_tls and self.link.tls is None

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
        created = datetime.fromtimestamp(self.channel.created, timezone.utc)
        self.numeric(N.RPL_WELCOME, f"Welcome to the netdesk IRC gateway, {self.prefix}")
        self.numeric(N.RPL_YOURHOST, f"Your host is {o.server_name}, running {SERVER_NAME}")
        self.numeric(N.RPL_CREATED, f"This server was created {created:%Y-%m-%d %H:%M:%S} UTC")
        self.numeric(N.RPL_MYINFO, o.server_name, f"netdesk-{__version__}", USER_MODES, "nt")
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
        self.chat.hub.send([self], Delivery({"type": "raw", "data": pong}))

    def on_pong(self, msg: Message) -> None:
        pass  # being heard is what counts: the read loop saw a line

    def on_quit(self, msg: Message) -> None:
        reason = msg.params[0][:200] if msg.params else ""
        self.quit_reason = reason or None
        self.error(f"Closing Link: {self.host} (Quit: {reason or 'bye'})")


def isupport(o) -> list[str]:
    return ["AWAYLEN=200", "CASEMAPPING=ascii", "CHANLIMIT=#:1", "CHANMODES=,,,nt",
            "CHANNELLEN=32", "CHANTYPES=#", "MAXTARGETS=1", "MODES=1", "NETWORK=netdesk",
            f"NICKLEN={NAME_MAX}", "PREFIX=", "TARGMAX=PRIVMSG:1,NOTICE:1,JOIN:,PART:",
            f"TOPICLEN={len(o.topic)}", "USERLEN=10", "UTF8ONLY"]
