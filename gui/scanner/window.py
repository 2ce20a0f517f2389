"""The port scanner window: a form taking the targets ``netdesk scan`` takes
(names, addresses, CIDR blocks, ranges), a progress bar, and a live tree of
the hosts that are up with their open ports, always in order. The scan runs
on a worker thread and reports through the window's event queue.

This module wires the parts together and handles the scan's events; the
parts have rooms of their own: formview.py (the form on screen) and form.py
(its checks, no Tk), worker.py (the worker thread), poller.py (the queue
polled in time slices), results.py (the tree), ordering.py (the results'
order), export.py (CSV and JSON) and words.py (what the screen calls things).

Results keep pace with the engine: events are taken for a bounded slice of
the Tk thread per tick (``SlicedPoller``), and the open ports they bring are
put in the tree in batches. Cancel stops the engine at once and skips the
ports still queued: the final result, which holds them all, fills the tree
in one go.

Exports (after a scan, or after Cancel for what was found so far), in the
folder of the last export (else Documents, else home): see export.py.

Right-click (or Shift+F10) on the results: Copy row, Copy all, and Open in
echo client, which calls the ``open_echo(address, port)`` the window was
given (the launcher's; without one the entry is disabled).
"""

from __future__ import annotations

import os
import threading
import tkinter as tk
from collections.abc import Callable
from datetime import datetime
from tkinter import filedialog, messagebox, ttk

