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
import re
import tkinter as tk
from datetime import date, datetime
from pathlib import Path
from tkinter import font as tkfont
from tkinter import ttk

from gui.kit.settings import Settings
from gui.kit.style import color, px, themed_text
from gui.kit.toolwindow import ChoiceBox, ToolWindow
from gui.panel.form import read_form
from gui.widgets.confirm import confirm_destructive
from gui.widgets.contextmenu import attach, edit_menu, read_only_menu
from gui.widgets.findbar import MAX_MATCHES, FindBar
from gui.widgets.security import Padlock
from net import datadir, i18n
from net.chat.protocol import DEFAULT_PORT as CHAT_PORT
from net.cli.replies import format_duration, service_name, tls_summary
from net.control import commands as cmd
from net.control.config import ServerConfig
from net.control.controller import ServerController
from net.control.events import Done, Failed, Impact, KickResult, LogLine, Snapshot, Status
from net.control.thread import ControlThread, QueueLogHandler
from net.echo.server import DEFAULT_PORT as ECHO_PORT
from net.i18n import N_, _, ngettext, number, pgettext
from net.irc.server import DEFAULT_PORT as IRC_PORT

LEVELS = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARNING": logging.WARNING,
          "ERROR": logging.ERROR}
LEVEL_ROLES = {"DEBUG": "muted", "WARNING": "warning", "ERROR": "error", "CRITICAL": "error"}
MAX_LOG_LINES = 5000
TRIM_STEP = 500  # lines dropped from the top of the view at a time
IN_FLIGHT = 8  # live records checked against the file's last lines after the first read
# What the table shows for a connection that has no name yet (the control
# thread's rows carry None; the panel keeps such rows in ``logging_in``).
LOGGING_IN = N_("(logging in)")
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


def level_name(level: str) -> str:
    """A log level as the view shows it: "WARNING" / "ВНИМАНИЕ" (the log file
    itself stays English)."""
    names = {"DEBUG": pgettext("log level", "DEBUG"), "INFO": pgettext("log level", "INFO"),
             "WARNING": pgettext("log level", "WARNING"),
             "ERROR": pgettext("log level", "ERROR"),
             "CRITICAL": pgettext("log level", "CRITICAL")}
    return names.get(level, level)


def level_width() -> int:
    """Characters the level column of the view takes in the language in force."""
    return max(len(level_name(level)) for level in LEVELS)


# -- fields ------------------------------------------------------------------------------
def level_of(line: str) -> int:
    """The level of a log file line (continuation lines count as INFO)."""
    parts = line.split(None, 3)
    return LEVELS.get(parts[2], logging.INFO) if len(parts) > 2 else logging.INFO


# -- log lines as shown ------------------------------------------------------------------
_RECORD = re.compile(r"(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}),\d+ (\w+)\s+([\w.]+): (.*)",
                     re.DOTALL)


def shown_line(line: str, today: str | None = None) -> str:
    """A log file line made to fit the view: the time (and the date when it
    is not today, as the user's language writes it), the level in the
    user's language, and the message without the logger's name when the
    message repeats it ("netdesk.chat: chat: ..." -> "chat: ...")."""
    m = _RECORD.fullmatch(line)
    if not m:
        return line
    day, clock, level, name, message = m.groups()
    if day == (today or date.today().isoformat()):
        when = clock
    else:
        try:
            when = i18n.datetime_text(datetime.fromisoformat(f"{day} {clock}"), seconds=True)
        except ValueError:
            when = f"{day} {clock}"
    short = name.removeprefix("netdesk.")
    if not message.startswith(f"{short.rsplit('.', 1)[-1]}:"):
        message = f"{short}: {message}"
    return f"{when} {level_name(level):<{level_width()}} {message}"


