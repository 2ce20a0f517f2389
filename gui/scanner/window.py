"""The port scanner window: a form taking the targets ``netdesk scan`` takes
(names, addresses, CIDR blocks, ranges), a progress bar, and a live tree of
the hosts that are up with their open ports, always in order. The scan runs
on a worker thread and reports through the window's event queue.

Results keep pace with the engine: events are taken for a bounded slice of
the Tk thread per tick (``SlicedPoller``), and the open ports they bring are
put in the tree in batches, appended at the end when they come in order (a
host with every port open sends 65535 of them in seconds). Cancel stops the
engine at once and skips the ports still queued: the final result, which
holds them all, fills the tree in one go.

Exports (after a scan, or after Cancel for what was found so far), in the
folder of the last export (else Documents, else home):

- CSV: ``host,address,port,service,banner``, one row per open port, hosts in
  target order and ports ascending;
- JSON: ``ScanFinished.as_json()``, the object ``netdesk scan --json`` prints
  (one host: ``{"host", "open", ...}``; several: ``{"hosts": [...]}``), with
  ``"services": {"port": name}`` added to each host object, and at the top
  ``"scanned_at"`` (when the scan started, ISO 8601 with the time zone),
  ``"port_spec"`` (the ports asked for, as typed) and ``"targets"``.

Right-click (or Shift+F10) on the results: Copy row, Copy all, and Open in
echo client, which calls the ``open_echo(address, port)`` the window was
given (the launcher's; without one the entry is disabled).
"""

from __future__ import annotations

import csv
import json
import logging
import os
import queue
import re
import threading
import time
import tkinter as tk
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from tkinter import filedialog, messagebox, ttk
from tkinter import font as tkfont

from gui.kit.poller import QueuePoller
from gui.kit.settings import Settings
from gui.kit.style import color, px
from gui.kit.toolwindow import ChoiceBox, ToolWindow
from gui.widgets.contextmenu import attach, edit_menu
from net.i18n import N_, _, ngettext, number, pgettext
from net.progress import format_eta
from net.scan.engine import (
    DEFAULT_IN_FLIGHT,
    DEFAULT_TIMEOUT,
    DOWN,
    STRATEGIES,
    UP,
    Banner,
    HostDone,
    HostResult,
    HostState,
    PortOpen,
    Progress,
    ScanError,
    ScanFinished,
    Scanner,
    ScanStarted,
)
from net.scan.ports import ALL_PORTS, PortSpecError, parse_ports
from net.scan.targets import MAX_HOSTS_DEFAULT, TargetError, count_hosts, split_targets

log = logging.getLogger(__name__)

COLUMNS = ("port", "service", "banner", "state")
# Pixels at 96 dpi; banner (and host) take the rest. Port and State grow to
# their heading in the language shown (_fixed_widths).
FIXED_WIDTHS = {"port": 64, "service": 100, "state": 76}
CSV_COLUMNS = ("host", "address", "port", "service", "banner")
# What each strategy does, in a line under the box (wrapped at the
# smallest width), and what a blank thread count means with it.
STRATEGY_HINTS = {
    "fast": N_("Up to {n} connects at once on one thread: the fastest."),
    "threads": N_("A pool of threads, each waiting on one connect."),
    "sequential": N_("One connect after another: slow, for comparison."),
}
THREADS_HINTS = {"fast": N_("blank = 1 thread"), "threads": N_("blank = 256 threads"),
                 "sequential": N_("not used: one connect at a time")}


def strategy_name(strategy: str) -> str:
    """A strategy as the form and the status show it ("fast" / "быстрая");
    the settings and the engine keep the English code."""
    names = {"fast": pgettext("scan strategy", "fast"),
             "threads": pgettext("scan strategy", "threads"),
             "sequential": pgettext("scan strategy", "sequential")}
    return names.get(strategy, strategy)


def state_name(state: str) -> str:
    """A row's state as the table shows it: a port "open", a host "up",
    "scanning" or "cancelled"."""
    names = {"open": pgettext("port state", "open"), UP: pgettext("host state", "up"),
             "scanning": pgettext("host state", "scanning"),
             "cancelled": pgettext("host state", "cancelled")}
    return names.get(state, state)


def column_title(column: str) -> str:
    names = {"port": _("Port"), "service": _("Service"), "banner": _("Banner"),
             "state": _("State")}
    return names[column]
# The Tk thread's share per tick while a scan floods the window: events are
# taken and their rows drawn for about SLICE_S (at most BATCH events, rows
# in chunks of ROWS_CHUNK and no more than ROWS_WAITING taken ahead), then Tk
# draws and takes the user's clicks before the next tick.
SLICE_S = 0.02
BATCH = 4096
ROWS_CHUNK = 1024
ROWS_WAITING = 4096
# Rows that arrive out of order are put in place one by one up to this many
# in a batch (each a walk along the host's rows in Tk); past it the host's
# rows are sorted and set again in one call.
MISPLACED_ONE_BY_ONE = 32
# Appends rows given as a flat list of iid, values: one Tcl call per
# batch, and Tk's work done without holding Python's interpreter lock.
_APPEND_ROWS = "::netdesk_scanner_append_rows"
_APPEND_ROWS_PROC = f"""proc {_APPEND_ROWS} {{tree parent rows}} {{
    foreach {{iid values}} $rows {{
        $tree insert $parent end -id $iid -values $values
    }}
}}"""


# -- what the worker thread tells the window, besides the engine's events ----------
@dataclass(frozen=True)
class TargetOrder:
    """The resolved targets' addresses in target order (host rows follow it)."""

    addresses: list[str]


@dataclass(frozen=True)
class ScanFailed:
    message: str
    field: str = ""  # the form field the message belongs next to, if any


@dataclass(frozen=True)
class WorkerDone:
    """The worker's last event: it has nothing more to put."""


