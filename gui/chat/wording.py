"""The chat window's words that need no Tk: what each refused login means,
which server errors belong to a say, the window's title and a message's
time as the user reads it (sentences are cased by ``net.i18n.sentence``).

Every word is the user's language (``net.i18n``). The server's words never
are shown: its error codes are (the login errors here, the rest through
``net.chat.client.code_text``).
"""

from __future__ import annotations

from datetime import datetime, timezone

from net.chat.client import code_text
from net.chat.protocol import NAME_MAX
from net.i18n import N_, _, datetime_text, sentence, time_text

# What each of the protocol's login error codes means to the person typing
# (fields: {name} the nickname, {max} the longest nickname, {code}).
LOGIN_ERRORS = {
    "bad_password": N_("Wrong password for {name}."),
    "name_in_use": N_("{name} is logged in on another connection right now, so this login "
                      "was refused before the password was checked. Log out there first, or "
                      "choose another nickname."),
    "bad_name": N_("A nickname is 1 to {max} letters of one alphabet, digits, '_', '-' "
                   "or '.'."),
    "too_many_attempts": N_("Too many failed attempts. Wait a minute, then try again."),
    "bad_token": N_("Your session expired. Log in with your password."),
    "name_too_similar": N_("{name} looks too much like someone else's name. Choose another."),
    "registration_limited": N_("Too many new accounts from this computer lately. Try later, "
                               "or log in to an account you have."),
    "server_error": N_("The server could not save your session (its disk may be full). "
                       "Try again later."),
    "login_timeout": N_("You took too long to log in. Connect again."),
    "tls_required": N_("This server accepts logins only over an encrypted (TLS) connection. "
                       "Untick “Plain connection (no TLS)” and log in again."),
    "bad_request": N_("The server did not understand the login request ({code})."),
    "already_logged_in": N_("This connection is already logged in."),
}
# The protocol's errors after a say: the reason a line was not sent (code_text words them).
SAY_ERRORS = frozenset({"bad_text", "rate_limited", "no_such_user", "server_error",
                        "not_logged_in"})


def title_text() -> str:
    return _("netdesk — Chat")


def login_message(code: str, message: str, name: str) -> str:
    """A refused login in words: the code's, or for a code this window does
    not know, the server's own (the only explanation there is)."""
    template = LOGIN_ERRORS.get(code)
    if template is None:
        return sentence(_("the server refused the login: {reason}").format(
            reason=code_text(code, message)))
    return _(template).format(name=name, max=NAME_MAX, code=code)


def local_time(ts: str) -> str:
    """A message's time as the user reads it: ``15:04`` today, with the date
    on other days (``Nov 27, 2026, 15:04`` / ``27.11.2026 15:04``)."""
    try:
        when = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return "--:--"
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    when = when.astimezone()
    if when.date() == datetime.now().astimezone().date():
        return time_text(when)
    return datetime_text(when)

