"""The login form's fields checked into a request, without Tk: what the
form may send, or which field is wrong and why.

The checks are the server's own rules (the nickname, the password's
length), so no round trip is wasted on a login it would refuse, and the
address goes through ``net.fields`` like every window's: ASCII digits for
the port (never ``１２３`` or ``²``), bounded before conversion, and a host
without spaces, which would go to the resolver and be remembered.
"""

from __future__ import annotations

from dataclasses import dataclass

from gui.chat.wording import login_message
from net import fields
from net.chat.names import name_problem
from net.chat.protocol import PASSWORD_MAX
from net.i18n import _, ngettext, number, sentence


@dataclass(frozen=True)
class LoginRequest:
    """A login the form may send: to ``host``:``port``, over TLS unless ``plain``."""

    host: str
    port: int
    name: str
    password: str
    plain: bool = False

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port


class LoginProblem(ValueError):
    """A field the form must not send as it is: ``field`` ("host", "port",
    "name" or "password") and the message for the user."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def check_credentials(name: str, password: str) -> str:
    """The nickname (stripped) when it and the password are ones the server
    takes; raises ``LoginProblem`` otherwise."""
    name = name.strip()
    if name_problem(name):
        raise LoginProblem("name", login_message("bad_name", "", name))
    if not password:
        raise LoginProblem("password",
                           _("Enter a password (a new nickname is registered with it)."))
    if len(password) > PASSWORD_MAX:
        raise LoginProblem("password", ngettext(
            "A password is at most {n} character.", "A password is at most {n} characters.",
            PASSWORD_MAX).format(n=number(PASSWORD_MAX)))
    return name


def check_address(host_text: str, port_text: str) -> tuple[str, int]:
    """The server's address from the form's fields; raises ``LoginProblem``
    (the host's message first, as the form has always said it)."""
    try:
        host = fields.host(host_text)
    except fields.FieldError as e:
        raise LoginProblem("host", sentence(str(e))) from None
    try:
        port = fields.port(port_text)
    except fields.FieldError as e:
        raise LoginProblem("port", sentence(str(e))) from None
    return host, port


def login_request(host: str, port: str, name: str, password: str,
                  plain: bool = False) -> LoginRequest:
    """The form's fields as a request: the nickname and password first (the
    fields the user is typing in), then the address."""
    name = check_credentials(name, password)
    host_name, port_number = check_address(host, port)
    return LoginRequest(host_name, port_number, name, password, plain)
