"""The console's words: a line typed at ``netdesk serve`` becomes a command
object for the controller, and what the controller answers becomes a reply.

The controller knows nothing of text; this module is the terminal's face
of it (the panel is the other). ``execute(controller, line)`` runs one line.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from net import fields
from net.cli.replies import budgets_table, clients_table, service_name, status_text, tls_summary
from net.control import commands as c
from net.control.controller import ServerController
from net.control.events import KickResult
from net.i18n import N_, _, ngettext, number

log = logging.getLogger("netdesk.control")

LOGS_MOST = 10_000  # lines ``logs N`` may ask for
NAME_SHOWN = 32  # longer than any chat name (net/chat/protocol.NAME_MAX)


@dataclass
class Reply:
    """What a command answers: text for the user, and whether to exit."""

    text: str
    stop: bool = False


def execute(controller: ServerController, line: str) -> Reply:
    """Run one console command line and say what happened."""
    words = line.split()
    if not words:
        return Reply("")
    name, rest = words[0].lower(), words[1:]
    word = WORDS.get(name)
    if word is None:
        shown = name if len(name) <= 20 else name[:20] + "..."
        return Reply(_("unknown command {name}; type 'help' for the list").format(
            name=repr(shown)))
    try:
        return word(controller, rest)
    except (OSError, ValueError, sqlite3.Error) as e:
        return Reply(f"{name}: {e}")
    except Exception as e:  # a bug: logged in full, one line for the user
        log.exception("command %s failed", name)
        return Reply(_("{command} failed: {error}: {reason} (details in the log)").format(
            command=name, error=type(e).__name__, reason=e))


def _no_arguments(command: str) -> Reply:
    return Reply(_("usage: {command} (no arguments)").format(command=command))


Word = Callable[[ServerController, list[str]], Reply]


def _bare(command: str, then: Callable[[ServerController], Reply]) -> Word:
    """A word that takes no arguments."""
    def word(controller: ServerController, rest: list[str]) -> Reply:
        return _no_arguments(command) if rest else then(controller)
    return word


def _shutdown(controller: ServerController) -> Reply:
    controller.perform(c.Shutdown())
    return Reply(_("server stopped"), stop=True)


def _pause(controller: ServerController) -> Reply:
    if controller.perform(c.GetStatus()).paused:
        return Reply(_("already paused"))
    controller.perform(c.Pause())
    return Reply(_("paused: new connections are refused; current sessions go on"))


def _resume(controller: ServerController) -> Reply:
    s = controller.perform(c.GetStatus())
    if not s.paused:
        return Reply(_("not paused") if s.running else _("the server is not running"))
    controller.perform(c.Resume())
    ports = controller.perform(c.GetStatus()).ports
    return Reply(_("resumed: {services}").format(services=", ".join(
        _("{service} on port {port}").format(service=service_name(name), port=port)
        for name, port in ports.items())))


def _logs(controller: ServerController, rest: list[str]) -> Reply:
    usage = Reply(_("usage: logs [N], N a number of lines from 1 to {most}").format(
        most=LOGS_MOST))
    if len(rest) > 1:
        return usage
    n = 20
    if rest:
        try:
            n = fields.whole_number(rest[0], 1, LOGS_MOST)
        except fields.FieldError:
            return usage
    lines = controller.perform(c.ReadLog(n))
    return Reply("\n".join(lines) if lines else _("(the log is empty)"))


def _clear_logs(controller: ServerController) -> Reply:
    controller.perform(c.ClearLogs())
    return Reply(_("log cleared"))


def _clear_users(controller: ServerController) -> Reply:
    count = controller.perform(c.ClearUsers())
    return Reply(ngettext("identification file cleared: {n} account forgotten; "
                          "users online now stay until they leave",
                          "identification file cleared: {n} accounts forgotten; "
                          "users online now stay until they leave", count).format(
        n=number(count)))


def _status(controller: ServerController) -> Reply:
    return Reply(status_text(controller.perform(c.GetStatus())))


def _tls(controller: ServerController, rest: list[str]) -> Reply:
    usage = Reply(_("usage: tls [require on|off]"))
    if rest:
        if len(rest) != 2 or rest[0].lower() != "require" \
                or rest[1].lower() not in ("on", "off"):
            return usage
        required = controller.perform(c.SetRequireTls(rest[1].lower() == "on"))
        return Reply(_("TLS is now required for logins; plain sessions already "
                       "logged in go on") if required
                     else _("plain logins are accepted again"))
    s = controller.perform(c.GetStatus())
    if not s.running or not s.tls_fingerprint:
        return Reply(_("the chat service is not running"))
    return Reply(_("chat tls fingerprint {fingerprint}").format(
        fingerprint=s.tls_fingerprint) + "\n" + tls_summary(s))


def _clients(controller: ServerController) -> Reply:
    return Reply(clients_table(controller.perform(c.ListClients())))


def _kick(controller: ServerController, rest: list[str]) -> Reply:
    if len(rest) != 1:
        return Reply(_("usage: kick NAME"))
    name = rest[0]
    if len(name) > NAME_SHOWN:
        return Reply(_("{name} is not online").format(name=name[:NAME_SHOWN] + "..."))
    result: KickResult = controller.perform(c.Kick(name))
    if result.kicked:
        return Reply(_("{name} disconnected").format(name=name))
    return Reply(_("{name} is not online").format(name=name))


def _budgets(controller: ServerController) -> Reply:
    return Reply(budgets_table(controller.perform(c.ShowBudgets())))


def _help(controller: ServerController) -> Reply:
    return Reply(help_text())


# The console's commands and what each does, in the order ``help`` lists them
# (marked with N_, shown through _() when asked: the language may change).
HELP = [
    ("status", N_("ports, paused or not, clients, messages, uptime")),
    ("clients", N_("who is online, from where, since when")),
    (N_("kick NAME"), N_("disconnect a chat or IRC user")),
    ("pause", N_("stop listening (current sessions go on)")),
    ("resume", N_("listen again on the same ports")),
    ("logs [N]", N_("the last N log lines (default 20, at most 10000)")),
    ("clear-logs", N_("empty the log file")),
    ("clear-users", N_("clear the identification file (all accounts and tokens)")),
    ("budgets", N_("what one client or address may use (see --help of serve)")),
    ("tls", N_("the certificate's fingerprint and how many use TLS")),
    ("tls require on|off", N_("refuse (or accept again) logins without TLS")),
    ("help", N_("this list")),
    ("shutdown", N_("stop every service and exit")),
]


def help_text() -> str:
    """What ``help`` answers, in the current language."""
    lines = [_("commands:")]
    lines += [f"  {_(command):17s} {_(what)}" for command, what in HELP]
    return "\n".join(lines)


WORDS: dict[str, Word] = {
    "shutdown": _bare("shutdown", _shutdown),
    "quit": _bare("shutdown", _shutdown),
    "exit": _bare("shutdown", _shutdown),
    "pause": _bare("pause", _pause),
    "resume": _bare("resume", _resume),
    "logs": _logs,
    "clear-logs": _bare("clear-logs", _clear_logs),
    "clear-users": _bare("clear-users", _clear_users),
    "status": _bare("status", _status),
    "clients": _bare("clients", _clients),
    "kick": _kick,
    "budgets": _bare("budgets", _budgets),
    "tls": _tls,
    "help": _bare("help", _help),
    "?": _bare("help", _help),
}
