"""The scanner's form on screen: targets, ports, threads, time-out, strategy
and the two options, each field with its grey count or hint beside it and
its message under it. What the fields mean is form.py's (no Tk); this
module lays them out and shows what form.py says."""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk

from gui.kit.toolwindow import ChoiceBox
from gui.scanner import form
from gui.scanner.words import STRATEGY_HINTS, THREADS_HINTS, strategy_name
from gui.widgets.contextmenu import edit_menu
from net.i18n import _, ngettext, number
from net.scan.engine import DEFAULT_IN_FLIGHT, STRATEGIES


class ScanForm(ttk.Frame):
    """The form's widgets and variables; ``request()`` checks it into a scan request."""

    def __init__(self, master: tk.Misc, targets: str, ports: str, threads: str, timeout: str,
                 strategy: str, scan_all: bool, banners: bool):
        super().__init__(master, padding=(10, 10, 10, 4))
        self.targets = tk.StringVar(master, targets)
        self.ports = tk.StringVar(master, ports)
        self.threads = tk.StringVar(master, threads)
        self.timeout = tk.StringVar(master, timeout)
        self.strategy = tk.StringVar(master, strategy)
        self.scan_all = tk.BooleanVar(master, scan_all)
        self.banners = tk.BooleanVar(master, banners)
        self.errors: dict[str, ttk.Label] = {}
        self.entries: dict[str, ttk.Widget] = {}
        self.hints: dict[str, ttk.Label] = {}
        self._build()
        self.check_targets_live()
        self.count_ports()
        self.explain_strategy()

    def _build(self) -> None:
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
            ttk.Label(self, text=label).grid(row=row, column=0, sticky="w", padx=(0, 8), pady=2)
            cell = ttk.Frame(self)
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
            error = ttk.Label(self, style="Error.TLabel", justify="left", wraplength=400)
            error.grid(row=row + 1, column=1, sticky="w", pady=(0, 2))
            error.grid_remove()
            self.errors[key] = error
        ttk.Label(self, text=_("Strategy")).grid(row=8, column=0, sticky="w", pady=2)
        names = {strategy: strategy_name(strategy) for strategy in STRATEGIES}
        self.strategy_box = ChoiceBox(self, self.strategy, names,
                                      width=max(12, *(len(n) + 2 for n in names.values())))
        self.strategy_box.grid(row=8, column=1, sticky="w", pady=2)
        # What the chosen strategy does, changing with the choice.
        self.strategy_hint = ttk.Label(self, style="Hint.TLabel", justify="left",
                                       wraplength=400)
        self.strategy_hint.grid(row=9, column=1, sticky="w", pady=(0, 2))
        checks = ttk.Frame(self)
        checks.grid(row=10, column=0, columnspan=2, sticky="w", pady=(4, 0))
        self.scan_all_check = ttk.Checkbutton(
            checks, text=_("Scan hosts that do not answer (-Pn)"), variable=self.scan_all)
        self.scan_all_check.grid(row=0, column=0, sticky="w")
        self.banners_check = ttk.Checkbutton(checks, text=_("Read banners"),
                                             variable=self.banners)
        self.banners_check.grid(row=0, column=1, sticky="w", padx=(16, 0))
        self.checks = checks

        self.columnconfigure(1, weight=1)
        self.bind("<Configure>", lambda e: (self._wrap_errors(e.width),
                                            self._place_checks(e.width)))
        self.targets.trace_add("write", lambda *a: self.check_targets_live())
        self.ports.trace_add("write", lambda *a: self.count_ports())
        self.strategy.trace_add("write", lambda *a: self.explain_strategy())

    def _wrap_errors(self, form_width: int) -> None:
        left = self.entries["targets"].master.winfo_x()  # where column 1 starts
        wrap = max(200, form_width - left - 20)
        for label in (*self.errors.values(), self.strategy_hint):
            if label.cget("wraplength") != wrap:
                label.configure(wraplength=wrap)

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

    def explain_strategy(self) -> None:
        """The chosen strategy's line under the box, and what a blank thread count means."""
        strategy = self.strategy.get()
        hint = STRATEGY_HINTS.get(strategy)
        self.strategy_hint.configure(
            text=_(hint).format(n=number(DEFAULT_IN_FLIGHT)) if hint else "")
        threads = THREADS_HINTS.get(strategy)
        self.hints["threads"].configure(text=_(threads) if threads else "")
        # Sequential runs one connect at a time whatever the field says.
        self.entries["threads"].state(["disabled"] if strategy == "sequential"
                                      else ["!disabled"])

    def check_targets_live(self) -> None:
        """As the user types: a grey host count while the list parses; an
        error already shown follows the text (and goes once it is fixed), but
        a new one waits for Start, so half-typed addresses don't flash red."""
        hosts, problem = form.targets_problem(self.targets.get())
        self.hints["targets"].configure(text="" if problem else ngettext(
            "{n} host", "{n} hosts", hosts).format(n=number(hosts)))
        if not problem or self.errors["targets"].cget("text"):
            self.show_error("targets", problem)

    def count_ports(self) -> None:
        """The grey port count beside the ports field (nothing while it is wrong)."""
        count = form.port_count(self.ports.get())
        self.hints["ports"].configure(text=ngettext("{n} port", "{n} ports", count).format(
            n=number(count)) if count else "")

    def show_error(self, key: str, message: str) -> None:
        """A message under the field ("" takes it away)."""
        label = self.errors[key]
        label.configure(text=message)
        if message:
            label.grid()
        else:
            label.grid_remove()

    def text(self) -> form.FormText:
        return form.FormText(self.targets.get(), self.ports.get(), self.threads.get(),
                             self.timeout.get(), self.strategy.get(), self.scan_all.get(),
                             self.banners.get())

    def request(self) -> form.ScanRequest | None:
        """The form as a scan request, or None with messages by the fields
        (and the cursor in the first one that is wrong)."""
        request, problems = form.check(self.text())
        for key in self.errors:
            self.show_error(key, problems.get(key, ""))
        if problems:
            self.entries[next(iter(problems))].focus_set()
        return request
