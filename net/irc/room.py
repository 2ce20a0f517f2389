"""What a registered IRC client can do: the one room, messages, and who is who.

A mixin of ``net.irc.session.Session``. ``#netdesk`` is the chat: JOIN
replays its history, PRIVMSG and NOTICE there (or to a nick) are the chat's
``say``s, NAMES and WHO list the chat windows' users beside the IRC
sessions that joined; other channels do not exist (403).
"""

from __future__ import annotations

import fnmatch
import logging
import sqlite3

from net.chat.member import Member
from net.chat.names import name_problem
from net.chat.protocol import name_key
from net.irc import numerics as N
from net.irc import umodes
from net.irc.lines import Message, line

log = logging.getLogger("netdesk.irc")

AWAY_MAX = 200
SAY_REFUSALS = {
    "rate_limited": "too many messages; slow down",
    "bad_text": "a message is 1 to 4000 characters",
    "no_such_user": "no such nick",
}


class Room:
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
        upto = self.chat.hub.delivered()
        try:
            page = [m for m in self.chat.history_for(self.name, self.options.replay * 4, upto)
                    if "to" not in m][-self.options.replay:]
        except sqlite3.Error:
            page = []
            log.error("irc: cannot read the history for %s", self.name)
        self.channel.set_in_channel(self, True, line("JOIN", self.options.channel,
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
        self.channel.set_in_channel(self, False, line("PART", *params, source=self.prefix))

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
        members = [m for m in self.chat.members() if m.in_room]
        return sorted((m.name for m in members), key=str.casefold)

    def _names_reply(self) -> None:
        names = self.channel_names()
        if "userhost-in-names" in self.caps:
            names = [self.channel.prefix_of(n) for n in names]
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
                             str(int(self.channel.created)))
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
            self.numeric(N.RPL_UMODEIS, umodes.shown(self.umodes))
        else:
            self._set_user_modes(msg.params[1])

    def _set_user_modes(self, modestring: str) -> None:
        change = umodes.apply(self.umodes, modestring)
        self.umodes = change.modes  # one assignment: WHO on other threads reads it whole
        if change.unknown:
            self.numeric(N.ERR_UMODEUNKNOWNFLAG, "Unknown MODE flag")
        if change.echo:
            self.link.send(line("MODE", self.name, change.echo, source=self.prefix))

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
            code = self.chat.say(self, text)
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
            code = self.chat.say(self, text, to=member.name)
            if code is None and not notice and member.away:
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

    def _who_line(self, member: Member) -> None:
        flags = "G" if member.away else "H"
        self.numeric(N.RPL_WHOREPLY, self.options.channel if member.in_room else "*",
                     member.user, member.host, self.options.server_name, member.name, flags,
                     f"0 {member.realname}")

    def _sees(self, member: Member) -> bool:
        """Whether a WHO by mask (or of the room from outside it) lists ``member``:
        an invisible (+i) user only to themselves and to who is in the room
        with them, as modern IRC has it. Chat windows have no user modes."""
        invisible = "i" in getattr(member, "umodes", ())
        return not invisible or member.key == self.key or (self.in_channel and member.in_room)

    def on_who(self, msg: Message) -> None:
        mask = msg.params[0] if msg.params else "*"
        if self._is_channel(mask):
            for name in self.channel_names():
                member = self.chat.member(name)
                if member is not None and self._sees(member):
                    self._who_line(member)
        elif mask in ("*", "0"):
            for member in self.chat.members():
                if self._sees(member):
                    self._who_line(member)
        elif "*" in mask or "?" in mask:
            pattern = mask.casefold()
            for member in sorted(self.chat.members(), key=lambda m: m.name.casefold()):
                if fnmatch.fnmatchcase(member.name.casefold(), pattern) and self._sees(member):
                    self._who_line(member)
        elif not mask.startswith("#"):
            # A plain nick is always answered: invisibility hides from searches only.
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
        self.numeric(N.RPL_WHOISUSER, member.name, member.user, member.host, "*",
                     member.realname)
        if member.in_room:
            self.numeric(N.RPL_WHOISCHANNELS, member.name, self.options.channel)
        self.numeric(N.RPL_WHOISSERVER, member.name, self.options.server_name,
                     member.server_info)
        if member.away:
            self.numeric(N.RPL_AWAY, member.name, member.away)
        if member.account:
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
                away = "-" if member.away else "+"
                found.append(f"{member.name}={away}{member.user}@{member.host}")
        self.numeric(N.RPL_USERHOST, " ".join(found))

    def on_motd(self, msg: Message) -> None:
        self._motd()

    def on_lusers(self, msg: Message) -> None:
        members = self.chat.members()
        count = len(members)
        invisible = sum("i" in getattr(m, "umodes", ()) for m in members)
        self.numeric(N.RPL_LUSERCLIENT,
                     f"There are {count - invisible} users and {invisible} invisible on 1 server")
        self.numeric(N.RPL_LUSERME, f"I have {count} clients and 0 servers")

    def on_kick(self, msg: Message) -> None:
        if self.need(msg, 2):
            self.numeric(N.ERR_CHANOPRIVSNEEDED, msg.params[0][:64],
                         "Only the server's operator kicks")
