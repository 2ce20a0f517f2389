"""The panel's questions before destructive commands: the control thread
first counts what the command would take away (accounts, log lines, users
online), then the user is asked with that count in the words, "No" being
the default; a command that would take nothing away runs without asking.

A mixin of ``ControlPanel``: it uses the window's ``control``, ``confirm``,
``asking``, ``_stop_now`` and ``_finish_close``.
"""

from __future__ import annotations

from net.control import commands as cmd
from net.control.events import Impact
from net.i18n import _, ngettext, number


def cut_off(impact: Impact) -> str:
    """Who a stop disconnects: "2 users online and 1 other connection are disconnected"."""
    others = impact.connections - impact.online
    if impact.online and others > 0:
        return _("{users} and {others} are disconnected").format(
            users=ngettext("{n} user online", "{n} users online", impact.online).format(
                n=number(impact.online)),
            others=ngettext("{n} other connection", "{n} other connections",
                            others).format(n=number(others)))
    if impact.online:
        return ngettext("{n} user online is disconnected",
                        "{n} users online are disconnected",
                        impact.online).format(n=number(impact.online))
    if impact.connections:
        return ngettext("{n} open connection is closed", "{n} open connections are closed",
                        impact.connections).format(n=number(impact.connections))
    return _("no one is connected now, but no one can connect until it starts again")


class Questions:
    """Ask before stop, close, clear logs and clear the identification file."""

    asking: str | None  # the destructive action whose question is pending

    def _ask_first(self, action: str) -> None:
        """Count what ``action`` would take away (on the control thread),
        then ask; the answer comes back to ``_ask``."""
        if self.asking is not None:
            return
        self.asking = action
        self.control.submit(cmd.CountImpact())

    def _ask(self, impact: Impact) -> None:
        action, self.asking = self.asking, None
        if action is None or self.closed:
            return
        {"clear_users": self._ask_clear_users, "clear_logs": self._ask_clear_logs,
         "stop": self._ask_stop, "close": self._ask_close}[action](impact)

    def _ask_clear_users(self, impact: Impact) -> None:
        n = impact.accounts
        lost = (_("Every account and its session tokens will be deleted") if n is None
                else ngettext("{n} account and its session tokens will be deleted",
                              "{n} accounts and their session tokens will be deleted",
                              n).format(n=number(n)))
        if n == 0 or self.confirm(
                _("Clear the identification file"),
                _("Forget every account, password and session token?"),
                _("{lost}; those names can then be registered by anyone. "
                  "Users online now stay until they leave.").format(lost=lost)):
            self.control.submit(cmd.ClearUsers())

    def _ask_clear_logs(self, impact: Impact) -> None:
        n = impact.log_lines
        lost = _("Every line of the log file will be deleted for good (older rotated "
                 "files are kept).") if n is None else ngettext(
            "The log file's {n} line will be deleted for good (older rotated files are "
            "kept).",
            "The log file's {n} lines will be deleted for good (older rotated files are "
            "kept).", n).format(n=number(n))
        if n == 0 or self.confirm(_("Clear the log"), _("Empty the log file?"), lost):
            self.control.submit(cmd.ClearLogs())

    def _ask_stop(self, impact: Impact) -> None:
        if not impact.running:
            return
        if impact.connections == 0 or self.confirm(
                _("Stop the server"), _("Stop the echo and chat services?"),
                _("The server stops; {who}.").format(who=cut_off(impact))):
            self._stop_now()

    def _ask_close(self, impact: Impact) -> None:
        if not impact.running:
            self._finish_close()
        elif self.confirm(
                _("Stop the server and close?"),
                _("The services are running. Stop them and close the panel?"),
                _("The server stops; {who}.").format(who=cut_off(impact))):
            self.closing = True
            self._stop_now()  # the window closes when the control thread says it stopped
