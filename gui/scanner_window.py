"""The port scanner window: a form, a progress bar and a live table of open
ports, always in order. The scan runs on a worker thread and reports
through the window's event queue.
"""

from __future__ import annotations

import csv
import json
import threading
import tkinter as tk
from bisect import bisect_left
from tkinter import filedialog, ttk

from gui.settings import Settings
from gui.toolwindow import ToolWindow
from net.progress import format_eta
from net.scan.engine import (
    DEFAULT_TIMEOUT,
    STRATEGIES,
    PortOpen,
    Progress,
    ScanError,
    ScanFinished,
    Scanner,
    ScanStarted,
)
from net.scan.ports import ALL_PORTS, PortSpecError, parse_ports

COLUMNS = ("port", "service", "state")


class ScannerWindow(ToolWindow):
    settings_section = "scanner"
    default_geometry = "620x560"

    def __init__(self, master: tk.Misc, settings: Settings | None = None):
        super().__init__(master, "netdesk — Port scanner", settings, icon="scanner",
                         min_size=(480, 420))
        self.host = tk.StringVar(self, self.remembered("host", "127.0.0.1"))
        self.ports = tk.StringVar(self, self.remembered("ports", ALL_PORTS))
        self.threads = tk.StringVar(self, str(self.remembered("threads", "")))
        self.timeout = tk.StringVar(self, str(self.remembered("timeout", DEFAULT_TIMEOUT)))
        self.strategy = tk.StringVar(self, self.remembered("strategy", "fast"))
        self.progress_text = tk.StringVar(self, "")
        self.summary = tk.StringVar(self, "")
        self.cancel_event = threading.Event()
        self.worker: threading.Thread | None = None
        self.rows: list[tuple[int, str, str]] = []
        self.sort_column, self.sort_reverse = "port", False
        self.result: ScanFinished | None = None
        self._build()
        self._set_running(False)
        self.status.set("Enter a host and press Start (Enter).")

    # -- layout -------------------------------------------------------------
    def _build(self) -> None:
        form = ttk.Frame(self, padding=(10, 10, 10, 4))
        form.grid(row=0, column=0, sticky="ew")
        self.errors: dict[str, ttk.Label] = {}
        self.entries: dict[str, ttk.Widget] = {}
        fields = [("host", "Host", self.host, 28), ("ports", "Ports", self.ports, 28),
                  ("threads", "Threads", self.threads, 8), ("timeout", "Timeout (s)",
                                                            self.timeout, 8)]
        for row, (key, label, var, width) in enumerate(fields):
            ttk.Label(form, text=label).grid(row=row, column=0, sticky="w", padx=(0, 8), pady=2)
            entry = ttk.Entry(form, textvariable=var, width=width)
            entry.grid(row=row, column=1, sticky="ew" if width > 10 else "w", pady=2)
            entry.bind("<Return>", lambda e: self.start())
            self.entries[key] = entry
            error = ttk.Label(form, foreground="#b00020")
            error.grid(row=row, column=2, sticky="w", padx=(8, 0))
            self.errors[key] = error
        ttk.Label(form, text="Strategy").grid(row=4, column=0, sticky="w", pady=2)
        self.strategy_box = ttk.Combobox(form, textvariable=self.strategy, values=STRATEGIES,
                                         state="readonly", width=12)
        self.strategy_box.grid(row=4, column=1, sticky="w", pady=2)
        self.threads_hint = ttk.Label(form, text="blank = automatic", foreground="#666666")
        self.threads_hint.grid(row=2, column=1, sticky="e")
        form.columnconfigure(1, weight=1)
        form.columnconfigure(2, weight=1)

        buttons = ttk.Frame(self, padding=(10, 4))
        buttons.grid(row=1, column=0, sticky="ew")
        self.start_button = ttk.Button(buttons, text="Start", command=self.start)
        self.start_button.pack(side="left")
        self.cancel_button = ttk.Button(buttons, text="Cancel", command=self.cancel)
        self.cancel_button.pack(side="left", padx=6)
        self.export_button = ttk.Menubutton(buttons, text="Export")
        menu = tk.Menu(self.export_button, tearoff=False)
        menu.add_command(label="CSV…", command=lambda: self.export_dialog("csv"))
        menu.add_command(label="JSON…", command=lambda: self.export_dialog("json"))
        self.export_button["menu"] = menu
        self.export_button.pack(side="right")
        self.copy_button = ttk.Button(buttons, text="Copy", command=self.copy_selection)
        self.copy_button.pack(side="right", padx=6)

        prog = ttk.Frame(self, padding=(10, 2))
        prog.grid(row=2, column=0, sticky="ew")
        self.progressbar = ttk.Progressbar(prog, mode="determinate", maximum=100)
        self.progressbar.grid(row=0, column=0, sticky="ew")
        ttk.Label(prog, textvariable=self.progress_text, width=34).grid(
            row=0, column=1, sticky="e", padx=(8, 0))
        prog.columnconfigure(0, weight=1)

        table = ttk.Frame(self, padding=(10, 4))
        table.grid(row=3, column=0, sticky="nsew")
        self.tree = ttk.Treeview(table, columns=COLUMNS, show="headings", selectmode="extended")
        for col, width, anchor in (("port", 90, "e"), ("service", 200, "w"), ("state", 90, "w")):
            self.tree.heading(col, text=col.capitalize(), command=lambda c=col: self.sort_by(c))
            self.tree.column(col, width=width, anchor=anchor, stretch=col == "service")
        bar = ttk.Scrollbar(table, orient="vertical", command=self.tree.yview)
        self.tree.configure(yscrollcommand=bar.set)
        self.tree.grid(row=0, column=0, sticky="nsew")
        bar.grid(row=0, column=1, sticky="ns")
        table.rowconfigure(0, weight=1)
        table.columnconfigure(0, weight=1)
        self.tree.bind("<Control-c>", lambda e: self.copy_selection())
        self.tree.bind("<Control-a>", lambda e: self.tree.selection_set(self.tree.get_children()))

        ttk.Label(self, textvariable=self.summary, padding=(10, 2)).grid(
            row=4, column=0, sticky="w")
        self.statusbar.grid(row=5, column=0, sticky="ew")
        self.rowconfigure(3, weight=1)
        self.columnconfigure(0, weight=1)
        self.bind("<Escape>", lambda e: self.cancel())
        self.entries["host"].focus_set()
        self._update_headings()

    # -- validation -----------------------------------------------------------
    def validate(self) -> dict | None:
        """The form as Scanner arguments, or None with messages by the fields."""
        problems: dict[str, str] = {}
        host = self.host.get().strip()
        if not host:
            problems["host"] = "enter a host name or address"
        try:
            parse_ports(self.ports.get())
        except PortSpecError as e:
            problems["ports"] = str(e)
        threads = None
        if self.threads.get().strip():
            try:
                threads = int(self.threads.get())
                if not 1 <= threads <= 2048:
                    raise ValueError
            except ValueError:
                problems["threads"] = "a number from 1 to 2048, or blank"
        try:
            timeout = float(self.timeout.get())
            if not 0.01 <= timeout <= 60:
                raise ValueError
        except ValueError:
            problems["timeout"] = "seconds, from 0.01 to 60"
            timeout = DEFAULT_TIMEOUT
        for key, label in self.errors.items():
            label.configure(text=problems.get(key, ""))
        if problems:
            self.entries[next(iter(problems))].focus_set()
            return None
        return {"host": host, "ports": self.ports.get(), "threads": threads,
                "timeout": timeout, "strategy": self.strategy.get()}

    # -- actions ------------------------------------------------------------------
    def start(self) -> None:
        if self.worker is not None:
            return
        params = self.validate()
        if params is None:
            self.status.set("Fix the fields marked in red.")
            return
        self.remember(**{k: v if v is not None else ""
                                               for k, v in params.items()})
        self.tree.delete(*self.tree.get_children())
        self.rows.clear()
        self.result = None
        self.summary.set("")
        self.progressbar["value"] = 0
        self.progress_text.set("resolving…")
        self.status.set(f"Scanning {params['host']}…")
        self._set_running(True)
        self.cancel_event = threading.Event()
        self.worker = threading.Thread(target=self._scan, args=(params,), name="scan-window",
                                       daemon=True)
        self.worker.start()

    def _scan(self, params: dict) -> None:
        """Worker thread: build the scanner (it resolves the host) and run it."""
        try:
            scanner = Scanner(params["host"], params["ports"], strategy=params["strategy"],
                              threads=params["threads"], timeout=params["timeout"],
                              cancel=self.cancel_event)
            scanner.run(self.events.put)
        except ScanError as e:
            self.events.put(("error", str(e)))
        except Exception as e:  # shown to the user, never swallowed
            self.events.put(("error", f"scan failed: {e}"))
        finally:
            self.events.put(("done",))

    def cancel(self) -> None:
        if self.worker is not None:
            self.cancel_event.set()  # also stops a scan still resolving its host
            self.status.set("Cancelling…")

    # -- events -------------------------------------------------------------------
    def on_event(self, event) -> None:
        if isinstance(event, Progress):
            pct = 100.0 * event.done / event.total if event.total else 100.0
            self.progressbar["value"] = pct
            self.progress_text.set(f"{pct:5.1f}%  {event.rate:,.0f} ports/s  "
                                   f"ETA {format_eta(event.eta)}")
        elif isinstance(event, PortOpen):
            self._insert_row((event.port, event.service, "open"))
        elif isinstance(event, ScanStarted):
            self.status.set(f"Scanning {event.host} ({event.address}): {event.total} ports, "
                            f"{event.strategy}, {event.threads} thread(s)")
        elif isinstance(event, ScanFinished):
            self.result = event
            word = "Cancelled" if event.cancelled else "Done"
            self.summary.set(f"{word}: {len(event.open)} open, {event.closed} closed, "
                             f"{event.filtered} filtered of {event.ports_scanned} ports "
                             f"in {event.elapsed:.2f} s")
            self.status.set(f"{word}: {event.host} ({event.address})")
        elif event[0] == "error":
            self.status.set(f"Error: {event[1]}")
            self.errors["host"].configure(text=event[1] if "host" in event[1] else "")
            self.progress_text.set("")
        elif event[0] == "done":
            if self.worker is not None:
                self.worker.join()  # it has put its last event: returns at once
            self.worker = None
            self._set_running(False)

    def _sort_key(self, row: tuple[int, str, str]):
        index = COLUMNS.index(self.sort_column)
        return (row[index], row[0])

    def _insert_row(self, row: tuple[int, str, str]) -> None:
        """Insert where the current sort order puts it (ascending ports by default)."""
        key = self._sort_key(row)
        if self.sort_reverse:
            pos = next((i for i, r in enumerate(self.rows) if self._sort_key(r) < key),
                       len(self.rows))
        else:
            pos = bisect_left([self._sort_key(r) for r in self.rows], key)
        self.rows.insert(pos, row)
        self.tree.insert("", pos, iid=str(row[0]), values=row)

    def sort_by(self, column: str) -> None:
        if column == self.sort_column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column, self.sort_reverse = column, False
        self.rows.sort(key=self._sort_key, reverse=self.sort_reverse)
        for index, row in enumerate(self.rows):
            self.tree.move(str(row[0]), "", index)
        self._update_headings()

    def _update_headings(self) -> None:
        for col in COLUMNS:
            arrow = (" ▼" if self.sort_reverse else " ▲") if col == self.sort_column else ""
            self.tree.heading(col, text=col.capitalize() + arrow)

    def _set_running(self, running: bool) -> None:
        self.start_button.state(["disabled"] if running else ["!disabled"])
        self.cancel_button.state(["!disabled"] if running else ["disabled"])

    # -- output ---------------------------------------------------------------------
    def export(self, path: str, fmt: str) -> None:
        """Write the table (ascending by port) as CSV or JSON."""
        rows = sorted(self.rows)
        with open(path, "w", newline="", encoding="utf-8") as f:
            if fmt == "csv":
                writer = csv.writer(f)
                writer.writerow(COLUMNS)
                writer.writerows(rows)
            else:
                data = self.result.as_json() if self.result else {}
                data["open"] = [port for port, _, _ in rows]
                data["services"] = {str(port): service for port, service, _ in rows}
                json.dump(data, f, indent=2)
                f.write("\n")

    def export_dialog(self, fmt: str) -> None:
        path = filedialog.asksaveasfilename(
            parent=self, title=f"Export open ports as {fmt.upper()}",
            defaultextension=f".{fmt}", initialfile=f"scan-{self.host.get().strip()}.{fmt}",
            filetypes=[(fmt.upper(), f"*.{fmt}"), ("All files", "*")])
        if not path:
            return
        try:
            self.export(path, fmt)
            self.status.set(f"Exported {len(self.rows)} port(s) to {path}")
        except OSError as e:
            self.status.set(f"Could not export: {e.strerror or e}")

    def copy_selection(self) -> None:
        items = self.tree.selection() or self.tree.get_children()
        lines = ["\t".join(str(v) for v in self.tree.item(i, "values")) for i in items]
        self.clipboard_clear()
        self.clipboard_append("\n".join(lines))
        self.status.set(f"Copied {len(lines)} row(s)")

    def stop_workers(self) -> None:
        self.cancel_event.set()
        if self.worker is not None:
            self.worker.join(5)  # cancel takes effect within one timeout