class ControlPanel(ToolWindow):
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
        self._build_tls(services)

        panes = ttk.PanedWindow(self, orient="vertical")
        panes.grid(row=1, column=0, sticky="nsew", padx=8, pady=2)
        self.panes = panes

        clients = ttk.LabelFrame(panes, text=_("Chat clients"), padding=(6, 2, 6, 6))
        cols = ("name", "address", "tls", "since", "via", "messages")
        self.clients = ttk.Treeview(clients, columns=cols, show="headings", height=5,
                                    selectmode="browse")
        # The fixed columns as wide as their heading or their widest value
        # in this font; name and address share the rest.
        heading_font = tkfont.nametofont("TkHeadingFont")
        body_font = tkfont.nametofont("TkDefaultFont")
        headings = {"name": _("Name"), "address": _("Address"), "since": _("Since"),
                    "via": _("Via"), "messages": _("Messages"),
                    "tls": pgettext("clients column", "TLS")}
        for col, sample, stretch in (("name", "nickname", True),
                                     ("address", "127.0.0.1:65535", True),
                                     ("tls", max(_("yes"), _("no"), key=len), False),
                                     ("since", i18n.time_text(datetime(2026, 12, 28, 23, 59, 59),
                                                              seconds=True), False),
                                     ("via", "chat", False),
                                     ("messages", "00000", False)):
            width = max(heading_font.measure(headings[col]), body_font.measure(sample)) + 16
            anchor = {"messages": "e", "tls": "center"}.get(col, "w")
            self.clients.heading(col, text=headings[col], anchor=anchor)
            self.clients.column(col, width=width, minwidth=min(width, 60), stretch=stretch,
                                anchor=anchor)
        self.clients.grid(row=0, column=0, sticky="nsew")
        bar = ttk.Scrollbar(clients, orient="vertical", command=self.clients.yview)
        self.clients.configure(yscrollcommand=bar.set)
        bar.grid(row=0, column=1, sticky="ns")
        side = ttk.Frame(clients)
        side.grid(row=0, column=2, sticky="n", padx=(6, 0))
        self.kick_button = ttk.Button(side, text=_("Kick"), command=self.kick_selected)
        self.kick_button.pack(fill="x")
        # Accounts live with the users, not with the log.
        self.clear_users_button = ttk.Button(side, text=_("Clear identification\nfile…"),
                                             command=self.clear_users)
        self.clear_users_button.pack(fill="x", pady=(6, 0))
        clients.rowconfigure(0, weight=1)
        clients.columnconfigure(0, weight=1)
        # Once laid out and drawn: the theme's frame is measured on screen.
        self.clients.bind("<Configure>", lambda e: self.after_idle(self._fit_columns),
                          add="+")
        self.clients.bind("<<TreeviewSelect>>", lambda e: self._show_kick())
        self.clients.bind("<FocusIn>", lambda e: self._focus_a_row())
        attach(self.clients, self._client_menu)
        panes.add(clients, weight=1)

        logs = ttk.LabelFrame(panes, text=_("Log"), padding=(6, 2, 6, 6))
        tools = ttk.Frame(logs)
        tools.grid(row=0, column=0, columnspan=2, sticky="ew", pady=(0, 4))
        level_label = ttk.Label(tools, text=_("Level"))
        level_names = {level: level_name(level) for level in LEVELS}
        level_box = ChoiceBox(tools, self.level, level_names,
                              width=max(9, *(len(n) + 2 for n in level_names.values())))
        self.level.trace_add("write", lambda *a: self.render_log())
        self.level_box = level_box
        filter_label = ttk.Label(tools, text=_("Only lines with"))
        self.filter_entry = ttk.Entry(tools, textvariable=self.line_filter, width=8)
        self.filter_entry.bind("<Escape>", lambda e: self.line_filter.set(""))
        edit_menu(self.filter_entry)
        self.line_filter.trace_add("write", lambda *a: self.render_log())
        self.clear_logs_button = ttk.Button(tools, text=_("Clear logs…"), command=self.clear_logs)
        # Packed from the button on: the filter field gives way when the
        # window is narrow (the words are longer in Russian), never the button.
        self.clear_logs_button.pack(side="right", padx=(8, 0))
        level_label.pack(side="left")
        level_box.pack(side="left", padx=(4, 12))
        filter_label.pack(side="left")
        self.filter_entry.pack(side="left", padx=(4, 0), fill="x", expand=True)
        # Wrapped, with continuation lines indented under the message: no
        # sideways scrolling at any width.
        self.log_view = tk.Text(logs, height=6, wrap="word", state="disabled",
                                font="TkFixedFont", relief="flat", padx=4, pady=2,
                                highlightthickness=1, takefocus=1)  # Tab reaches it
        themed_text(self.log_view, LEVEL_ROLES)
        self.log_view.configure(highlightcolor=color(self, "accent"),
                                highlightbackground=ttk.Style(self).lookup("TFrame",
                                                                           "background"))
        # Continuation lines start under the message: after the time and the level.
        indent = tkfont.Font(self, font="TkFixedFont").measure(" " * (10 + level_width()))
        self.log_view.tag_configure("line", lmargin2=indent + 4)
        ybar = ttk.Scrollbar(logs, orient="vertical", command=self.log_view.yview)
        self.log_view.configure(yscrollcommand=ybar.set)
        self.log_view.grid(row=1, column=0, sticky="nsew")
        ybar.grid(row=1, column=1, sticky="ns")
        self.log_view.bind("<1>", lambda e: self.log_view.focus_set())
        self.log_view.bind("<Control-a>", lambda e: (self.log_view.tag_add(
            "sel", "1.0", "end-1c"), "break")[1])
        read_only_menu(self.log_view)
        self.findbar = _LiveFindBar(logs, self.log_view)
        self.findbar.grid(row=2, column=0, columnspan=2, sticky="ew", pady=(4, 0))
        self.findbar.grid_remove()
        edit_menu(self.findbar.entry)
        FindBar.bind_keys(self, self.findbar)
        logs.rowconfigure(1, weight=1)
        logs.columnconfigure(0, weight=1)
        panes.add(logs, weight=2)

        self.statusbar.grid(row=2, column=0, sticky="ew")
        self.rowconfigure(1, weight=1)
        self.columnconfigure(0, weight=1)
        self._show_kick()

    def _build_tls(self, services: ttk.LabelFrame) -> None:
        """The chat's TLS: require it or not, the certificate's fingerprint
        (whole in a read-only field, to copy and read out to users), the share."""
        row = ttk.Frame(services)
        row.grid(row=6, column=0, columnspan=5, sticky="ew", pady=(6, 0))
        self.require_box = ttk.Checkbutton(row, text=_("Require TLS for chat logins"),
                                           variable=self.require_tls,
                                           command=self._require_tls_changed)
        self.require_box.grid(row=0, column=0, columnspan=5, sticky="w")
        self.tls_padlock = Padlock(row)
        self.tls_padlock.grid(row=1, column=0, sticky="w", pady=(4, 0))
        ttk.Label(row, text=_("Certificate")).grid(row=1, column=1, sticky="w",
                                                   padx=(px(self, 4), px(self, 6)),
                                                   pady=(4, 0))
        self.fingerprint_entry = ttk.Entry(row, textvariable=self.fingerprint,
                                           state="readonly", font="TkFixedFont")
        self.fingerprint_entry.grid(row=1, column=2, sticky="ew", pady=(4, 0))
        attach(self.fingerprint_entry, self._fingerprint_menu)
        self.copy_fingerprint_button = ttk.Button(
            row, text=_("Copy"), width=-6,
            command=lambda: self._copy(self.fingerprint.get()))
        self.copy_fingerprint_button.grid(row=1, column=3, padx=(6, 0), pady=(4, 0))
        self.new_certificate_button = ttk.Button(row, text=_("New certificate…"),
                                                 command=self.new_certificate)
        self.new_certificate_button.grid(row=1, column=4, padx=(6, 0), pady=(4, 0))
        self.tls_share = ttk.Label(row, style="Hint.TLabel", justify="left")
        self.tls_share.grid(row=2, column=0, columnspan=5, sticky="ew")
        self.tls_share.bind("<Configure>", lambda e: self.tls_share.configure(
            wraplength=max(e.width, 200)))
        row.columnconfigure(2, weight=1)

    def _fingerprint_menu(self, event: tk.Event) -> tk.Menu | None:
        fingerprint = self.fingerprint.get()
        if not fingerprint:
            return None
        menu = tk.Menu(self, tearoff=False)
        menu.add_command(label=_("Copy fingerprint"), command=lambda: self._copy(fingerprint))
        return menu

    def _require_tls_changed(self) -> None:
        """Remembered for the next start, and told to the server running now
        (the control thread keeps it for a restart too)."""
        required = self.require_tls.get()
        self.remember(require_tls=required)
        self.control.submit(cmd.SetRequireTls(required))

    def _require_tls_set(self, required: bool) -> None:
        if not self.running:
            self.status.set(_("The chat will refuse plain logins when it starts") if required
                            else _("The chat will accept plain logins when it starts"))
        else:
            self.status.set(_("TLS is now required for chat logins; plain sessions already "
                              "logged in go on") if required
                            else _("Plain chat logins are accepted again"))

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

    def selected_name(self) -> str | None:
        """The chat name of the selected row, if it has one (not still logging in)."""
        for item in self.clients.selection():
            name = self.clients.set(item, "name")
            if name and item not in self.logging_in:
                return name
        return None

    def kick_selected(self) -> None:
        name = self.selected_name()
        if name is None:
            self.status.set(_("Select a user in the table to kick"))
            return
        # Disconnecting asks first, as every other disconnecting action; No
        # is the default.
        if not confirm_destructive(
                self, _("Kick {name}").format(name=name),
                _("Disconnect {name} now?").format(name=name),
                _("{name} is disconnected at once and may log in again.").format(name=name)):
            return
        self.status.set(_("Kicking {name}…").format(name=name))
        self.control.submit(cmd.Kick(name, "kicked from the control panel"))

    def new_certificate(self) -> None:
        """A fresh self-signed certificate from the chat's next start, after
        asking (clients that pinned the old one will be warned)."""
        if confirm_destructive(
                self, _("New certificate"), _("Make a new certificate for the chat?"),
                _("The chat uses a new self-signed certificate from its next start "
                  "(stop and start it to use it now). Chat clients that trusted the old "
                  "one will be warned that the certificate changed; tell them the new "
                  "fingerprint.")):
            self.control.submit(cmd.NewCertificate())

    def clear_logs(self) -> None:
        self._ask_first("clear_logs")

    def clear_users(self) -> None:
        self._ask_first("clear_users")

    def _busy(self, text: str) -> None:
        self.status.set(text)
        for b in self.buttons.values():
            b.state(["disabled"])
        self._keep_focus_alive()

    # -- questions before destructive commands ----------------------------------------------
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
        if action == "clear_users":
            n = impact.accounts
            lost = (_("Every account and its session tokens will be deleted") if n is None
                    else ngettext("{n} account and its session tokens will be deleted",
                                  "{n} accounts and their session tokens will be deleted",
                                  n).format(n=number(n)))
            if n == 0 or confirm_destructive(
                    self, _("Clear the identification file"),
                    _("Forget every account, password and session token?"),
                    _("{lost}; those names can then be registered by anyone. "
                      "Users online now stay until they leave.").format(lost=lost)):
                self.control.submit(cmd.ClearUsers())
        elif action == "clear_logs":
            n = impact.log_lines
            lost = _("Every line of the log file will be deleted for good (older rotated "
                     "files are kept).") if n is None else ngettext(
                "The log file's {n} line will be deleted for good (older rotated files are "
                "kept).",
                "The log file's {n} lines will be deleted for good (older rotated files are "
                "kept).", n).format(n=number(n))
            if n == 0 or confirm_destructive(
                    self, _("Clear the log"), _("Empty the log file?"), lost):
                self.control.submit(cmd.ClearLogs())
        elif action == "stop":
            if not impact.running:
                return
            if impact.connections == 0 or confirm_destructive(
                    self, _("Stop the server"), _("Stop the echo and chat services?"),
                    _("The server stops; {who}.").format(who=self._cut_off(impact))):
                self._stop_now()
        elif action == "close":
            if not impact.running:
                self._finish_close()
            elif confirm_destructive(
                    self, _("Stop the server and close?"),
                    _("The services are running. Stop them and close the panel?"),
                    _("The server stops; {who}.").format(who=self._cut_off(impact))):
                self.closing = True
                self._stop_now()  # the window closes when the control thread says it stopped

    @staticmethod
    def _cut_off(impact: Impact) -> str:
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

    # -- events -------------------------------------------------------------------------------
    def on_event(self, event: object) -> None:
        self._handlers[type(event)](event)  # an unknown event is a KeyError, not a silence

    def _on_log(self, event: LogLine) -> None:
        if self._in_flight:
            # A record written to the file just before the read, whose live
            # copy was still on its way: shown already.
            self._in_flight_left -= 1
            taken = _take(self._in_flight, event.line)
            if self._in_flight_left <= 0:
                self._in_flight = []
            if taken:
                return
        self.add_log(event.level, event.line)

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

    def _log_loaded(self, lines: list[str]) -> None:
        """The file's last lines, read once at the start. A record logged
        meanwhile reaches the file and the live feed both, the feed before
        or after this read: each is kept once."""
        live = self.log_records
        recent = lines[-(len(live) + IN_FLIGHT):]
        kept = [(level, line) for level, line in live if not _take(recent, line)]
        self.log_records = [(level_of(line), line) for line in lines] + kept
        del self.log_records[:-MAX_LOG_LINES]
        # Live copies still on their way are looked for in the next few.
        self._in_flight = recent
        self._in_flight_left = IN_FLIGHT
        self.render_log()

    def _logs_cleared(self, result: None) -> None:
        self.log_records.clear()
        self.render_log()
        self.status.set(_("Log cleared"))

    def _users_cleared(self, count: int) -> None:
        self.status.set(ngettext("Identification file cleared: {n} account forgotten",
                                 "Identification file cleared: {n} accounts forgotten",
                                 count).format(n=number(count)))

    def _kicked(self, result: KickResult) -> None:
        self.status.set(_("Kicked {name}").format(name=result.name) if result.kicked
                        else _("{name} is no longer online").format(name=result.name))

    def _certificate_renewed(self, running: bool) -> None:
        self.status.set(_("The chat will use a new certificate from its next start")
                        if running else
                        _("The chat will use a new certificate when it starts"))

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

    def _show_tls(self, s: Status | None) -> None:
        """The certificate's fingerprint and the share of TLS sessions, while
        the chat service runs."""
        fingerprint = s.tls_fingerprint if s is not None else None
        self.fingerprint.set(fingerprint or "")
        self.tls_padlock.draw("closed" if fingerprint else None)
        self.fingerprint_entry.state(["!disabled"] if fingerprint else ["disabled"])
        self.copy_fingerprint_button.state(["!disabled"] if fingerprint else ["disabled"])
        self.tls_share.configure(text=tls_summary(s) if fingerprint else _(
            "The fingerprint shows while the chat service runs."))

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

    def _show_kick(self) -> None:
        self.kick_button.state(["!disabled"] if self.selected_name() else ["disabled"])
        self._keep_focus_alive()

    def _fit_columns(self) -> None:
        """Columns wider than the table: the stretching ones (name, address)
        give way, down to their least width, so the last column is not cut
        (Tk only stretches them by what the table's width changes)."""
        if self.closed:
            return
        table = self.clients
        width = table.winfo_width()
        # The theme's frame around the rows: where the headings start, on each side.
        inset = next((x for x in range(px(self, 12)) if table.identify_region(
            x, px(self, 12)) != "nothing"), 0)
        over = sum(int(table.column(c, "width")) for c in table["columns"]) - width + 2 * inset
        for col in reversed([c for c in table["columns"] if table.column(c, "stretch")]):
            if over <= 0:
                return
            now, least = int(table.column(col, "width")), int(table.column(col, "minwidth"))
            give = min(over, now - least)
            if give > 0:
                table.column(col, width=now - give)
                over -= give

    def _focus_a_row(self) -> None:
        """Tabbing into the table shows where the keyboard is."""
        children = self.clients.get_children()
        if children and not self.clients.focus():
            self.clients.focus(children[0])

    def _show_clients(self, rows: list[dict]) -> None:
        """Update the table in place (keyed by address), so the selection,
        the keyboard focus and the scroll position survive each snapshot."""
        seen = set()
        today = date.today()
        for index, row in enumerate(rows):
            via = row.get("via", "chat")
            # An IRC connection may come from the same address and port as a chat one.
            iid = row["address"] if via == "chat" else f"{via} {row['address']}"
            seen.add(iid)
            if row["name"]:
                self.logging_in.discard(iid)
            else:
                self.logging_in.add(iid)
            since = datetime.fromtimestamp(row["since"])
            values = (row["name"] or _(LOGGING_IN), row["address"],
                      _("yes") if row.get("tls") else _("no"),
                      i18n.time_text(since, seconds=True) if since.date() == today
                      else i18n.datetime_text(since), service_name(via),
                      number(row["messages"]))
            if self.clients.exists(iid):
                if tuple(str(v) for v in self.clients.item(iid, "values")) != \
                        tuple(str(v) for v in values):
                    self.clients.item(iid, values=values)
                if self.clients.index(iid) != index:
                    self.clients.move(iid, "", index)
            else:
                self.clients.insert("", index, iid=iid, values=values)
        gone = [i for i in self.clients.get_children() if i not in seen]
        if gone:
            self.clients.delete(*gone)
        self.logging_in &= seen
        self._show_kick()

    def _client_menu(self, event: tk.Event) -> tk.Menu | None:
        row = self.clients.identify_row(event.y) if event.y else ""
        if row:
            self.clients.selection_set(row)
            self.clients.focus(row)
        selection = self.clients.selection()
        if not selection:
            return None
        name = self.clients.set(selection[0], "name")
        menu = tk.Menu(self, tearoff=False)
        kickable = selection[0] not in self.logging_in
        menu.add_command(label=_("Kick {name}").format(name=name) if kickable
                         else _("Kick (still logging in)"),
                         command=self.kick_selected,
                         state="normal" if kickable else "disabled")
        menu.add_command(label=_("Copy name"), command=lambda: self._copy(name),
                         state="normal" if kickable else "disabled")
        menu.add_command(label=_("Copy address"),
                         command=lambda: self._copy(self.clients.set(selection[0], "address")))
        return menu

    def _copy(self, text: str) -> None:
        self.clipboard_clear()
        self.clipboard_append(text)

    def show_budgets(self, rows: list[tuple[str, str]]) -> None:
        """A small window listing what one client or address may use."""
        top = tk.Toplevel(self)
        top.title(_("netdesk — Budgets"))
        top.transient(self.winfo_toplevel())
        ttk.Label(top, padding=(10, 8, 10, 4), wraplength=420, justify="left",
                  text=_("What one client or address may make the server keep. Addresses in "
                         "the trusted networks skip the per-address budgets. Set them with "
                         "the flags of 'netdesk serve' (see --help).")).pack(fill="x")
        table = ttk.Treeview(top, columns=("budget", "value"), show="headings",
                             height=len(rows))
        table.heading("budget", text=_("Budget"))
        table.heading("value", text=_("Value"))
        # As wide as the longest name and value in the language shown.
        body = tkfont.nametofont("TkDefaultFont")
        for col, index, least in (("budget", 0, 220), ("value", 1, 160)):
            widest = max((body.measure(str(row[index])) for row in rows), default=0)
            table.column(col, width=max(least, widest + 24), stretch=col == "value")
        for row in rows:
            table.insert("", "end", values=row)
        table.pack(fill="both", expand=True, padx=10)
        close = ttk.Button(top, text=_("Close"), command=top.destroy)
        close.pack(pady=8)
        top.bind("<Escape>", lambda e: top.destroy())
        top.bind("<Return>", lambda e: top.destroy())
        close.focus_set()
        self.budgets_window = top

    # -- the log view --------------------------------------------------------------------------
    def add_log(self, level: int, line: str) -> None:
        self.log_records.append((level, line))
        if len(self.log_records) > MAX_LOG_LINES:
            del self.log_records[: len(self.log_records) - MAX_LOG_LINES]
        if self._shown(level, line):
            self._append_line(level, line)

    def _shown(self, level: int, line: str) -> bool:
        needle = self.line_filter.get().strip().casefold()
        return level >= LEVELS.get(self.level.get(), 0) and (not needle
                                                             or needle in line.casefold())

    def _insert(self, level: int, line: str) -> None:
        self.log_view.insert("end", shown_line(line) + "\n",
                             ("line", logging.getLevelName(level)))

    def _append_line(self, level: int, line: str) -> None:
        at_bottom = self.log_view.yview()[1] >= 0.999
        start = self.log_view.index("end-1c")
        self.log_view.configure(state="normal")
        self._insert(level, line)
        lines = int(self.log_view.index("end-1c").split(".")[0]) - 1
        if lines > MAX_LOG_LINES + TRIM_STEP:
            self.log_view.delete("1.0", f"{TRIM_STEP + 1}.0")
            self.findbar.lines_removed(TRIM_STEP)
            start = f"{int(start.split('.')[0]) - TRIM_STEP}.0"
        self.log_view.configure(state="disabled")
        self.findbar.lines_added(start)
        if at_bottom:  # follow new lines unless the user scrolled up to read
            self.log_view.see("end")

    def render_log(self) -> None:
        self.log_view.configure(state="normal")
        self.log_view.delete("1.0", "end")
        for level, line in self.log_records:
            if self._shown(level, line):
                self._insert(level, line)
        self.log_view.configure(state="disabled")
        self.log_view.see("end")
        if self.findbar.shown:
            self.findbar.search()

    def log_text(self) -> str:
        return self.log_view.get("1.0", "end-1c")

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


