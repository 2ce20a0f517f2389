"""The server control panel: start, stop, pause and resume the echo and chat
services, watch the clients and the log, kick, clear logs and clear the
identification file; show the chat certificate's fingerprint and how many
sessions use TLS, and refuse plain chat logins ("Require TLS", issue 13).

Every command runs on the server's control thread (``ControlThread``);
results, periodic snapshots and log records arrive through the window's
event queue as typed events. A destructive command first asks the control
thread what it would take away, then asks the user, "No" being the default.
"""

from __future__ import annotations

import logging
import tkinter as tk
from pathlib import Path
from tkinter import ttk

from gui.kit.settings import Settings
from gui.kit.style import color
from gui.kit.toolwindow import ToolWindow
from gui.panel.budgets import budgets_window
from gui.panel.clients import ClientsTable
from gui.panel.form import read_form
from gui.panel.livelog import MAX_LOG_LINES, LiveLog
from gui.panel.questions import Questions
from gui.panel.tls import TlsRow
from gui.widgets.confirm import confirm_destructive
from gui.widgets.contextmenu import edit_menu
from net import datadir
from net.chat.protocol import DEFAULT_PORT as CHAT_PORT
from net.cli.replies import format_duration, service_name
from net.control import commands as cmd
from net.control.config import ServerConfig
from net.control.controller import ServerController
from net.control.events import Done, Failed, LogLine, Snapshot, Status
from net.control.thread import ControlThread, QueueLogHandler
from net.echo.server import DEFAULT_PORT as ECHO_PORT
from net.i18n import N_, _, ngettext, number
from net.irc.server import DEFAULT_PORT as IRC_PORT

# What could not be done, for "Could not ...: reason".
FAILED_WHAT = {cmd.Start: N_("start"), cmd.CountImpact: N_("count what would be lost"),
               cmd.Kick: N_("kick"), cmd.ReadLog: N_("read the log file"),
               cmd.ClearLogs: N_("clear the log"),
               cmd.ClearUsers: N_("clear the identification file"), cmd.Shutdown: N_("stop"),
               cmd.Pause: N_("pause"), cmd.Resume: N_("resume"),
               cmd.ShowBudgets: N_("read the budgets"),
               cmd.SetRequireTls: N_("change whether TLS is required"),
               cmd.NewCertificate: N_("make a new certificate"),
               cmd.GetStatus: N_("read the state"), cmd.ListClients: N_("list the clients")}


