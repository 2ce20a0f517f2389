"""What the control side reports, defined once for the panel and the console:
the services' ``Status``, what a destructive command would take away
(``Impact``), and the events the control thread and the log feed emit
(``Done``, ``Failed``, ``Snapshot``, ``LogLine``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Status:
    running: bool
    paused: bool  # some service is not listening
    ports: dict[str, int]
    listening: dict[str, bool]
    connections: int
    online: int
    messages: int
    uptime: float
    # TLS on the chat port: the certificate's fingerprint, the chat
    # connections that speak TLS out of all of them, and whether plain
    # logins are refused.
    tls_fingerprint: str | None = None
    tls_connections: int = 0
    chat_connections: int = 0
    require_tls: bool = False


@dataclass(frozen=True)
class Impact:
    """What the destructive commands would take away right now.

    A count is None when it could not be read; the question then says
    "every" instead of a number."""

    running: bool
    online: int  # chat users logged in
    connections: int  # every open connection, echo included
    accounts: int | None  # in the identification file
    log_lines: int | None  # in the current log file


@dataclass(frozen=True)
class KickResult:
    """Who was to go, and whether they were online to be disconnected."""

    name: str
    kicked: bool


@dataclass(frozen=True)
class Done:
    """A command was carried out; ``result`` is what its method returned."""

    command: object
    result: object


@dataclass(frozen=True)
class Failed:
    """A command could not be carried out; ``message`` says why, for people."""

    command: object
    message: str


@dataclass(frozen=True)
class Snapshot:
    """The services now: sent after each command and every interval while running."""

    status: Status
    clients: list[dict]


@dataclass(frozen=True)
class LogLine:
    """One log record as the log file holds it."""

    level: int
    line: str
