"""What a ``ChatSession`` reports to its window: one small dataclass per event.

The session thread emits these; a window dispatches them by type and
raises on a type it does not know, so a new or misspelled event cannot be
dropped without anyone noticing (as a bare ``("hello", ...)`` tuple sent to
``getattr(self, "_on_" + name)`` could be).

Reasons are for people, in the user's language. The ``code`` of a
``LoginFailed`` or ``ServerError`` is the protocol's, which the window
translates; its ``message`` is the server's own words (English), shown only
for a code the window does not know. Decide on codes and ``Ended``, never
on words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from net.tls import TlsInfo


class Ended(str, Enum):
    """Why a session stopped being logged in; decides what a window offers next."""

    KICKED = "kicked"          # the operator ended it; the token may still resume
    ENDED = "ended"            # the server said bye for another reason
    EXPIRED = "expired"        # the token was refused: log in with the password again
    GAVE_UP = "gave_up"        # every reconnect attempt failed; the token is kept
    LOST = "lost"              # dropped before a login: nothing to resume
    FAILED = "failed"          # a bug in the session thread (logged)


@dataclass(frozen=True)
class Hello:
    known_name: str | None  # the name last logged in from this address (a hint only)
    server: str
    address: tuple[str, int]
    security: TlsInfo | None = None  # None: a plain connection
    tls_required: bool = False  # the server refuses plain logins


@dataclass(frozen=True)
class CertificateChanged:
    """The server's certificate is not the one pinned for its address. The
    session is not connected; the window asks the user, who may accept the
    new one (its pin) and connect, or ``reconnect`` when ``resuming``."""

    pinned: str
    offered: str
    address: tuple[str, int]
    resuming: bool = False


@dataclass(frozen=True)
class ConnectFailed:
    message: str
    address: tuple[str, int] | None


@dataclass(frozen=True)
class LoginFailed:
    code: str
    message: str


@dataclass(frozen=True)
class Welcome:
    name: str
    online: list[str]
    history: list[dict]
    new_account: bool
    resumed: bool
    # Counts the session's logins: a ``say`` made for an earlier one is not
    # sent on a later connection (the window decides what to send again).
    epoch: int
    address: tuple[str, int] = ("", 0)


@dataclass(frozen=True)
class Message:
    msg: dict


@dataclass(frozen=True)
class Joined:
    name: str


@dataclass(frozen=True)
class Left:
    name: str


@dataclass(frozen=True)
class History:
    messages: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class ServerError:
    """An ``error`` after login (``bad_text``, ``rate_limited``, ...)."""

    code: str
    message: str


@dataclass(frozen=True)
class Reconnecting:
    attempt: int
    attempts: int
    delay: float
    reason: str  # in the user's language
    refused: bool = False  # the last attempt found nothing listening (stopped or paused)


@dataclass(frozen=True)
class Closed:
    reason: str
    why: Ended


ChatEvent = (Hello | CertificateChanged | ConnectFailed | LoginFailed | Welcome | Message
             | Joined | Left | History | ServerError | Reconnecting | Closed)
