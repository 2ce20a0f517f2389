"""What the controller can be asked to do: one frozen dataclass per command.

The panel and the console both build these; ``ServerController.perform``
carries one out and ``ControlThread.submit`` refuses anything else (a
``TypeError`` at the caller, not a silence on the control thread).
"""

from __future__ import annotations

from dataclasses import dataclass

from net.control.config import ServerConfig


@dataclass(frozen=True)
class Start:
    """Start every configured service; ``config``, if given, from now on."""

    config: ServerConfig | None = None


@dataclass(frozen=True)
class Shutdown:
    """Stop every service: chat clients get ``bye``, every thread is joined."""


@dataclass(frozen=True)
class Pause:
    """Stop listening; the sessions open now go on."""


@dataclass(frozen=True)
class Resume:
    """Listen again on the same ports."""


@dataclass(frozen=True)
class Kick:
    """Disconnect a chat or IRC user; ``reason`` goes to the log."""

    name: str
    reason: str = ""


@dataclass(frozen=True)
class ClearLogs:
    """Empty the current log file."""


@dataclass(frozen=True)
class ClearUsers:
    """Clear the identification file; sessions online now go on."""


@dataclass(frozen=True)
class ReadLog:
    """The last ``lines`` lines of the log file."""

    lines: int = 20


@dataclass(frozen=True)
class ShowBudgets:
    """The budgets in force (or that the next start uses), for people."""


@dataclass(frozen=True)
class SetRequireTls:
    """Refuse plain chat logins (or accept them again), now and after a restart."""

    on: bool


@dataclass(frozen=True)
class CountImpact:
    """Count what the destructive commands would take away now."""


@dataclass(frozen=True)
class NewCertificate:
    """Make the next start use a fresh self-signed certificate."""


@dataclass(frozen=True)
class GetStatus:
    """The services' state now (``Status``)."""


@dataclass(frozen=True)
class ListClients:
    """The chat and IRC connections now."""


Command = (Start | Shutdown | Pause | Resume | Kick | ClearLogs | ClearUsers | ReadLog
           | ShowBudgets | SetRequireTls | CountImpact | NewCertificate | GetStatus
           | ListClients)
COMMANDS: tuple[type, ...] = (Start, Shutdown, Pause, Resume, Kick, ClearLogs, ClearUsers,
                              ReadLog, ShowBudgets, SetRequireTls, CountImpact,
                              NewCertificate, GetStatus, ListClients)


def check(command: object) -> None:
    """Raise TypeError unless ``command`` is one of the controller's commands."""
    if type(command) not in COMMANDS:
        raise TypeError(f"not a control command: {command!r}")
