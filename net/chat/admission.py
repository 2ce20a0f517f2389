"""Who may come in: logins, resumes and guests, judged with the admission budgets.

Both front ends (the chat port and the IRC gateway) ask the same
``Admissions``, so an address and an account are counted once whichever
port they use: failed logins a minute (by name and by address), accounts
made an hour by an address, and the frame rate an address is read at.
Nothing here puts anyone in the online set (``net.chat.hub`` does).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from net.budgets import Budgets
from net.chat.accounts import Accounts, BadPassword, Refused
from net.chat.member import Caller
from net.chat.names import canonical, name_problem
from net.chat.protocol import NAME_RULE, PASSWORD_MAX, TOKEN_MAX, name_key, valid_password
from net.ratelimit import SlidingWindow, TokenBuckets

log = logging.getLogger("netdesk.chat")

REFUSALS = {
    "name_too_similar": "that name looks too much like an existing one; choose another",
    "registration_limited": "too many new accounts from your address lately; try later",
}


@dataclass(frozen=True)
class Admission:
    """What a check decided: the name as registered, or a refusal."""

    name: str | None
    new_account: bool
    code: str | None  # None: admitted; else the chat protocol's error code
    message: str


class Admissions:
    """The login budgets, and the checks that use them."""

    def __init__(self, budgets: Budgets, is_online: Callable[[str], bool]):
        b = self.budgets = budgets
        self._is_online = is_online
        self.accounts: Accounts | None = None  # set when the server starts
        self.failures = SlidingWindow(b.max_failures, b.failure_window, b.table_entries)
        self.registrations = SlidingWindow(b.registrations_per_hour, 3600.0, b.table_entries)
        self.frames = TokenBuckets(b.frame_burst, b.frame_rate, b.table_entries)

    def check_login(self, caller: Caller, raw: str, password: str) -> Admission:
        """Judge a name and password with every login budget; register a new name.

        ``too_many_attempts`` means close the connection.
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
            return _in_use(name)
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
            return Admission(name, False, e.code, REFUSALS[e.code])
        self.failures.forget(name_k)
        if login.new_account:
            log.info("chat: new account %s from %s", login.name, caller.where)
        return Admission(login.name, login.new_account, None, "")

    def check_resume(self, caller: Caller, token: str) -> Admission:
        """Judge a session token: the name it logs in, or a refusal."""
        key = caller.addr_key
        too_many = Admission(None, False, "too_many_attempts",
                             "too many failed attempts; wait a minute")
        if self.failures.reached(key):
            return too_many
        name = self.accounts.token_user(token) if len(token) <= TOKEN_MAX else None
        if name is not None and self._is_online(name):  # before any write
            return _in_use(name)
        if name is None or not self.accounts.seen(name, caller.ip):
            log.warning("chat: failed resume from %s (bad or expired token)", caller.where)
            if self.failures.add(key):
                return too_many
            return Admission(None, False, "bad_token", "that session token is unknown or expired")
        return Admission(name, False, None, "")

    def check_guest(self, raw: str) -> Admission:
        """A name for a guest without an account (the IRC gateway's ``--irc-guests``):
        a valid name that is not an account and looks like none, not online."""
        if name_problem(raw):
            return Admission(None, False, "bad_name", NAME_RULE)
        name = canonical(raw)
        if self.accounts.taken(name):
            return Admission(name, False, "name_taken", f"{name} is an account: log in")
        if self._is_online(name):
            return _in_use(name)
        return Admission(name, False, None, "")

    def throttle(self, caller: Caller, wait: Callable[[float], bool]) -> bool:
        """Read an untrusted address's frames (or IRC lines) no faster than its
        budget allows: one bucket for both ports.

        Waiting, not refusing: the client's input queues in the kernel and
        TCP slows it down, while the server spends nothing on it meanwhile.
        ``wait(seconds)`` returns True when the service stops: then False.
        """
        if caller.trusted:
            return True
        while not self.frames.take(caller.addr_key):
            if wait(1.0 / self.budgets.frame_rate):
                return False
        return True

    def _may_register(self, caller: Caller) -> str | None:
        if caller.trusted:
            return None
        if self.registrations.reached(caller.addr_key):
            return "registration_limited"
        if self.registrations.add(caller.addr_key):  # logged once, when it is reached
            log.warning("chat: %s made %d accounts this hour; refusing more for now",
                        caller.where, self.budgets.registrations_per_hour)
        return None


def _in_use(name: str) -> Admission:
    return Admission(name, False, "name_in_use", f"{name} is online on another connection")


def member_buckets(member: Caller) -> tuple[str, ...]:
    """A member's rate buckets (says, history requests): its account's, and its
    address's unless that is trusted."""
    account = f"acct:{member.key}"
    return (account,) if member.trusted else (account, member.addr_key)