from gui.kit.settings import Settings
from gui.kit.toolwindow import ToolWindow
from gui.scanner import export
from gui.scanner.form import ScanRequest
from gui.scanner.formview import ScanForm
from gui.scanner.ordering import TargetOrder
from gui.scanner.poller import SlicedPoller
from gui.scanner.results import ROWS_WAITING, ResultsTable
from gui.scanner.words import host_counts, how, shorten
from gui.scanner.worker import OpenPorts, ScanFailed, WorkerDone, run_scan
from net.i18n import _, ngettext, number
from net.progress import format_eta
from net.scan.engine import (
    DEFAULT_TIMEOUT,
    DOWN,
    STRATEGIES,
    UP,
    Banner,
    HostDone,
    HostState,
    PortOpen,
    Progress,
    ScanFinished,
    ScanStarted,
)
from net.scan.ports import ALL_PORTS


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
        self.progress_text = tk.StringVar(self, "")
        self.summary = tk.StringVar(self, "")
        self.cancel_event = threading.Event()
        self.worker: threading.Thread | None = None
        self.result: ScanFinished | None = None
        self.scanning = ""  # the targets of the last scan, as the status shows them
        self.request: ScanRequest | None = None  # the last scan's, for the export
        self.started_at: datetime | None = None
        self.export_dir = self.remembered("export_dir", "")
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
        # The base class's poller takes a fixed number of events a tick; a
        # full scan of an all-open host needs a bound in time and rows drawn
        # in batches.
        self.poller.stop()
        self.poller = SlicedPoller(self, self.events, self._take, self.results.flush,
                                   lambda: self.results.pending_rows >= ROWS_WAITING)
        self.poller.start()
        self._set_running(False)
        self.status.set(_("Enter targets and press Start (Enter)."))

    def _reset_scan_state(self) -> None:
        self.cancelling = False
        self.skipped = False  # open ports left in the queue after Cancel
        self.hosts_up = self.hosts_down = 0
        self.progressed = False

    # -- layout -------------------------------------------------------------
    def _build(self) -> None:
        strategy = self.remembered("strategy", "fast")
        # Before targets, the window took one host: start from it.
        self.form = ScanForm(
            self, targets=self.remembered("targets", self.remembered("host", "127.0.0.1")),
            ports=self.remembered("ports", ALL_PORTS),
            threads=str(self.remembered("threads", "")),
            timeout=str(self.remembered("timeout", DEFAULT_TIMEOUT)),
            strategy=strategy if strategy in STRATEGIES else "fast",
            scan_all=self.remembered("scan_all", False) is True,
            banners=self.remembered("banners", False) is True)
        self.form.grid(row=0, column=0, sticky="ew")
        # The form's fields, as the window always offered them.
        form = self.form
        self.targets, self.ports, self.threads = form.targets, form.ports, form.threads
        self.timeout, self.strategy = form.timeout, form.strategy
        self.scan_all, self.banners = form.scan_all, form.banners
        self.entries, self.errors, self.hints = form.entries, form.errors, form.hints
        self.strategy_box, self.strategy_hint = form.strategy_box, form.strategy_hint
        self.scan_all_check, self.banners_check = form.scan_all_check, form.banners_check

        buttons = ttk.Frame(self, padding=(10, 4))
        buttons.grid(row=1, column=0, sticky="ew")
        self.start_button = ttk.Button(buttons, text=_("Start"), command=self.start)
        self.start_button.pack(side="left")
        self.cancel_button = ttk.Button(buttons, text=_("Cancel"), command=self.cancel)
        self.cancel_button.pack(side="left", padx=6)
        # Made in the order they stand on the screen (Tab follows it), packed
        # from the right edge.
        self.copy_button = ttk.Button(buttons, text=_("Copy"),
                                      command=lambda: self.copy_selection())
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

        self.results = ResultsTable(self, self.status, self.open_echo)
        self.results.grid(row=3, column=0, sticky="nsew")
        # What the results offer, as the window always offered it.
        self.tree = self.results.tree
        self.sort_by = self.results.sort_by
        self.copy_selection = self.results.copy_selection
        self.copy_all = self.results.copy_all
        self.copied_lines = self.results.copied_lines

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

    @property
    def results_menu(self) -> tk.Menu | None:
        """The results' menu last opened."""
        return self.results.menu

    def _set_running(self, running: bool) -> None:
        self.start_button.state(["disabled"] if running else ["!disabled"])
        self.cancel_button.state(["!disabled"] if running else ["disabled"])
        ready = not running and self.result is not None
        self.export_button.state(["!disabled"] if ready else ["disabled"])

    # -- actions ------------------------------------------------------------------
    def validate(self) -> ScanRequest | None:
        """The form as a scan request, or None with messages by the fields."""
        return self.form.request()

    def start(self) -> None:
        if self.worker is not None:
            return
        request = self.validate()
        if request is None:
            if self.errors["targets"].cget("text"):
                # The results on screen are not of the targets now typed.
                self._clear_results()
            self.status.set(_("Fix the fields marked in red."))
            return
        self.remember(targets=request.targets, ports=request.ports,
                      threads=request.threads_text, timeout=request.timeout,
                      strategy=request.strategy, scan_all=self.scan_all.get(),
                      banners=request.banners)
        self._clear_results()
        self.request = request
        self.started_at = datetime.now().astimezone()
        self.progress_text.set(_("resolving…"))
        self.scanning = shorten(request.targets, 60)
        self.status.set(_("Scanning {targets}…").format(targets=self.scanning))
        self._set_running(True)
        self.cancel_event = threading.Event()
        self.worker = threading.Thread(target=run_scan,
                                       args=(request, self.events.put, self.cancel_event),
                                       name="scan-window", daemon=True)
        self.worker.start()

    def _clear_results(self) -> None:
        """No results, no progress, nothing to export."""
        self.results.clear()
        self._reset_scan_state()
        self.result = None
        self.summary.set("")
        self.progressbar["value"] = 0
        self.progress_text.set("")
        self._set_running(self.worker is not None)

    def cancel(self) -> None:
        if self.worker is not None and not self.cancelling:
            self.cancel_event.set()  # also stops a scan still resolving its targets
            # The open ports still queued or waiting to be drawn are in the
            # final result too: skip them rather than keep the user waiting
            # while they are drawn one batch after another.
            self.cancelling = True
            if self.results.drop_pending():
                self.skipped = True
            self.status.set(_("Cancelling…"))

    # -- events -------------------------------------------------------------------
    def on_event(self, event) -> None:
        """Handle one event and draw what it brought."""
        self._take(event)
        self.results.flush_all()

    def _take(self, event) -> None:
        self._handlers[type(event)](event)  # an unknown event is a KeyError, not a silence

    def _on_started(self, event: ScanStarted) -> None:
        several = event.hosts > 1
        self.results.show_several(several)
        how_ = how(event)
        if several:
            self.status.set(_("Scanning {hosts} × {ports}, {how}").format(
                hosts=ngettext("{n} host", "{n} hosts", event.hosts).format(
                    n=number(event.hosts)),
                ports=ngettext("{n} port", "{n} ports", event.ports).format(
                    n=number(event.ports)), how=how_))
            self.progress_text.set(_("finding the hosts that answer…"))
        else:
            self.status.set(_("Scanning {host} ({address}): {ports}, {how}").format(
                host=event.host, address=event.address,
                ports=ngettext("{n} port", "{n} ports", event.total).format(
                    n=number(event.total)), how=how_))
            self.progress_text.set("")

    def _on_target_order(self, event: TargetOrder) -> None:
        self.results.order = {address: i for i, address in enumerate(event.addresses)}

    def _on_host_state(self, event: HostState) -> None:
        if event.state == UP:
            self.hosts_up += 1
            self.results.host(event.host, event.address)
        elif event.state == DOWN:
            self.hosts_down += 1
        if self.results.several and not self.progressed:  # finding hosts: no Progress yet
            self.progress_text.set(_("finding the hosts that answer…") + "  "
                                   + host_counts(self.hosts_up, self.hosts_down))

    def _on_progress(self, event: Progress) -> None:
        self.progressed = True
        pct = 100.0 * event.done / event.total if event.total else 100.0
        self.progressbar["value"] = pct
        text = _("{percent}%  {rate} ports/s  ETA {eta}").format(
            percent=f"{number(pct, 1):>5}", rate=number(event.rate, 0),
            eta=format_eta(event.eta))
        if event.hosts_total > 1:
            text += "  " + host_counts(event.hosts_up, event.hosts_down)
        self.progress_text.set(text)

    def _on_port_open(self, event: PortOpen) -> None:
        self._on_open_ports(OpenPorts([event]))

    def _on_open_ports(self, event: OpenPorts) -> None:
        if self.cancelling:
            self.skipped = True
            return
        self.results.take(event.events)

    def _on_banner(self, event: Banner) -> None:
        self.results.set_banner(event.address, event.port, event.text)

    def _on_host_done(self, event: HostDone) -> None:
        result = event.result
        if result.state != UP:
            return
        host = self.results.host(result.host, result.address)
        host.done = result
        self.results.update_host_text(host)

    def _on_finished(self, event: ScanFinished) -> None:
        self.result = event
        results = self.results
        results.finished = True
        results.flush_all()
        if self.skipped:  # ports skipped after Cancel: the result has them all
            for result in event.hosts:
                if result.open:
                    results.add_rows(results.host(result.host, result.address), result.open)
        ended = _("Cancelled: {what}") if event.cancelled else _("Done: {what}")
        elapsed = _("in {seconds} s").format(seconds=number(event.elapsed, 2))
        if results.several:
            # A scan cut short has hosts that answered but were never decided.
            for result in event.hosts:
                if result.state == UP:
                    results.host(result.host, result.address)
            for host in results.hosts.values():
                results.update_host_text(host)
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
        if results.order_by.column == "banner":
            results.resort()

    def _on_failed(self, event: ScanFailed) -> None:
        self.status.set(_("Error: {message}").format(message=event.message))
        if event.field:
            self.form.show_error(event.field, event.message)
        # Nothing was scanned: no bar, no percentage, no results under the error.
        self.progressbar["value"] = 0
        self.progress_text.set("")

    def _on_worker_done(self, event: WorkerDone) -> None:
        if self.worker is not None:
            self.worker.join(1)  # it has put its last event: returns at once
        self.worker = None
        self.cancelling = False
        self._set_running(False)

    # -- output ---------------------------------------------------------------------
    def _record(self) -> export.ScanRecord:
        if self.result is None:
            raise ValueError("no scan to export yet")
        request = self.request
        return export.ScanRecord(self.result, request.ports if request else "",
                                 request.targets if request else "", self.started_at)

    def export(self, path: str, fmt: str) -> None:
        """Write every host's open ports as CSV or JSON (see export.py);
        needs a finished or cancelled scan."""
        export.write(path, fmt, self._record())

    def initial_export_dir(self) -> str:
        """Where the export dialog opens: the last export's folder while it
        exists, else the user's Documents, else home."""
        return export.initial_dir(self.export_dir)

    def export_dialog(self, fmt: str) -> None:
        if self.result is None:
            return
        path = filedialog.asksaveasfilename(
            parent=self, title=_("Export open ports as {format}").format(format=fmt.upper()),
            initialdir=self.initial_export_dir(),
            defaultextension=f".{fmt}", initialfile=export.file_name(self.scanning, fmt),
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

    def stop_workers(self) -> None:
        # Signal and return: the Tk thread never waits. The worker stops
        # within one time-out (a name being resolved: when the resolver
        # answers) and holds no Tk object, only the queue and this event.
        self.cancel_event.set()