class SlicedPoller(QueuePoller):
    """A ``QueuePoller`` bounded by time rather than by count.

    Each tick draws what is waiting (``flush(deadline)``, which returns
    whether some is left), takes events while ``slice_s`` lasts (at most
    ``batch``, and none while ``backlog()`` says enough is waiting to be
    drawn), and draws them. With more to do it comes back with
    ``after_idle``: Tk first takes the user's clicks and keys (Cancel) and
    redraws, so a flood of events never freezes the window."""

    def __init__(self, widget: tk.Misc, events: queue.Queue, handle: Callable[[object], None],
                 flush: Callable[[float], bool], backlog: Callable[[], bool],
                 slice_s: float = SLICE_S, batch: int = BATCH, interval_ms: int = 40):
        super().__init__(widget, events, handle, interval_ms, batch)
        self.flush = flush
        self.backlog = backlog
        self.slice_s = slice_s

    def _tick(self) -> None:
        self._after_id = None
        clock = time.perf_counter
        deadline = clock() + self.slice_s
        more = False
        try:
            more = self.flush(deadline)
            taken = 0
            while not more and not self.stopped:
                # At least one event a tick, however long drawing took.
                if taken == self.batch or self.backlog() or (taken and clock() > deadline):
                    more = True
                    break
                try:
                    event = self.events.get_nowait()
                except queue.Empty:
                    break
                self.handle(event)
                taken += 1
            if not self.stopped:
                more = self.flush(deadline) or more
        finally:
            if not self.stopped:
                self._after_id = (self.widget.after_idle(self._tick) if more
                                  else self.widget.after(self.interval_ms, self._tick))


@dataclass(frozen=True)
class OpenPorts:
    """Several ``PortOpen`` events in the order the engine emitted them."""

    events: list[PortOpen]


class _Coalescer:
    """The engine's ``emit`` for the window: the ``PortOpen`` events it
    emits in a row (it reports ten times a second, a host with every port
    open a few thousand at a time) travel as one ``OpenPorts``, so the queue
    and the Tk thread handle ten events a second instead of 27,000. The engine
    emits another event after every run of them, which sends the run on."""

    def __init__(self, put: Callable[[object], None]):
        self.put = put
        self.ports: list[PortOpen] = []

    def __call__(self, event: object) -> None:
        if type(event) is PortOpen:
            self.ports.append(event)
            return
        if self.ports:
            self.put(OpenPorts(self.ports))
            self.ports = []
        self.put(event)


def run_scan(params: dict, emit: Callable[[object], None], cancel: threading.Event) -> None:
    """Worker thread: build the scanner (it resolves names) and run it.

    Takes the queue's ``put`` and the cancel event, never the window, so a
    worker that outlives a closed window holds no Tk object."""
    emit = _Coalescer(emit)  # any other event sends the open ports before it on
    try:
        try:
            # procs=1: the engine forks worker processes only while this
            # process has a single thread, which a Tk app running this worker
            # never has; saying so keeps the window from ever forking a Tk
            # process, whatever the engine's rule becomes.
            scanner = Scanner(params["targets"], params["ports"], strategy=params["strategy"],
                              threads=params["threads"], timeout=params["timeout"],
                              cancel=cancel, skip_down=params["skip_down"],
                              banners=params["banners"], procs=1)
        except ScanError as e:
            # Ports, threads and timeout were checked by the form with the
            # engine's own rules: what fails here is resolving the targets.
            emit(ScanFailed(str(e), "targets"))
            return
        emit(TargetOrder([t.address for t in scanner.targets]))
        scanner.run(emit)
    except ScanError as e:
        emit(ScanFailed(str(e)))
    except Exception as e:  # shown to the user and logged, never swallowed
        log.exception("the scan failed")
        emit(ScanFailed(_("scan failed: {error}").format(error=e)))
    finally:
        emit(WorkerDone())


@dataclass
class _HostRows:
    """One host's place in the tree: its row (several hosts) and its port rows."""

    index: int  # in target order
    name: str
    address: str
    iid: str  # "" when the ports are shown at the top level (one host)
    ports: list[str] = field(default_factory=list)  # port rows' iids, in display order
    done: HostResult | None = None


