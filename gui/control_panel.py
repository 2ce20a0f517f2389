"""The server control panel: start, stop, pause and resume the echo and chat
services, watch the clients and the log, kick, clear logs and clear the
identification file.

Every command runs on the server's control thread (``ControlThread``);
results, periodic snapshots and log records all arrive through the
window's event queue.
"""

from __future__ import annotations

import logging
import tkinter as tk
from datetime import datetime
from pathlib import Path
from tkinter import messagebox, ttk

from gui.settings import Settings
from gui.toolwindow import ToolWindow, port_or_error
from net import datadir
from net.chat.protocol import DEFAULT_PORT as CHAT_PORT
from net.control import (
    ControlThread,
    QueueLogHandler,
    ServerConfig,
    ServerController,
    Status,
    format_duration,
)
from net.echo.server import DEFAULT_PORT as ECHO_PORT

LEVELS = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARNING": logging.WARNING,
          "ERROR": logging.ERROR}
MAX_LOG_LINES = 5000


def ask_yes_no(parent: tk.Misc, title: str, question: str) -> bool:
    return messagebox.askyesno(title, question, parent=parent, icon="warning")


class ControlPanel(ToolWindow):
    settings_section = "control"
    default_geometry = "820x600"

    def __init__(self, master: tk.Misc, data_dir: Path, settings: Settings | None = None,
                 log_handler: datadir.PrivateRotatingFileHandler | None = None,
                 confirm=ask_yes_no):
        super().__init__(master, "netdesk — Server control", settings, icon="server",
                         min_size=(640, 520))
        self.confirm = confirm
        # All interfaces, as `netdesk serve`: a chat server is for the others
        # on the network; 127.0.0.1 keeps it to this machine.
        self.host = tk.StringVar(self, self.remembered("host", "0.0.0.0"))
        self.echo_port = tk.StringVar(self, str(self.remembered("echo_port", ECHO_PORT)))
        self.chat_port = tk.StringVar(self, str(self.remembered("chat_port", CHAT_PORT)))
        self.state = tk.StringVar(self, "Stopped")
        self.counters = tk.StringVar(self, "")
        self.level = tk.StringVar(self, "INFO")
        self.search = tk.StringVar(self)
        self.log_records: list[tuple[int, str]] = []
        self.status_now: Status | None = None
        # The panel's own view of the server, kept from the control thread's
        # reports: the controller itself belongs to that thread.
        self.running = False
        self.closing = False
        self.controller = ServerController(data_dir, ServerConfig(), log_handler)
        self.control = ControlThread(self.controller, self.events.put)
        self.log_feed = QueueLogHandler(self.events.put)
        logging.getLogger(datadir.LOGGER).addHandler(self.log_feed)
        self._build()
        self._show_state()
        self.control.submit("log_lines", MAX_LOG_LINES)  # what the file holds already

    # -- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        services = ttk.LabelFrame(self, text="Services", padding=8)
        services.grid(row=0, column=0, sticky="ew", padx=8, pady=(8, 4))
        self.fields = {}
        for col, (key, label, var, width) in enumerate(
                [("host", "Host", self.host, 16), ("echo_port", "Echo port", self.echo_port, 7),
                 ("chat_port", "Chat port", self.chat_port, 7)]):
            ttk.Label(services, text=label).grid(row=0, column=col * 2, padx=(8 if col else 0, 4))
            entry = ttk.Entry(services, textvariable=var, width=width)
            entry.grid(row=0, column=col * 2 + 1)
            entry.bind("<Return>", lambda e: self.start())
            self.fields[key] = entry
        buttons = ttk.Frame(services)
        buttons.grid(row=1, column=0, columnspan=7, sticky="w", pady=(8, 0))
        self.buttons = {}
        for name, label in (("start", "Start"), ("stop", "Stop"), ("pause", "Pause"),
                            ("resume", "Resume")):
            b = ttk.Button(buttons, text=label, command=getattr(self, name), width=7)
            b.pack(side="left", padx=(0, 4))
            self.buttons[name] = b
        self.budgets_button = ttk.Button(buttons, text="Budgets…",
                                         command=lambda: self.control.submit("budgets"))
        self.budgets_button.pack(side="left", padx=(12, 0))
        services.columnconfigure(6, weight=1)
        self.field_error = ttk.Label(services, foreground="#b00020")
        self.field_error.grid(row=1, column=3, columnspan=4, sticky="e")
        state_row = ttk.Frame(services)
        state_row.grid(row=2, column=0, columnspan=7, sticky="ew", pady=(8, 0))
        self.state_dot = tk.Canvas(state_row, width=12, height=12, highlightthickness=0,
                                   background=ttk.Style(self).lookup("TFrame", "background"))
        self.state_dot.pack(side="left", padx=(0, 6))
        ttk.Label(state_row, textvariable=self.state, font=("TkDefaultFont", 10, "bold")).pack(
            side="left")
        ttk.Label(services, textvariable=self.counters, foreground="#444444").grid(
            row=3, column=0, columnspan=7, sticky="w", pady=(2, 0))

        panes = ttk.PanedWindow(self, orient="vertical")
        panes.grid(row=1, column=0, sticky="nsew", padx=8, pady=4)

        clients = ttk.LabelFrame(panes, text="Chat clients", padding=6)
        cols = ("name", "address", "since", "messages")
        self.clients = ttk.Treeview(clients, columns=cols, show="headings", height=5)
        for col, width in zip(cols, (160, 200, 100, 90), strict=True):
            self.clients.heading(col, text=col.capitalize())
            self.clients.column(col, width=width, stretch=col == "address")
        self.clients.grid(row=0, column=0, sticky="nsew")
        bar = ttk.Scrollbar(clients, orient="vertical", command=self.clients.yview)
        self.clients.configure(yscrollcommand=bar.set)
        bar.grid(row=0, column=1, sticky="ns")
        side = ttk.Frame(clients)
        side.grid(row=0, column=2, sticky="n", padx=(6, 0))
        self.kick_button = ttk.Button(side, text="Kick", command=self.kick_selected)
        self.kick_button.pack(fill="x")
        # Accounts live with the users, not with the log.
        self.clear_users_button = ttk.Button(side, text="Clear identification\nfile…",
                                             command=self.clear_users)
        self.clear_users_button.pack(fill="x", pady=(6, 0))
        clients.rowconfigure(0, weight=1)
        clients.columnconfigure(0, weight=1)
        panes.add(clients, weight=1)

        logs = ttk.LabelFrame(panes, text="Log", padding=6)
        tools = ttk.Frame(logs)
        tools.grid(row=0, column=0, columnspan=2, sticky="ew", pady=(0, 4))
        ttk.Label(tools, text="Level").pack(side="left")
        level_box = ttk.Combobox(tools, textvariable=self.level, values=list(LEVELS), width=9,
                                 state="readonly")
        level_box.pack(side="left", padx=(4, 12))
        level_box.bind("<<ComboboxSelected>>", lambda e: self.render_log())
        ttk.Label(tools, text="Search").pack(side="left")
        search = ttk.Entry(tools, textvariable=self.search, width=16)
        search.pack(side="left", padx=4)
        search.bind("<Escape>", lambda e: self.search.set(""))
        self.search.trace_add("write", lambda *a: self.render_log())
        ttk.Button(tools, text="Clear logs", command=self.clear_logs).pack(side="right")
        self.log_view = tk.Text(logs, height=12, wrap="none", state="disabled",
                                font="TkFixedFont", relief="flat")
        ybar = ttk.Scrollbar(logs, orient="vertical", command=self.log_view.yview)
        xbar = ttk.Scrollbar(logs, orient="horizontal", command=self.log_view.xview)
        self.log_view.configure(yscrollcommand=ybar.set, xscrollcommand=xbar.set)
        self.log_view.grid(row=1, column=0, sticky="nsew")
        ybar.grid(row=1, column=1, sticky="ns")
        xbar.grid(row=2, column=0, sticky="ew")
        self.log_view.tag_configure("WARNING", foreground="#9a6700")
        self.log_view.tag_configure("ERROR", foreground="#b00020")
        self.log_view.tag_configure("DEBUG", foreground="#777777")
        logs.rowconfigure(1, weight=1)
        logs.columnconfigure(0, weight=1)
        panes.add(logs, weight=3)

        self.statusbar.grid(row=2, column=0, sticky="ew")
        self.rowconfigure(1, weight=1)
        self.columnconfigure(0, weight=1)

    # -- commands --------------------------------------------------------------------------
    def start(self) -> None:
        host = self.host.get().strip()
        echo, problem = port_or_error(self.echo_port.get(), allow_zero=True)
        chat, problem2 = port_or_error(self.chat_port.get(), allow_zero=True)
        problem = problem or problem2 or ("" if host else "enter an address to listen on")
        self.field_error.configure(text=problem)
        if problem:
            return
        self.remember(host=host, echo_port=echo, chat_port=chat)
        self._busy("Starting…")
        self.control.submit("start", ServerConfig(host=host, echo_port=echo, chat_port=chat))

    def stop(self) -> None:
        self._busy("Stopping…")
        self.control.submit("shutdown")

    def pause(self) -> None:
        self._busy("Pausing…")
        self.control.submit("pause")

    def resume(self) -> None:
        self._busy("Resuming…")
        self.control.submit("resume")

    def kick_selected(self) -> None:
        for item in self.clients.selection():
            name = self.clients.item(item, "values")[0]
            if name and name != "(logging in)":
                self.control.submit("kick", name)

    def clear_logs(self) -> None:
        self.control.submit("clear_logs")

    def clear_users(self) -> None:
        if self.confirm(self, "Clear the identification file",
                        "Forget every account, password and session token?\n\n"
                        "Users online now stay until they leave; after that their names "
                        "can be registered by anyone."):
            self.control.submit("clear_users")

    def _busy(self, text: str) -> None:
        self.status.set(text)
        for b in self.buttons.values():
            b.state(["disabled"])

    # -- events -------------------------------------------------------------------------------
    def on_event(self, event: tuple) -> None:
        kind = event[0]
        if kind == "log":
            self.add_log(event[1], event[2])
        elif kind == "snapshot":
            self.status_now = event[1]
            self.running = event[1].running
            self._show_clients(event[2])
            self._show_state()
        elif kind == "done":
            self._done(event[1], event[2])
        elif kind == "failed":
            self.status.set(f"{event[1].replace('_', ' ')} failed: {event[2]}")
            self._show_state()

    def _done(self, name: str, result) -> None:
        if name == "start":
            self.running = True
            self.status.set("Started: " + ", ".join(f"{s} on {h}:{p}" for s, h, p in result))
        elif name == "budgets":
            self.show_budgets(result)
        elif name == "shutdown":
            self.running = False
            self.status_now = None
            self._show_clients([])
            self.status.set("Stopped: every service closed")
            if self.closing:
                self._finish_close()
                return
        elif name == "log_lines":
            for line in result:
                parts = line.split(None, 3)
                level = LEVELS.get(parts[2], logging.INFO) if len(parts) > 2 else logging.INFO
                self.log_records.append((level, line))
            self.render_log()
        elif name == "clear_logs":
            self.log_records.clear()
            self.render_log()
            self.status.set("Log cleared")
        elif name == "clear_users":
            self.status.set(f"Identification file cleared: {result} account(s) forgotten")
        elif name == "kick":
            self.status.set("Kicked" if result else "That user is no longer online")
        elif name in ("pause", "resume"):
            self.status.set("Paused: new connections are refused" if name == "pause"
                            else "Resumed: listening again")
        self._show_state()

    def _show_state(self) -> None:
        s = self.status_now
        running = self.running
        if not running or s is None:
            text, colour = "Stopped", "#888888"
        elif s.paused:
            text, colour = "Paused — not accepting new connections", "#d4a017"
        else:
            ports = ", ".join(f"{k} {v}" for k, v in s.ports.items())
            text, colour = f"Listening — {ports}", "#2e9d3a"
        self.state.set(text)
        self.state_dot.delete("all")
        self.state_dot.create_oval(1, 1, 11, 11, fill=colour, outline=colour)
        if running and s is not None:
            self.counters.set(f"up {format_duration(s.uptime)}  ·  {s.connections} connection(s)"
                              f"  ·  {s.online} online  ·  {s.messages} message(s)")
        else:
            self.counters.set("")
        paused = bool(s and s.paused)
        enable = {"start": not running, "stop": running, "pause": running and not paused,
                  "resume": running and paused}
        for name, button in self.buttons.items():
            button.state(["!disabled"] if enable[name] else ["disabled"])
        for entry in self.fields.values():
            entry.state(["disabled"] if running else ["!disabled"])

    def _show_clients(self, rows: list[dict]) -> None:
        selected = {self.clients.item(i, "values")[0] for i in self.clients.selection()}
        self.clients.delete(*self.clients.get_children())
        for row in rows:
            name = row["name"] or "(logging in)"
            since = datetime.fromtimestamp(row["since"]).strftime("%H:%M:%S")
            item = self.clients.insert("", "end", values=(name, row["address"], since,
                                                          row["messages"]))
            if name in selected:
                self.clients.selection_add(item)

    def show_budgets(self, rows: list[tuple[str, str]]) -> None:
        """A small window listing what one client or address may use."""
        top = tk.Toplevel(self)
        top.title("netdesk — Budgets")
        top.transient(self.winfo_toplevel())
        ttk.Label(top, padding=(10, 8, 10, 4), wraplength=420, justify="left",
                  text="What one client or address may make the server keep. Addresses in "
                       "the trusted networks skip the per-address budgets. Set them with "
                       "the flags of 'netdesk serve' (see --help).").pack(fill="x")
        table = ttk.Treeview(top, columns=("budget", "value"), show="headings",
                             height=len(rows))
        table.heading("budget", text="Budget")
        table.heading("value", text="Value")
        table.column("budget", width=220)
        table.column("value", width=200, stretch=True)
        for row in rows:
            table.insert("", "end", values=row)
        table.pack(fill="both", expand=True, padx=10)
        close = ttk.Button(top, text="Close", command=top.destroy)
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
        needle = self.search.get().strip().casefold()
        return level >= LEVELS.get(self.level.get(), 0) and (not needle
                                                             or needle in line.casefold())

    def _append_line(self, level: int, line: str) -> None:
        at_bottom = self.log_view.yview()[1] >= 0.999
        self.log_view.configure(state="normal")
        self.log_view.insert("end", line + "\n", (logging.getLevelName(level),))
        self.log_view.configure(state="disabled")
        if at_bottom:  # follow new lines unless the user scrolled up to read
            self.log_view.see("end")

    def render_log(self) -> None:
        self.log_view.configure(state="normal")
        self.log_view.delete("1.0", "end")
        for level, line in self.log_records:
            if self._shown(level, line):
                self.log_view.insert("end", line + "\n", (logging.getLevelName(level),))
        self.log_view.configure(state="disabled")
        self.log_view.see("end")

    def log_text(self) -> str:
        return self.log_view.get("1.0", "end-1c")

    # -- closing ---------------------------------------------------------------------------------
    def close(self) -> None:
        if self.closed or self.closing:
            return
        if self.running:
            if not self.confirm(self, "Stop the server?",
                                "The services are running. Stop them and close the panel?"):
                return
            self.closing = True
            self.stop()  # the window closes when the control thread says it stopped
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
        self.control.submit("shutdown")
        self.control.stop()
