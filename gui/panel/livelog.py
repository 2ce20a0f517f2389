"""The panel's live log: the level and line filters, the view that follows
new records and drops old ones from the top, its find bar, and the first
read of the log file merged with the records that arrive meanwhile.

A mixin of ``ControlPanel``: it uses the window's ``control`` (to clear the
file), ``status`` and ``log_records``.
"""

from __future__ import annotations

import logging
import tkinter as tk
from tkinter import font as tkfont
from tkinter import ttk

from gui.kit.style import color, themed_text
from gui.kit.toolwindow import ChoiceBox
from gui.panel.loglines import LEVELS, level_name, level_of, level_width, shown_line, take
from gui.widgets.contextmenu import edit_menu, read_only_menu
from gui.widgets.findbar import FindBar
from net.control.events import LogLine
from net.i18n import _, ngettext, number

LEVEL_ROLES = {"DEBUG": "muted", "WARNING": "warning", "ERROR": "error", "CRITICAL": "error"}
MAX_LOG_LINES = 5000
TRIM_STEP = 500  # lines dropped from the top of the view at a time
IN_FLIGHT = 8  # live records checked against the file's last lines after the first read


class LiveLog:
    """The log frame of the panel and what it shows."""

    level: tk.StringVar
    line_filter: tk.StringVar
    log_records: list[tuple[int, str]]
    _in_flight: list[str]
    _in_flight_left: int

    def _build_log(self, panes: ttk.PanedWindow) -> ttk.LabelFrame:
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
        read_only_menu(self.log_view)
        self.findbar = LiveFindBar(logs, self.log_view)
        self.findbar.grid(row=2, column=0, columnspan=2, sticky="ew", pady=(4, 0))
        self.findbar.grid_remove()
        edit_menu(self.findbar.entry)
        FindBar.bind_keys(self, self.findbar)
        logs.rowconfigure(1, weight=1)
        logs.columnconfigure(0, weight=1)
        return logs

    # -- records ---------------------------------------------------------------------------
    def _on_log(self, event: LogLine) -> None:
        if self._in_flight:
            # A record written to the file just before the read, whose live
            # copy was still on its way: shown already.
            self._in_flight_left -= 1
            taken = take(self._in_flight, event.line)
            if self._in_flight_left <= 0:
                self._in_flight = []
            if taken:
                return
        self.add_log(event.level, event.line)

    def _log_loaded(self, lines: list[str]) -> None:
        """The file's last lines, read once at the start. A record logged
        meanwhile reaches the file and the live feed both, the feed before
        or after this read: each is kept once."""
        live = self.log_records
        recent = lines[-(len(live) + IN_FLIGHT):]
        kept = [(level, line) for level, line in live if not take(recent, line)]
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

    # -- the view --------------------------------------------------------------------------
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


class LiveFindBar(FindBar):
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
            self.count.set(ngettext("{n} match", "{n} matches", len(self.matches)).format(
                n=number(len(self.matches)) + self.more()))