def _take(lines: list[str], record: str) -> bool:
    """Remove ``record``'s first line from ``lines``, if there; True if it was."""
    first = record.split("\n", 1)[0]
    if first in lines:
        lines.remove(first)
        return True
    return False


class _LiveFindBar(FindBar):
    """A find bar for a log that grows at the bottom and loses lines at the
    top: new lines get their highlights without moving the view, and the
    matches follow the lines that remain."""

    def lines_added(self, start: str) -> None:
        query = self.query.get()
        if not self.shown or not query:
            return
        added = self.find_from(start, query)
        if added:
            self._count()

    def lines_removed(self, count: int) -> None:
        """``count`` lines went from the top: shift what is left."""
        if not self.matches:
            return

        def shifted(index: str) -> str | None:
            # Indices as stored: "12.5" or "12.5+3c"; only the line moves.
            line, rest = index.split(".", 1)
            return f"{int(line) - count}.{rest}" if int(line) > count else None

        kept = []
        for i, (start, end) in enumerate(self.matches):
            s, e = shifted(start), shifted(end)
            if s is not None:
                kept.append((s, e))
            elif i == self.current:
                self.current = -1
            if i == self.current and s is not None:
                self.current = len(kept) - 1
        self.matches = kept
        self._count()

    def _count(self) -> None:
        if not self.matches:
            self.count.set(_("no matches"))
        elif self.current >= 0:
            self.count.set(self.position_text(self.current))
        else:
            more = "+" if len(self.matches) >= MAX_MATCHES else ""
            self.count.set(ngettext("{n} match", "{n} matches", len(self.matches)).format(
                n=number(len(self.matches)) + more))