class ScannerWindow(ToolWindow):
    settings_section = "scanner"
    default_geometry = "720x600"

    def __init__(self, master: tk.Misc, settings: Settings | None = None,
                 open_echo: Callable[[str, int], object] | None = None):
        """``open_echo(address, port)``, when given, opens an echo client on
        an open port (the results' menu offers it)."""
        super().__init__(master, _("netdesk — Port scanner"), settings, icon="scanner",
                         min_size=(600, 560))
        self.open_echo = open_echo
        # The base class's poller takes a fixed number of events a tick; a
        # full scan of an all-open host needs a bound in time and rows drawn
        # in batches.
        self.poller.stop()
        self.poller = SlicedPoller(self, self.events, self._take, self._flush,
                                   lambda: self.pending_rows >= ROWS_WAITING)
        self.poller.start()
        # A constant Tcl procedure, defined once; rows reach it as a list
        # through tk.call, never as text to evaluate.
        self.tk.eval(_APPEND_ROWS_PROC)
        # Before targets, the window took one host: start from it.
        self.targets = tk.StringVar(self, self.remembered(
            "targets", self.remembered("host", "127.0.0.1")))
        self.ports = tk.StringVar(self, self.remembered("ports", ALL_PORTS))
        self.threads = tk.StringVar(self, str(self.remembered("threads", "")))
        self.timeout = tk.StringVar(self, str(self.remembered("timeout", DEFAULT_TIMEOUT)))
        strategy = self.remembered("strategy", "fast")
        self.strategy = tk.StringVar(self, strategy if strategy in STRATEGIES else "fast")
        self.scan_all = tk.BooleanVar(self, self.remembered("scan_all", False) is True)
        self.banners = tk.BooleanVar(self, self.remembered("banners", False) is True)
        self.progress_text = tk.StringVar(self, "")
        self.summary = tk.StringVar(self, "")
        self.cancel_event = threading.Event()
        self.worker: threading.Thread | None = None
        self.sort_column, self.sort_reverse = "port", False
        self.result: ScanFinished | None = None
        self.scanning = ""  # the targets of the last scan, as the status shows them
        self.scan_params: dict = {}  # the last scan's, for the export
        self.started_at: datetime | None = None
        self.export_dir = self.remembered("export_dir", "")
        self.results_menu: tk.Menu | None = None  # the last one opened
        self._reset_scan_state()
        self._handlers: dict[type, Callable] = {
            Progress: self._on_progress, PortOpen: self._on_port_open,
            OpenPorts: self._on_open_ports,
            Banner: self._on_banner, HostState: self._on_host_state,
            HostDone: self._on_host_done, ScanStarted: self._on_started,
            ScanFinished: self._on_finished, TargetOrder: self._on_target_order,
            ScanFailed: self._on_failed, WorkerDone: self._on_worker_done,
        }
        self._build()
        self._set_running(False)
        self.status.set(_("Enter targets and press Start (Enter)."))

    def _reset_scan_state(self) -> None:
        self.several = False
        self.order: dict[str, int] = {}  # address -> index in target order
        self.hosts: dict[int, _HostRows] = {}  # hosts with a place in the tree
        self.shown_hosts: list[int] = []  # their indexes, ascending (tree order)
        # A port row's iid -> its values (port, service, banner, state).
        self.rows: dict[str, tuple[int, str, str, str]] = {}
        self.pending: dict[int, list[tuple[int, str]]] = {}  # taken, not drawn yet
        self.pending_rows = 0
        self.cancelling = False
        self.skipped = False  # open ports left in the queue after Cancel
        self.hosts_up = self.hosts_down = 0
        self.progressed = False
        self.host_need = 0  # pixels the longest host row's text needs

    # -- layout -------------------------------------------------------------
    def _build(self) -> None:
        form = ttk.Frame(self, padding=(10, 10, 10, 4))
        form.grid(row=0, column=0, sticky="ew")
        self.errors: dict[str, ttk.Label] = {}
        self.entries: dict[str, ttk.Widget] = {}
        self.hints: dict[str, ttk.Label] = {}
        fields = [("targets", _("Targets"), self.targets, 0, ""),
                  ("ports", _("Ports"), self.ports, 0, ""),
                  ("threads", _("Threads"), self.threads, 8, ""),
                  ("timeout", _("Timeout (s)"), self.timeout, 8, "")]
        # Each field takes two grid rows: the field, and under it a message
        # that is gridded only while there is one. Under the field, a long
        # message (target errors run to 60 characters) wraps across the
        # form's width instead of squeezing into a column beside it.
        for index, (key, label, var, width, hint) in enumerate(fields):
            row = 2 * index
            ttk.Label(form, text=label).grid(row=row, column=0, sticky="w", padx=(0, 8), pady=2)
            cell = ttk.Frame(form)
            cell.grid(row=row, column=1, sticky="ew", pady=2)
            entry = ttk.Entry(cell, textvariable=var, width=width or 30)
            entry.pack(side="left", fill="x" if not width else "none", expand=not width)
            edit_menu(entry)
            self.entries[key] = entry
            # The counts beside targets and ports get a fixed width, so the
            # two long fields end at the same place.
            self.hints[key] = ttk.Label(cell, text=hint, style="Hint.TLabel",
                                        width=0 if width else 12)
            self.hints[key].pack(side="left", padx=(8, 0))
            error = ttk.Label(form, style="Error.TLabel", justify="left", wraplength=400)
            error.grid(row=row + 1, column=1, sticky="w", pady=(0, 2))
            error.grid_remove()
            self.errors[key] = error
        ttk.Label(form, text=_("Strategy")).grid(row=8, column=0, sticky="w", pady=2)
        names = {strategy: strategy_name(strategy) for strategy in STRATEGIES}
        self.strategy_box = ChoiceBox(form, self.strategy, names,
                                      width=max(12, *(len(n) + 2 for n in names.values())))
        self.strategy_box.grid(row=8, column=1, sticky="w", pady=2)
        # What the chosen strategy does, changing with the choice.
        self.strategy_hint = ttk.Label(form, style="Hint.TLabel", justify="left",
                                       wraplength=400)
        self.strategy_hint.grid(row=9, column=1, sticky="w", pady=(0, 2))
        checks = ttk.Frame(form)
        checks.grid(row=10, column=0, columnspan=2, sticky="w", pady=(4, 0))
        self.scan_all_check = ttk.Checkbutton(
            checks, text=_("Scan hosts that do not answer (-Pn)"), variable=self.scan_all)
        self.scan_all_check.grid(row=0, column=0, sticky="w")
        self.banners_check = ttk.Checkbutton(checks, text=_("Read banners"),
                                             variable=self.banners)
        self.banners_check.grid(row=0, column=1, sticky="w", padx=(16, 0))
        self.checks = checks

        form.columnconfigure(1, weight=1)
        form.bind("<Configure>", lambda e: (self._wrap_errors(e.width),
                                            self._place_checks(e.width)))
        self.targets.trace_add("write", lambda *a: self._check_targets_live())
        self.ports.trace_add("write", lambda *a: self._count_ports())
        self.strategy.trace_add("write", lambda *a: self._explain_strategy())

        buttons = ttk.Frame(self, padding=(10, 4))
        buttons.grid(row=1, column=0, sticky="ew")
        self.start_button = ttk.Button(buttons, text=_("Start"), command=self.start)
        self.start_button.pack(side="left")
        self.cancel_button = ttk.Button(buttons, text=_("Cancel"), command=self.cancel)
        self.cancel_button.pack(side="left", padx=6)
        # Made in the order they stand on the screen (Tab follows it), packed
        # from the right edge.
        self.copy_button = ttk.Button(buttons, text=_("Copy"), command=self.copy_selection)
        self.export_button = ttk.Menubutton(buttons, text=_("Export"))
        menu = tk.Menu(self.export_button, tearoff=False)
        menu.add_command(label="CSV…", command=lambda: self.export_dialog("csv"))
        menu.add_command(label="JSON…", command=lambda: self.export_dialog("json"))
        self.export_button["menu"] = menu
        self.export_button.pack(side="right")
        self.copy_button.pack(side="right", padx=6)

        prog = ttk.Frame(self, padding=(10, 2))
        prog.grid(row=2, column=0, sticky="ew")
        self.progressbar = ttk.Progressbar(prog, mode="determinate", maximum=100)
        self.progressbar.grid(row=0, column=0, sticky="ew")
        # Under the bar: with host counts the line is too long to sit beside it.
        self.progress_label = ttk.Label(prog, textvariable=self.progress_text, anchor="w",
                                        justify="left")
        self.progress_label.grid(row=1, column=0, sticky="ew", pady=(2, 0))
        self.progress_label.bind("<Configure>", lambda e: self.progress_label.configure(
            wraplength=max(e.width, 200)))
        prog.columnconfigure(0, weight=1)

        table = ttk.Frame(self, padding=(10, 4))
        table.grid(row=3, column=0, sticky="nsew")
        self.tree = ttk.Treeview(table, columns=COLUMNS, show="headings", selectmode="extended",
                                 style="Results.Treeview")
        self._style_focus()
        self.tree.heading("#0", text=_("Host"), anchor="w")
        self.tree.column("#0", width=220, minwidth=120, stretch=False)
        self.fixed_widths = self._fixed_widths()
        for col in COLUMNS:
            self.tree.heading(col, text=column_title(col), command=lambda c=col: self.sort_by(c))
            self.tree.column(col, width=self.fixed_widths.get(col, 200), minwidth=50,
                             anchor="e" if col == "port" else "w", stretch=False)
        bar = ttk.Scrollbar(table, orient="vertical", command=self.tree.yview)
        self.tree.configure(yscrollcommand=bar.set)
        self.tree.grid(row=0, column=0, sticky="nsew")
        bar.grid(row=0, column=1, sticky="ns")
        table.rowconfigure(0, weight=1)
        table.columnconfigure(0, weight=1)
        self.tree.bind("<Configure>", lambda e: self._fit_columns(e.width))
        self.tree.bind("<<TreeviewSelect>>", lambda e: self._show_banner())
        self.tree.bind("<Control-c>", lambda e: self.copy_selection())
        self.tree.bind("<Control-a>", lambda e: self.tree.selection_set(self.tree.get_children()))
        self.tree.bind("<FocusIn>", lambda e: self._show_focus_row())
        attach(self.tree, self._build_results_menu)

        self.summary_label = ttk.Label(self, textvariable=self.summary, padding=(10, 2),
                                       justify="left")
        self.summary_label.grid(row=4, column=0, sticky="ew")
        self.summary_label.bind("<Configure>", lambda e: self.summary_label.configure(
            wraplength=max(e.width - 20, 200)))
        self.statusbar.grid(row=5, column=0, sticky="ew")
        self.rowconfigure(3, weight=1)
        self.columnconfigure(0, weight=1)
        self.bind("<Escape>", lambda e: self.cancel())
        # Enter starts from the form (not from the tree, where it would wipe
        # the results being looked at).
        for widget in (*self.entries.values(), self.strategy_box, self.scan_all_check,
                       self.banners_check, self.start_button):
            for key in ("<Return>", "<KP_Enter>"):
                widget.bind(key, lambda e: self.start())
        self.entries["targets"].focus_set()
        self._update_headings()
        self._check_targets_live()
        self._count_ports()
        self._explain_strategy()

    def _style_focus(self) -> None:
        """Draw the results' border in the accent colour while they have the
        keyboard focus (the theme draws no focus on a Treeview)."""
        accent = color(self, "accent")
        style = ttk.Style(self)
        if style.map("Results.Treeview", "bordercolor") == [("focus", accent)]:
            return  # mapped by an earlier window: mapping again redraws every widget
        style.map("Results.Treeview", bordercolor=[("focus", accent)],
                  lightcolor=[("focus", accent)], darkcolor=[("focus", accent)])

    def _wrap_errors(self, form_width: int) -> None:
        left = self.entries["targets"].master.winfo_x()  # where column 1 starts
        wrap = max(200, form_width - left - 20)
        for label in (*self.errors.values(), self.strategy_hint):
            if label.cget("wraplength") != wrap:
                label.configure(wraplength=wrap)

    def _fixed_widths(self) -> dict[str, int]:
        """Port, Service and State as wide as FIXED_WIDTHS says, or as their
        heading (with the sort arrow) and states in the language shown, if wider."""
        heading = tkfont.nametofont("TkHeadingFont")
        body = tkfont.nametofont("TkDefaultFont")
        widths = {}
        for col, width in FIXED_WIDTHS.items():
            need = heading.measure(column_title(col) + " ▲") + px(self, 16)
            if col == "state":
                need = max(need, *(body.measure(state_name(s)) + px(self, 12)
                                   for s in ("open", UP, "scanning", "cancelled")))
            widths[col] = max(px(self, width), need)  # FIXED_WIDTHS are at 96 dpi
        return widths

    def _place_checks(self, form_width: int) -> None:
        """The two checkboxes side by side, or one under the other when the
        form is too narrow for both (their words are longer in Russian)."""
        room = form_width - 24
        both = (self.scan_all_check.winfo_reqwidth() + self.banners_check.winfo_reqwidth()
                + 16)
        side_by_side = both <= room
        if side_by_side != (int(self.banners_check.grid_info().get("row", 0)) == 0):
            if side_by_side:
                self.banners_check.grid(row=0, column=1, padx=(16, 0), pady=0)
            else:
                self.banners_check.grid(row=1, column=0, padx=0, pady=(2, 0))

    def _explain_strategy(self) -> None:
        strategy = self.strategy.get()
        hint = STRATEGY_HINTS.get(strategy)
        self.strategy_hint.configure(
            text=_(hint).format(n=number(DEFAULT_IN_FLIGHT)) if hint else "")
        threads = THREADS_HINTS.get(strategy)
        self.hints["threads"].configure(text=_(threads) if threads else "")
        # Sequential runs one connect at a time whatever the field says.
        self.entries["threads"].state(["disabled"] if strategy == "sequential"
                                      else ["!disabled"])

    # -- validation -----------------------------------------------------------
    def _targets_problem(self, text: str) -> tuple[int, str]:
        """(hosts, "") for a target list that parses, else (0, the reason).
        Nothing is resolved: names count as one host each."""
        try:
            hosts = count_hosts(split_targets(text))
        except TargetError as e:
            return 0, str(e)
        if hosts > MAX_HOSTS_DEFAULT:
            return 0, _("{hosts} hosts is more than one scan takes ({most})").format(
                hosts=number(hosts), most=number(MAX_HOSTS_DEFAULT))
        return hosts, ""

    def _check_targets_live(self) -> None:
        """As the user types: a grey host count while the list parses; an
        error already shown follows the text (and goes once it is fixed), but
        a new one waits for Start, so half-typed addresses don't flash red."""
        hosts, problem = self._targets_problem(self.targets.get())
        self.hints["targets"].configure(text="" if problem else ngettext(
            "{n} host", "{n} hosts", hosts).format(n=number(hosts)))
        if not problem or self.errors["targets"].cget("text"):
            self._show_error("targets", problem)

    def _count_ports(self) -> None:
        try:
            count = len(parse_ports(self.ports.get()))
        except PortSpecError:
            count = 0
        self.hints["ports"].configure(text=ngettext("{n} port", "{n} ports", count).format(
            n=number(count)) if count else "")

    def _show_error(self, key: str, message: str) -> None:
        """A message under the field ("" takes it away)."""
        label = self.errors[key]
        label.configure(text=message)
        if message:
            label.grid()
        else:
            label.grid_remove()

    def validate(self) -> dict | None:
        """The form as Scanner arguments, or None with messages by the fields."""
        problems: dict[str, str] = {}
        targets = self.targets.get().strip()
        problem = self._targets_problem(targets)[1]
        if problem:
            problems["targets"] = problem
        try:
            parse_ports(self.ports.get())
        except PortSpecError as e:
            problems["ports"] = str(e)
        threads = None
        if self.threads.get().strip() and self.strategy.get() != "sequential":
            try:
                threads = int(self.threads.get())
                if not 1 <= threads <= 2048:
                    raise ValueError
            except ValueError:
                problems["threads"] = _("a number from 1 to 2048, or blank")
        try:
            timeout = float(self.timeout.get())
            if not 0.01 <= timeout <= 60:
                raise ValueError
        except ValueError:
            problems["timeout"] = _("seconds, from {low} to {high}").format(
                low=number(0.01, 2), high=number(60))
            timeout = DEFAULT_TIMEOUT
        for key in self.errors:
            self._show_error(key, problems.get(key, ""))
        if problems:
            self.entries[next(iter(problems))].focus_set()
            return None
        return {"targets": targets, "ports": self.ports.get(), "threads": threads,
                "timeout": timeout, "strategy": self.strategy.get(),
                # Unticked: the engine's default (discovery when several hosts).
                "skip_down": False if self.scan_all.get() else None,
                "banners": self.banners.get()}

    # -- actions ------------------------------------------------------------------
    def start(self) -> None:
        if self.worker is not None:
            return
        params = self.validate()
        if params is None:
            self.status.set(_("Fix the fields marked in red."))
            return
        self.remember(targets=params["targets"], ports=params["ports"],
                      threads=self.threads.get().strip(), timeout=params["timeout"],
                      strategy=params["strategy"], scan_all=self.scan_all.get(),
                      banners=params["banners"])
        self.tree.delete(*self.tree.get_children())
        self._reset_scan_state()
        self.result = None
        self.scan_params = params
        self.started_at = datetime.now().astimezone()
        self.summary.set("")
        self.progressbar["value"] = 0
        self.progress_text.set(_("resolving…"))
        self.scanning = _shorten(params["targets"], 60)
        self.status.set(_("Scanning {targets}…").format(targets=self.scanning))
        self._set_running(True)
        self.cancel_event = threading.Event()
        self.worker = threading.Thread(target=run_scan,
                                       args=(params, self.events.put, self.cancel_event),
                                       name="scan-window", daemon=True)
        self.worker.start()

    def cancel(self) -> None:
        if self.worker is not None and not self.cancelling:
            self.cancel_event.set()  # also stops a scan still resolving its targets
            # The open ports still queued or waiting to be drawn are in the
            # final result too: skip them rather than keep the user waiting
            # while they are drawn one batch after another.
            self.cancelling = True
            if self.pending:
                self.pending.clear()
                self.pending_rows = 0
                self.skipped = True
            self.status.set(_("Cancelling…"))

    # -- events -------------------------------------------------------------------
    def on_event(self, event) -> None:
        """Handle one event and draw what it brought."""
        self._take(event)
        self._flush_all()

    def _take(self, event) -> None:
        self._handlers[type(event)](event)  # an unknown event is a KeyError, not a silence

    def _on_started(self, event: ScanStarted) -> None:
        self.several = event.hosts > 1
        self.tree.configure(show="tree headings" if self.several else "headings")
        self._fit_columns(self.tree.winfo_width())
        how = _how(event)
        if self.several:
            self.status.set(_("Scanning {hosts} × {ports}, {how}").format(
                hosts=ngettext("{n} host", "{n} hosts", event.hosts).format(
                    n=number(event.hosts)),
                ports=ngettext("{n} port", "{n} ports", event.ports).format(
                    n=number(event.ports)), how=how))
            self.progress_text.set(_("finding the hosts that answer…"))
        else:
            self.status.set(_("Scanning {host} ({address}): {ports}, {how}").format(
                host=event.host, address=event.address,
                ports=ngettext("{n} port", "{n} ports", event.total).format(
                    n=number(event.total)), how=how))
            self.progress_text.set("")

    def _on_target_order(self, event: TargetOrder) -> None:
        self.order = {address: i for i, address in enumerate(event.addresses)}

    def _on_host_state(self, event: HostState) -> None:
        if event.state == UP:
            self.hosts_up += 1
            self._host(event.host, event.address)
        elif event.state == DOWN:
            self.hosts_down += 1
        if self.several and not self.progressed:  # still finding hosts: no Progress yet
            self.progress_text.set(_("finding the hosts that answer…") + "  "
                                   + self._host_counts(self.hosts_up, self.hosts_down))

    @staticmethod
    def _host_counts(up: int, down: int) -> str:
        return _("hosts: {up} up, {down} down").format(up=number(up), down=number(down))

    def _on_progress(self, event: Progress) -> None:
        self.progressed = True
        pct = 100.0 * event.done / event.total if event.total else 100.0
        self.progressbar["value"] = pct
        text = _("{percent}%  {rate} ports/s  ETA {eta}").format(
            percent=f"{number(pct, 1):>5}", rate=number(event.rate, 0),
            eta=format_eta(event.eta))
        if event.hosts_total > 1:
            text += "  " + self._host_counts(event.hosts_up, event.hosts_down)
        self.progress_text.set(text)

    def _on_port_open(self, event: PortOpen) -> None:
        if self.cancelling:
            self.skipped = True
            return
        host = self._host(event.host, event.address)
        self.pending.setdefault(host.index, []).append((event.port, event.service))
        self.pending_rows += 1

    def _on_open_ports(self, event: OpenPorts) -> None:
        if self.cancelling:
            self.skipped = True
            return
        host, address, pending = None, None, None
        for port_open in event.events:
            if port_open.address != address:  # one host's ports come together
                address = port_open.address
                host = self._host(port_open.host, address)
                pending = self.pending.setdefault(host.index, [])
            pending.append((port_open.port, port_open.service))
        self.pending_rows += len(event.events)

    def _on_banner(self, event: Banner) -> None:
        self._flush_all()  # its row may still be waiting
        host = self.hosts.get(self.order.get(event.address, -1))
        iid = f"p{host.index}:{event.port}" if host else ""
        if iid not in self.rows:
            return
        port, service, _banner, state = self.rows[iid]
        self.rows[iid] = (port, service, event.text, state)
        self.tree.set(iid, "banner", event.text)
        # Banners come after every port: a view sorted by them is re-sorted
        # once, when the scan finishes.

    def _on_host_done(self, event: HostDone) -> None:
        result = event.result
        if result.state != UP:
            return
        host = self._host(result.host, result.address)
        host.done = result
        self._update_host_text(host)

    def _on_finished(self, event: ScanFinished) -> None:
        self.result = event
        self._flush_all()
        if self.skipped:  # ports skipped after Cancel: the result has them all
            for result in event.hosts:
                if result.open:
                    host = self._host(result.host, result.address)
                    self._add_rows(host, result.open)
        ended = _("Cancelled: {what}") if event.cancelled else _("Done: {what}")
        elapsed = _("in {seconds} s").format(seconds=number(event.elapsed, 2))
        if self.several:
            # A scan cut short has hosts that answered but were never decided.
            for result in event.hosts:
                if result.state == UP:
                    self._host(result.host, result.address)
            for host in self.hosts.values():
                self._update_host_text(host)
            opened, hosts = len(event.open), len(event.hosts)
            summary = _("{hosts}, {ports} {elapsed}").format(
                hosts=ngettext("{up} of {n} host up", "{up} of {n} hosts up", hosts).format(
                    up=number(event.up), n=number(hosts)),
                ports=ngettext("{n} open port", "{n} open ports", opened).format(
                    n=number(opened)), elapsed=elapsed)
            self.summary.set(ended.format(what=summary))
            self.status.set(ended.format(what=f"{self.scanning} (" + ngettext(
                "{n} host", "{n} hosts", hosts).format(n=number(hosts)) + ")"))
        else:
            # The words of `netdesk scan`'s summary line.
            summary = ngettext(
                "{open} open, {closed} closed, {filtered} filtered of {total} port",
                "{open} open, {closed} closed, {filtered} filtered of {total} ports",
                event.ports_scanned).format(
                open=number(len(event.open)), closed=number(event.closed),
                filtered=number(event.filtered), total=number(event.ports_scanned))
            self.summary.set(ended.format(what=f"{summary} {elapsed}"))
            self.status.set(ended.format(what=f"{event.host} ({event.address})"))
        if self.sort_column == "banner":
            self._resort()

    def _on_failed(self, event: ScanFailed) -> None:
        self.status.set(_("Error: {message}").format(message=event.message))
        if event.field:
            self._show_error(event.field, event.message)
        self.progress_text.set("")

    def _on_worker_done(self, event: WorkerDone) -> None:
        if self.worker is not None:
            self.worker.join(1)  # it has put its last event: returns at once
        self.worker = None
        self.cancelling = False
        self._set_running(False)

    # -- the tree ---------------------------------------------------------------------
    def _host(self, name: str, address: str) -> _HostRows:
        """The host's rows, its host row inserted (several hosts) in target order."""
        index = self.order.get(address, len(self.order))
        host = self.hosts.get(index)
        if host is not None:
            return host
        self.order.setdefault(address, index)
        host = _HostRows(index, name, address, f"h{index}" if self.several else "")
        self.hosts[index] = host
        if self.several:
            pos = bisect_left(self.shown_hosts, index)
            self.shown_hosts.insert(pos, index)
            # Hosts mostly come in target order: "end" saves Tk a walk.
            self.tree.insert("", "end" if pos == len(self.shown_hosts) - 1 else pos,
                             iid=host.iid, open=True)
            self._update_host_text(host)
        return host

    def _flush(self, deadline: float) -> bool:
        """Draw the open ports taken so far, host by host, a chunk at a
        time until ``deadline`` (at least one chunk); True if some are left."""
        while self.pending:
            index, arrivals = next(iter(self.pending.items()))
            chunk = arrivals[:ROWS_CHUNK]
            if len(arrivals) > ROWS_CHUNK:
                self.pending[index] = arrivals[ROWS_CHUNK:]
            else:
                del self.pending[index]
            self.pending_rows -= len(chunk)
            host = self.hosts[index]
            self._add_rows(host, chunk)
            self._update_host_text(host)
            if time.perf_counter() > deadline:
                break
        return bool(self.pending)

    def _flush_all(self) -> None:
        self._flush(float("inf"))

    def _add_rows(self, host: _HostRows, arrivals: list[tuple[int, str]]) -> None:
        """Put (port, service) rows under ``host`` in the current order.

        Ports come ascending within a host, so in the usual order every new
        row goes at the end, which costs Tk nothing to find; the few that
        come late are put in place one by one, and a batch with many is
        sorted with the host's rows and set in one call."""
        rows = self.rows
        prefix = f"p{host.index}:"
        if self.sort_column == "port":  # (port, service) pairs sort by port
            arrivals = sorted(arrivals, reverse=self.sort_reverse)
        new: list[str] = []
        for port, service in arrivals:
            iid = f"{prefix}{port}"
            if iid not in rows:
                rows[iid] = (port, service, "", "open")
                new.append(iid)
        if not new:
            return
        if self.sort_column != "port":
            new.sort(key=lambda iid: self._sort_key(rows[iid]), reverse=self.sort_reverse)
        # The new rows that belong before the host's last row.
        late = 0
        if host.ports:
            last = self._sort_key(rows[host.ports[-1]])
            while late < len(new) and not self._before(last, self._sort_key(rows[new[late]])):
                late += 1
        if late > MISPLACED_ONE_BY_ONE:
            self._append_rows(host, new)
            host.ports.sort(key=lambda iid: self._sort_key(rows[iid]), reverse=self.sort_reverse)
            self.tree.set_children(host.iid, *host.ports)
            return
        for iid in new[:late]:
            row = rows[iid]
            pos = self._position(host.ports, self._sort_key(row))
            host.ports.insert(pos, iid)
            self.tree.insert(host.iid, pos, iid=iid, values=_shown(row))
        self._append_rows(host, new[late:])

    def _append_rows(self, host: _HostRows, iids: list[str]) -> None:
        """Rows at the end of the host's, in one call to Tk: a host with
        every port open brings a few thousand of them ten times a second,
        and ttk's ``insert``, one by one, would spend more of the Tk
        thread (and of the scanner's share of the interpreter) than the
        scan itself."""
        if not iids:
            return
        rows, flat = self.rows, []
        shown_state = {}
        for iid in iids:
            port, service, banner, state = rows[iid]
            if state not in shown_state:
                shown_state[state] = state_name(state)
            # text, as ttk's insert gives
            flat += (iid, (str(port), service, banner, shown_state[state]))
        self.tk.call(_APPEND_ROWS, self.tree, host.iid, flat)
        host.ports.extend(iids)

    def _update_host_text(self, host: _HostRows) -> None:
        """The host row: "10.200.1.2 — 3 open" in the Host column, and in
        State whether its scan is going on, done (up) or was cut short."""
        if not host.iid:
            return
        label = host.address if host.name == host.address else f"{host.name} ({host.address})"
        opened = len(host.done.open) if host.done else len(host.ports)
        if opened:
            label += " — " + ngettext("{n} open", "{n} open", opened).format(n=number(opened))
        elif host.done is not None:
            label += " — " + _("no open ports")
        state = UP if host.done else "scanning" if self.result is None else "cancelled"
        self.tree.item(host.iid, text=label)
        self.tree.set(host.iid, "state", state_name(state))
        # "127.0.0.1 — 1 открытый" is longer than "127.0.0.1 — 1 open": the
        # host column grows to its longest text (and the indicator before it).
        font = ttk.Style(self).lookup("Treeview", "font") or "TkDefaultFont"
        need = int(self.tk.call("font", "measure", font, label)) + 44
        if need > self.host_need:
            self.host_need = need
            self._fit_columns(self.tree.winfo_width())

    def _fit_columns(self, width: int) -> None:
        """Share the tree's width out: the host column gets about a third
        (enough for "10.200.100.200 — 12 open"), Port, Service and State
        what they need, Banner the rest. Done on every resize and when the
        host column comes or goes, since Tk would shrink the host column
        first and, when it appears, push State out of sight."""
        width -= 4  # the border
        if width < 100:  # not drawn yet: the <Configure> to come fits them
            return
        fixed = sum(self.fixed_widths.values())
        host = 0
        if self.several:
            host = max(min(px(self, 260), max(px(self, 170), width * 3 // 10)),
                       min(self.host_need, width * 45 // 100))
        for col, col_width in self.fixed_widths.items():
            self.tree.column(col, width=col_width)
        self.tree.column("#0", width=host or 200)
        self.tree.column("banner", width=max(60, width - fixed - host))

    def _show_banner(self) -> None:
        """A banner is cut to its column: the selected port's shows in full below."""
        selected = self.tree.selection()
        row = self.rows.get(selected[0]) if len(selected) == 1 else None
        if row and row[2]:
            self.status.set(_("Port {port}: {banner}").format(port=row[0], banner=row[2]))

    def _show_focus_row(self) -> None:
        """Tabbing into the results shows where the keyboard is: with no row
        focused yet, the first one gets Tk's focus, selected when nothing
        else is, so the arrow keys start from a row the user sees. (A focus
        row already set stays, and the view is not moved to it.)"""
        if self.tree.focus():
            return
        children = self.tree.get_children()
        if not children:
            return
        self.tree.focus(children[0])
        if not self.tree.selection():
            self.tree.selection_set(children[0])
        self.tree.see(children[0])

    def _sort_key(self, row: tuple) -> tuple:
        return (row[COLUMNS.index(self.sort_column)], row[0])

    def _position(self, iids: list[str], key: tuple) -> int:
        """Where a row with ``key`` goes among ``iids`` in the current order."""
        if not iids or self._before(self._sort_key(self.rows[iids[-1]]), key):
            return len(iids)  # ports mostly come in order: the common case is cheap
        low, high = 0, len(iids)
        while low < high:
            mid = (low + high) // 2
            if self._before(self._sort_key(self.rows[iids[mid]]), key):
                low = mid + 1
            else:
                high = mid
        return low

    def _before(self, a: tuple, b: tuple) -> bool:
        return a > b if self.sort_reverse else a < b

    def sort_by(self, column: str) -> None:
        """Sort each host's ports by ``column``; a second click reverses."""
        if column == self.sort_column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column, self.sort_reverse = column, False
        self._flush_all()
        self._resort()
        self._update_headings()

    def _resort(self) -> None:
        # One call per host: moving 65535 rows one by one would walk them all each time.
        for host in self.hosts.values():
            host.ports.sort(key=lambda iid: self._sort_key(self.rows[iid]),
                            reverse=self.sort_reverse)
            self.tree.set_children(host.iid, *host.ports)

    def _update_headings(self) -> None:
        for col in COLUMNS:
            arrow = (" ▼" if self.sort_reverse else " ▲") if col == self.sort_column else ""
            self.tree.heading(col, text=column_title(col) + arrow)

    def _set_running(self, running: bool) -> None:
        self.start_button.state(["disabled"] if running else ["!disabled"])
        self.cancel_button.state(["!disabled"] if running else ["disabled"])
        ready = not running and self.result is not None
        self.export_button.state(["!disabled"] if ready else ["disabled"])

    # -- the results' menu ------------------------------------------------------------
    def _build_results_menu(self, event: tk.Event) -> tk.Menu:
        """Copy row, Copy all, Open in echo client; a right-click on a row
        not selected selects it first, as file managers do."""
        clicked = (self.tree.identify_row(event.y) if event.type == tk.EventType.ButtonPress
                   else self.tree.focus())
        if clicked and clicked not in self.tree.selection():
            self.tree.selection_set(clicked)
        if clicked:
            self.tree.focus(clicked)
        selected = self.tree.selection()
        port_row = selected[0] if len(selected) == 1 and selected[0] in self.rows else ""
        menu = tk.Menu(self.tree, tearoff=False)
        menu.add_command(label=_("Copy row") if len(selected) <= 1 else ngettext(
                             "Copy {n} row", "Copy {n} rows", len(selected)).format(
                             n=number(len(selected))),
                         accelerator="Ctrl+C", command=self.copy_selection,
                         state="normal" if selected else "disabled")
        menu.add_command(label=_("Copy all"), command=self.copy_all,
                         state="normal" if self.rows else "disabled")
        menu.add_separator()
        menu.add_command(label=_("Open in echo client"),
                         command=lambda: self.open_in_echo(port_row),
                         state="normal" if port_row and self.open_echo else "disabled")
        self.results_menu = menu
        return menu

    def _host_of(self, iid: str) -> _HostRows | None:
        """The host of a port row ("p<host index>:<port>")."""
        if iid not in self.rows:
            return None
        return self.hosts.get(int(iid[1:iid.index(":")]))

    def open_in_echo(self, iid: str) -> None:
        """Hand a port row's address and port to ``open_echo``."""
        host = self._host_of(iid)
        if host is None or self.open_echo is None:
            return
        port = self.rows[iid][0]
        self.open_echo(host.address, port)
        self.status.set(_("Opened an echo client on {address} port {port}").format(
            address=host.address, port=port))

    # -- output ---------------------------------------------------------------------
    def export(self, path: str, fmt: str) -> None:
        """Write every host's open ports as CSV or JSON (see the module's
        docstring); needs a finished or cancelled scan."""
        if self.result is None:
            raise ValueError("no scan to export yet")
        with open(path, "w", newline="", encoding="utf-8") as f:
            if fmt == "csv":
                writer = csv.writer(f)
                writer.writerow(CSV_COLUMNS)
                for host in self.result.hosts:
                    for port, service in host.open:
                        writer.writerow((host.host, host.address, port, service,
                                         host.banners.get(port, "")))
            else:
                data = self.result.as_json()
                for host, obj in zip(self.result.hosts, data.get("hosts", [data]), strict=True):
                    obj["services"] = {str(port): service for port, service in host.open}
                if self.started_at is not None:
                    data["scanned_at"] = self.started_at.isoformat(timespec="seconds")
                data["port_spec"] = self.scan_params.get("ports", "")
                data["targets"] = self.scan_params.get("targets", "")
                json.dump(data, f, indent=2)
                f.write("\n")

    def initial_export_dir(self) -> str:
        """Where the export dialog opens: the last export's folder while it
        exists, else the user's Documents, else home."""
        if self.export_dir and os.path.isdir(self.export_dir):
            return self.export_dir
        home = Path.home()
        documents = home / "Documents"
        return str(documents if documents.is_dir() else home)

    def export_dialog(self, fmt: str) -> None:
        if self.result is None:
            return
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", self.scanning.strip())[:40] or "scan"
        path = filedialog.asksaveasfilename(
            parent=self, title=_("Export open ports as {format}").format(format=fmt.upper()),
            initialdir=self.initial_export_dir(),
            defaultextension=f".{fmt}", initialfile=f"scan-{name}.{fmt}",
            filetypes=[(fmt.upper(), f"*.{fmt}"), (_("All files"), "*")])
        if not path:
            return
        # The folder the user went to is where the next export starts, even
        # if this file could not be written (the next name may be fine).
        self.export_dir = os.path.dirname(os.path.abspath(path))
        self.remember(export_dir=self.export_dir)
        try:
            self.export(path, fmt)
        except OSError as e:
            reason = e.strerror or str(e)
            self.status.set(_("Could not export to {path}: {reason}").format(
                path=path, reason=reason))
            messagebox.showerror(_("Export failed"),
                                 _("Could not write {path}").format(path=path),
                                 detail=reason, parent=self)
            return
        opened, hosts = len(self.result.open), len(self.result.hosts)
        self.status.set(_("Exported {ports} of {hosts} to {path}").format(
            ports=ngettext("{n} port", "{n} ports", opened).format(n=number(opened)),
            hosts=ngettext("{n} host", "{n} hosts", hosts).format(n=number(hosts)),
            path=path))

    def copied_lines(self, everything: bool = False) -> list[str]:
        """The selection (or everything) as tab-separated lines in display
        order; a host row stands for its ports, and with several hosts each
        line starts with the host and its address."""
        self._flush_all()
        selected = set() if everything else set(self.tree.selection())
        everything = not selected
        lines = []
        for index in (self.shown_hosts if self.several else sorted(self.hosts)):
            host = self.hosts[index]
            whole = everything or (host.iid and host.iid in selected)
            for iid in host.ports:
                if whole or iid in selected:
                    values = [str(v) for v in _shown(self.rows[iid])]
                    if self.several:
                        values = [host.name, host.address, *values]
                    lines.append("\t".join(values))
        return lines

    def copy_selection(self) -> None:
        self._copy(self.copied_lines())

    def copy_all(self) -> None:
        self._copy(self.copied_lines(everything=True))

    def _copy(self, lines: list[str]) -> None:
        self.clipboard_clear()
        self.clipboard_append("\n".join(lines))
        self.status.set(ngettext("Copied {n} port", "Copied {n} ports", len(lines)).format(
            n=number(len(lines))))

    def stop_workers(self) -> None:
        # Signal and return: the Tk thread never waits. The worker stops
        # within one time-out (a name being resolved: when the resolver
        # answers) and holds no Tk object, only the queue and this event.
        self.cancel_event.set()


def _how(event: ScanStarted) -> str:
    """How the scan runs, for the status line: "fast: 2,048 connects in flight"."""
    name = strategy_name(event.strategy)
    if event.strategy == "fast":
        connects = ngettext("{n} connect in flight", "{n} connects in flight",
                            event.in_flight).format(n=number(event.in_flight))
        if event.threads > 1:
            return _("{strategy}: {connects} on {threads}").format(
                strategy=name, connects=connects, threads=ngettext(
                    "{n} thread", "{n} threads", event.threads).format(n=number(event.threads)))
        return _("{strategy}: {connects}").format(strategy=name, connects=connects)
    if event.strategy == "threads":
        return _("{strategy}: {threads}").format(strategy=name, threads=ngettext(
            "{n} thread", "{n} threads", event.threads).format(n=number(event.threads)))
    return _("{strategy}: one connect at a time").format(strategy=name)


def _shown(row: tuple[int, str, str, str]) -> tuple[int, str, str, str]:
    """A port row's values as the table shows them (the state in words)."""
    port, service, banner, state = row
    return port, service, banner, state_name(state)


def _shorten(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"