class ControlPanel(LiveLog, ClientsTable, TlsRow, Questions, ToolWindow):
    """The control panel's window: the services form and the state it shows,
    the commands and the control thread's answers. The clients table, the
    live log, the TLS row and the questions before destructive commands are
    mixins in modules of their own."""

    settings_section = "control"
    default_geometry = "820x640"

    def __init__(self, master: tk.Misc, data_dir: Path, settings: Settings | None = None,
                 log_handler: datadir.PrivateRotatingFileHandler | None = None):
        super().__init__(master, _("netdesk — Server control"), settings, icon="server",
                         min_size=(640, 520))
        # All interfaces, as `netdesk serve`: a chat server is for the others
        # on the network; 127.0.0.1 keeps it to this machine.
        self.host = tk.StringVar(self, self.remembered("host", "0.0.0.0"))
        # A remembered port that is no port (edited by hand, older) is
        # forgotten: the default instead, and the panel opens.
        self.echo_port = tk.StringVar(
            self, str(self.remembered_port("echo_port", ECHO_PORT, allow_zero=True)))
        self.chat_port = tk.StringVar(
            self, str(self.remembered_port("chat_port", CHAT_PORT, allow_zero=True)))
        self.irc_port = tk.StringVar(
            self, str(self.remembered_port("irc_port", IRC_PORT, allow_zero=True)))
        self.port_vars = {"echo_port": self.echo_port, "chat_port": self.chat_port,
                          "irc_port": self.irc_port}
        self.state = tk.StringVar(self, _("Stopped"))
        self.counters = tk.StringVar(self, "")
        self.level = tk.StringVar(self, "INFO")
        # Remembered, and used by the next start as well as by the server running now.
        self.require_tls = tk.BooleanVar(self, bool(self.remembered("require_tls", False)))
        self.fingerprint = tk.StringVar(self, "")
        self.line_filter = tk.StringVar(self)
        self.log_records: list[tuple[int, str]] = []
        self._in_flight: list[str] = []
        self._in_flight_left = 0
        self.status_now: Status | None = None
        self.logging_in: set[str] = set()  # rows (addresses) of users still logging in
        # The panel's own view of the server, kept from the control thread's
        # reports: the controller itself belongs to that thread.
        self.running = False
        self.closing = False
        self.asking: str | None = None  # the destructive action whose question is pending
        self._handlers = {LogLine: self._on_log, Snapshot: self._on_snapshot,
                          Done: self._on_done, Failed: self._on_failed}
        # What each command's result means to the panel, by the command's type.
        self._done = {cmd.Start: self._started, cmd.ShowBudgets: self.show_budgets,
                      cmd.Shutdown: self._stopped, cmd.ReadLog: self._log_loaded,
                      cmd.ClearLogs: self._logs_cleared, cmd.ClearUsers: self._users_cleared,
                      cmd.Kick: self._kicked, cmd.Pause: self._paused, cmd.Resume: self._resumed,
                      cmd.CountImpact: self._ask, cmd.SetRequireTls: self._require_tls_set,
                      cmd.NewCertificate: self._certificate_renewed}
        self.controller = ServerController(data_dir, ServerConfig(), log_handler)
        self.control = ControlThread(self.controller, self.events.put)
        self.log_feed = QueueLogHandler(self.events.put)
        logging.getLogger(datadir.LOGGER).addHandler(self.log_feed)
        self._build()
        self._show_state()
        self.control.submit(cmd.ReadLog(MAX_LOG_LINES))  # what the file holds already

    # -- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        # Creation order is the Tab order: fields, buttons, table, its
        # buttons, the log's tools, the log.
        services = ttk.LabelFrame(self, text=_("Services"), padding=(8, 4, 8, 6))
        services.grid(row=0, column=0, sticky="ew", padx=8, pady=(6, 2))
        self.fields: dict[str, ttk.Entry] = {}
        for col, (key, label, var, width) in enumerate(
                [("host", _("Host"), self.host, 16),
                 ("echo_port", _("Echo port"), self.echo_port, 7),
                 ("chat_port", _("Chat port"), self.chat_port, 7),
                 ("irc_port", _("IRC port"), self.irc_port, 7)]):
            # Each label above its field: four fields fit the narrowest window.
            pad = (12 if col else 0, 0)
            ttk.Label(services, text=label).grid(row=0, column=col, sticky="w", padx=pad)
            entry = ttk.Entry(services, textvariable=var, width=width)
            entry.grid(row=1, column=col, sticky="w", padx=pad)
            entry.bind("<Return>", lambda e: self.start())
            entry.bind("<KP_Enter>", lambda e: self.start())
            edit_menu(entry)
            self.fields[key] = entry
        services.columnconfigure(4, weight=1)
        self.field_error = ttk.Label(services, style="Error.TLabel", anchor="w")
        self.field_error.grid(row=2, column=0, columnspan=5, sticky="ew", pady=(4, 0))
        self.field_error.grid_remove()
        self.field_error.bind("<Configure>", lambda e: self.field_error.configure(
            wraplength=max(e.width, 200)))
        buttons = ttk.Frame(services)
        buttons.grid(row=3, column=0, columnspan=5, sticky="w", pady=(6, 0))
        self.buttons: dict[str, ttk.Button] = {}
        for name, label in (("start", _("Start")), ("stop", _("Stop")), ("pause", _("Pause")),
                            ("resume", _("Resume"))):
            # At least 7 characters wide, more if the word needs it (-7).
            b = ttk.Button(buttons, text=label, command=getattr(self, name), width=-7)
            b.pack(side="left", padx=(0, 4))
            self.buttons[name] = b
        self.budgets_button = ttk.Button(buttons, text=_("Budgets…"),
                                         command=lambda: self.control.submit(cmd.ShowBudgets()))
        self.budgets_button.pack(side="left", padx=(12, 0))
        state_row = ttk.Frame(services)
        state_row.grid(row=4, column=0, columnspan=5, sticky="ew", pady=(6, 0))
        # A character, not a drawing: it scales with the font on any screen.
        self.state_dot = ttk.Label(state_row, text="●")
        self.state_dot.pack(side="left", padx=(0, 6))
        ttk.Label(state_row, textvariable=self.state, font="TkHeadingFont").pack(side="left")
        self.counters_label = ttk.Label(services, textvariable=self.counters,
                                        style="Hint.TLabel", justify="left")
        self.counters_label.grid(row=5, column=0, columnspan=5, sticky="ew")
        self.counters_label.bind("<Configure>", lambda e: self.counters_label.configure(
            wraplength=max(e.width, 200)))
        self._build_tls(services, grid_row=6, span=5)

        panes = ttk.PanedWindow(self, orient="vertical")
        panes.grid(row=1, column=0, sticky="nsew", padx=8, pady=2)
        self.panes = panes

        panes.add(self._build_clients(panes), weight=1)
        panes.add(self._build_log(panes), weight=2)

        self.statusbar.grid(row=2, column=0, sticky="ew")
        self.rowconfigure(1, weight=1)
        self.columnconfigure(0, weight=1)
        self._show_kick()

    # -- commands --------------------------------------------------------------------------
    def start(self) -> None:
        if self.running:
            return
        request, field, problem = read_form(self.host.get(), {
            key: var.get() for key, var in self.port_vars.items()})
        self._field_problem(field, problem)
        if request is None:
            return
        self.remember(host=request.host, **request.ports)
        self._busy(_("Starting…"))
        self.control.submit(cmd.Start(request.config(self.require_tls.get())))

    def _field_problem(self, field: str, problem: str) -> None:
        self.field_error.configure(text=problem)
        for key, entry in self.fields.items():
            entry.state(["invalid"] if key == field else ["!invalid"])
        if problem:
            self.field_error.grid()
            if field:
                self.fields[field].focus_set()
                self.fields[field].select_range(0, "end")
        else:
            self.field_error.grid_remove()

    def stop(self) -> None:
        self._ask_first("stop")

    def _stop_now(self) -> None:
        self._busy(_("Stopping…"))
        self.control.submit(cmd.Shutdown())

    def pause(self) -> None:
        self._busy(_("Pausing…"))
        self.control.submit(cmd.Pause())

    def resume(self) -> None:
        self._busy(_("Resuming…"))
        self.control.submit(cmd.Resume())

    def clear_logs(self) -> None:
        self._ask_first("clear_logs")

    def clear_users(self) -> None:
        self._ask_first("clear_users")

    def _busy(self, text: str) -> None:
        self.status.set(text)
        for b in self.buttons.values():
            b.state(["disabled"])
        self._keep_focus_alive()

    # -- events -------------------------------------------------------------------------------
    def on_event(self, event: object) -> None:
        self._handlers[type(event)](event)  # an unknown event is a KeyError, not a silence

    def _on_snapshot(self, event: Snapshot) -> None:
        self.status_now = event.status
        self.running = event.status.running
        self._show_clients(event.clients)
        self._show_state()

    def _on_failed(self, event: Failed) -> None:
        kind = type(event.command)
        if kind is cmd.CountImpact:
            self.asking = None
        what = _(FAILED_WHAT[kind])  # every command has its words: a KeyError otherwise
        self.status.set(_("Could not {what}: {reason}").format(what=what, reason=event.message))
        if kind is cmd.Start:
            self._field_problem("", self.status.get())
        self._show_state()

    def _on_done(self, event: Done) -> None:
        self._done[type(event.command)](event.result)  # an unknown command raises too
        if not self.closed:
            self._show_state()

    def _started(self, result: list[tuple[str, str, int]]) -> None:
        self.running = True
        self.status.set(_("Started: {services}").format(services=", ".join(
            _("{service} on {host}:{port}").format(service=service_name(s), host=h, port=p)
            for s, h, p in result)))

    def _stopped(self, result: None) -> None:
        self.running = False
        self.status_now = None
        self._show_clients([])
        self.status.set(_("Stopped: every service closed"))
        if self.closing:
            self._finish_close()

    def _users_cleared(self, count: int) -> None:
        self.status.set(ngettext("Identification file cleared: {n} account forgotten",
                                 "Identification file cleared: {n} accounts forgotten",
                                 count).format(n=number(count)))

    def _paused(self, result: None) -> None:
        self.status.set(_("Paused: new connections are refused"))

    def _resumed(self, result: None) -> None:
        self.status.set(_("Resumed: listening again"))

    # -- showing the state ------------------------------------------------------------------------
    def _show_state(self) -> None:
        s = self.status_now
        running = self.running
        if not running or s is None:
            text, role = _("Stopped"), "muted"
        elif s.paused:
            text, role = _("Paused — not accepting new connections"), "warning"
        else:
            ports = ", ".join(f"{service_name(k)} {v}" for k, v in s.ports.items())
            text, role = _("Listening — {ports}").format(ports=ports), "accent"
        self.state.set(text)
        self.state_dot.configure(foreground=color(self, role))
        if running and s is not None:
            self.counters.set("  ·  ".join((
                _("up {uptime}").format(uptime=format_duration(s.uptime)),
                ngettext("{n} connection", "{n} connections", s.connections).format(
                    n=number(s.connections)),
                _("{n} online").format(n=number(s.online)),
                ngettext("{n} message", "{n} messages", s.messages).format(
                    n=number(s.messages)))))
        else:
            self.counters.set(_("Start listens on the host and ports above "
                                "(port 0: any free one)."))
        self._show_tls(s if running else None)
        paused = bool(s and s.paused)
        enable = {"start": not running, "stop": running, "pause": running and not paused,
                  "resume": running and paused}
        for name, button in self.buttons.items():
            button.state(["!disabled"] if enable[name] else ["disabled"])
        for entry in self.fields.values():
            entry.state(["disabled"] if running else ["!disabled"])
        self._keep_focus_alive()

    def _keep_focus_alive(self) -> None:
        """A control that just turned grey must not keep the focus (its ring
        would sit on something that does nothing): move on to a live one."""
        try:
            focused = self.focus_get()
        except (KeyError, tk.TclError):  # focus in a menu or a closed dialog
            return
        if not isinstance(focused, ttk.Widget) or not focused.instate(["disabled"]):
            return
        if focused not in (*self.buttons.values(), *self.fields.values(), self.kick_button):
            return
        for widget in (*self.buttons.values(), self.budgets_button):
            if not widget.instate(["disabled"]):
                widget.focus_set()
                return

    def show_budgets(self, rows: list[tuple[str, str]]) -> None:
        """A small window listing what one client or address may use."""
        self.budgets_window = budgets_window(self, rows)

    # -- what the mixins share ---------------------------------------------------------------
    def confirm(self, title: str, question: str, loses: str) -> bool:
        """Ask before something that cannot be undone, "No" being the default."""
        return confirm_destructive(self, title, question, loses)

    def copy(self, text: str) -> None:
        self.clipboard_clear()
        self.clipboard_append(text)

    # -- closing ---------------------------------------------------------------------------------
    def close(self) -> None:
        if self.closed or self.closing:
            return
        if self.running:
            self._ask_first("close")
            return
        self._finish_close()

    def _finish_close(self) -> None:
        self.closing = False
        super().close()

    def close_now(self) -> None:
        """Close without asking; running services are stopped and joined."""
        if not self.closed:
            self._finish_close()

    def stop_workers(self) -> None:
        logging.getLogger(datadir.LOGGER).removeHandler(self.log_feed)
        # Closed without the question (Quit, tests): stopping a stopped
        # server is harmless, and only the control thread knows for sure.
        self.control.submit(cmd.Shutdown())
        self.control.stop()

