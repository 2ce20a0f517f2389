"""The scanner's results: a tree of the hosts that are up (when the targets
name several) with their open ports, always in order, and the menu that
copies them or opens an echo client on one.

Results keep pace with the engine: the open ports taken from the queue wait
in ``pending`` and are put in the tree in batches (``flush``), appended at
the end when they come in order (a host with every port open sends 65535 of
them in seconds)."""

from __future__ import annotations

import time
import tkinter as tk
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from tkinter import font as tkfont
from tkinter import ttk

from gui.kit.style import color, px
from gui.scanner.ordering import COLUMNS, Row, RowOrder
from gui.scanner.words import ROW_STATES, column_title, shown, state_name
from gui.widgets.contextmenu import attach
from net.i18n import _, ngettext, number
from net.scan.engine import UP, HostResult, PortOpen

# Pixels at 96 dpi; banner (and host) take the rest. Port and State grow to
# their heading in the language shown (fixed_widths).
FIXED_WIDTHS = {"port": 64, "service": 100, "state": 76}
# Rows are drawn in chunks of ROWS_CHUNK, and no more than ROWS_WAITING are
# taken from the queue ahead of being drawn.
ROWS_CHUNK = 1024
ROWS_WAITING = 4096
# Rows that arrive out of order are put in place one by one up to this many
# in a batch (each a walk along the host's rows in Tk); past it the host's
# rows are sorted and set again in one call.
MISPLACED_ONE_BY_ONE = 32
# Appends rows given as a flat list of iid, values: one Tcl call per
# batch, and Tk's work done without holding Python's interpreter lock.
_APPEND_ROWS = "::netdesk_scanner_append_rows"
_APPEND_ROWS_BODY = """
    foreach {iid values} $rows {
        $tree insert $parent end -id $iid -values $values
    }
"""


@dataclass
class HostRows:
    """One host's place in the tree: its row (several hosts) and its port rows."""

    index: int  # in target order
    name: str
    address: str
    iid: str  # "" when the ports are shown at the top level (one host)
    ports: list[str] = field(default_factory=list)  # port rows' iids, in display order
    done: HostResult | None = None


def fixed_widths(widget: tk.Misc) -> dict[str, int]:
    """Port, Service and State as wide as FIXED_WIDTHS says, or as their
    heading (with the sort arrow) and states in the language shown, if wider."""
    heading = tkfont.nametofont("TkHeadingFont")
    body = tkfont.nametofont("TkDefaultFont")
    widths = {}
    for col, width in FIXED_WIDTHS.items():
        need = heading.measure(column_title(col) + " ▲") + px(widget, 16)
        if col == "state":
            need = max(need, *(body.measure(state_name(s)) + px(widget, 12)
                               for s in ROW_STATES))
        widths[col] = max(px(widget, width), need)  # FIXED_WIDTHS are at 96 dpi
    return widths


def style_focus(widget: tk.Misc) -> None:
    """Draw the results' border in the accent colour while they have the
    keyboard focus (the theme draws no focus on a Treeview)."""
    accent = color(widget, "accent")
    style = ttk.Style(widget)
    if style.map("Results.Treeview", "bordercolor") == [("focus", accent)]:
        return  # mapped by an earlier window: mapping again redraws every widget
    style.map("Results.Treeview", bordercolor=[("focus", accent)],
              lightcolor=[("focus", accent)], darkcolor=[("focus", accent)])


class ResultsTable(ttk.Frame):
    """The tree, its rows' book-keeping, sorting, copying and the results' menu.

    ``status`` is the window's status line; ``open_echo(address, port)``,
    when given, is what "Open in echo client" calls."""

    def __init__(self, master: tk.Misc, status: tk.StringVar,
                 open_echo: Callable[[str, int], object] | None = None):
        super().__init__(master, padding=(10, 4))
        self.status = status
        self.open_echo = open_echo
        self.order_by = RowOrder()
        self.menu: tk.Menu | None = None  # the last one opened
        # A constant Tcl procedure, defined once through ``proc`` itself (no
        # script is evaluated); rows reach it as a list through tk.call and
        # are never parsed as Tcl.
        self.tk.call("proc", _APPEND_ROWS, "tree parent rows", _APPEND_ROWS_BODY)
        self.reset()
        self.tree = ttk.Treeview(self, columns=COLUMNS, show="headings", selectmode="extended",
                                 style="Results.Treeview")
        style_focus(self)
        self.tree.heading("#0", text=_("Host"), anchor="w")
        self.tree.column("#0", width=220, minwidth=120, stretch=False)
        self.fixed_widths = fixed_widths(self)
        for col in COLUMNS:
            self.tree.heading(col, text=column_title(col), command=lambda c=col: self.sort_by(c))
            self.tree.column(col, width=self.fixed_widths.get(col, 200), minwidth=50,
                             anchor="e" if col == "port" else "w", stretch=False)
        bar = ttk.Scrollbar(self, orient="vertical", command=self.tree.yview)
        self.tree.configure(yscrollcommand=bar.set)
        self.tree.grid(row=0, column=0, sticky="nsew")
        bar.grid(row=0, column=1, sticky="ns")
        self.rowconfigure(0, weight=1)
        self.columnconfigure(0, weight=1)
        self.tree.bind("<Configure>", lambda e: self._fit_columns(e.width))
        self.tree.bind("<<TreeviewSelect>>", lambda e: self._show_banner())
        self.tree.bind("<Control-c>", lambda e: self.copy_selection())
        self.tree.bind("<Control-a>", lambda e: self.tree.selection_set(self.tree.get_children()))
        self.tree.bind("<FocusIn>", lambda e: self._show_focus_row())
        attach(self.tree, self._build_menu)
        self._update_headings()

    def reset(self) -> None:
        """Forget every row (the tree's own rows are deleted by ``clear``)."""
        self.several = False
        self.finished = False  # the scan's result came: hosts not done were cut short
        self.order: dict[str, int] = {}  # address -> index in target order
        self.hosts: dict[int, HostRows] = {}  # hosts with a place in the tree
        self.shown_hosts: list[int] = []  # their indexes, ascending (tree order)
        # A port row's iid -> its values (port, service, banner, state).
        self.rows: dict[str, Row] = {}
        self.pending: dict[int, list[tuple[int, str]]] = {}  # taken, not drawn yet
        self.pending_rows = 0
        self.host_need = 0  # pixels the longest host row's text needs

    def clear(self) -> None:
        """No rows on screen and none remembered."""
        self.tree.delete(*self.tree.get_children())
        self.reset()

    def show_several(self, several: bool) -> None:
        """Host rows with their ports under them (several hosts), or the ports alone."""
        self.several = several
        self.tree.configure(show="tree headings" if several else "headings")
        self._fit_columns(self.tree.winfo_width())

    # -- rows coming in ----------------------------------------------------------------
    def host(self, name: str, address: str) -> HostRows:
        """The host's rows, its host row inserted (several hosts) in target order."""
        index = self.order.get(address, len(self.order))
        host = self.hosts.get(index)
        if host is not None:
            return host
        self.order.setdefault(address, index)
        host = HostRows(index, name, address, f"h{index}" if self.several else "")
        self.hosts[index] = host
        if self.several:
            pos = bisect_left(self.shown_hosts, index)
            self.shown_hosts.insert(pos, index)
            # Hosts mostly come in target order: "end" saves Tk a walk.
            self.tree.insert("", "end" if pos == len(self.shown_hosts) - 1 else pos,
                             iid=host.iid, open=True)
            self.update_host_text(host)
        return host

    def take(self, events: Iterable[PortOpen]) -> None:
        """Open ports to draw at the next ``flush`` (one host's come together)."""
        address, pending, taken = None, None, 0
        for port_open in events:
            if port_open.address != address:
                address = port_open.address
                host = self.host(port_open.host, address)
                pending = self.pending.setdefault(host.index, [])
            pending.append((port_open.port, port_open.service))
            taken += 1
        self.pending_rows += taken

    def drop_pending(self) -> bool:
        """Forget the ports taken but not drawn yet; whether there were any."""
        if not self.pending:
            return False
        self.pending.clear()
        self.pending_rows = 0
        return True

    def flush(self, deadline: float) -> bool:
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
            self.add_rows(host, chunk)
            self.update_host_text(host)
            if time.perf_counter() > deadline:
                break
        return bool(self.pending)

    def flush_all(self) -> None:
        self.flush(float("inf"))

    def add_rows(self, host: HostRows, arrivals: list[tuple[int, str]]) -> None:
        """Put (port, service) rows under ``host`` in the current order.

        Ports come ascending within a host, so in the usual order every new
        row goes at the end, which costs Tk nothing to find; the few that
        come late are put in place one by one, and a batch with many is
        sorted with the host's rows and set in one call."""
        rows, order = self.rows, self.order_by
        prefix = f"p{host.index}:"
        if order.column == "port":  # (port, service) pairs sort by port
            arrivals = sorted(arrivals, reverse=order.reverse)
        new: list[str] = []
        for port, service in arrivals:
            iid = f"{prefix}{port}"
            if iid not in rows:
                rows[iid] = (port, service, "", "open")
                new.append(iid)
        if not new:
            return
        if order.column != "port":
            order.sort(new, rows)
        # The new rows that belong before the host's last row.
        late = 0
        if host.ports:
            last = order.key(rows[host.ports[-1]])
            while late < len(new) and not order.before(last, order.key(rows[new[late]])):
                late += 1
        if late > MISPLACED_ONE_BY_ONE:
            self._append_rows(host, new)
            order.sort(host.ports, rows)
            self.tree.set_children(host.iid, *host.ports)
            return
        for iid in new[:late]:
            row = rows[iid]
            pos = order.position(host.ports, rows, order.key(row))
            host.ports.insert(pos, iid)
            self.tree.insert(host.iid, pos, iid=iid, values=shown(row))
        self._append_rows(host, new[late:])

    def _append_rows(self, host: HostRows, iids: list[str]) -> None:
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

    def set_banner(self, address: str, port: int, text: str) -> None:
        """A banner read from an open port, in its row."""
        self.flush_all()  # its row may still be waiting
        host = self.hosts.get(self.order.get(address, -1))
        iid = f"p{host.index}:{port}" if host else ""
        if iid not in self.rows:
            return
        port, service, _banner, state = self.rows[iid]
        self.rows[iid] = (port, service, text, state)
        self.tree.set(iid, "banner", text)
        # Banners come after every port: a view sorted by them is re-sorted
        # once, when the scan finishes.

    def update_host_text(self, host: HostRows) -> None:
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
        state = UP if host.done else "cancelled" if self.finished else "scanning"
        self.tree.item(host.iid, text=label)
        self.tree.set(host.iid, "state", state_name(state))
        # "127.0.0.1 — 1 открытый" is longer than "127.0.0.1 — 1 open": the
        # host column grows to its longest text (and the indicator before it).
        font = ttk.Style(self).lookup("Treeview", "font") or "TkDefaultFont"
        need = int(self.tk.call("font", "measure", font, label)) + 44
        if need > self.host_need:
            self.host_need = need
            self._fit_columns(self.tree.winfo_width())

    # -- the view ----------------------------------------------------------------------
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

    def sort_by(self, column: str) -> None:
        """Sort each host's ports by ``column``; a second click reverses."""
        self.order_by.click(column)
        self.flush_all()
        self.resort()
        self._update_headings()

    def resort(self) -> None:
        """Every host's ports in the current order again."""
        # One call per host: moving 65535 rows one by one would walk them all each time.
        for host in self.hosts.values():
            self.order_by.sort(host.ports, self.rows)
            self.tree.set_children(host.iid, *host.ports)

    def _update_headings(self) -> None:
        for col in COLUMNS:
            self.tree.heading(col, text=column_title(col) + self.order_by.arrow(col))

    # -- the results' menu and copying ------------------------------------------------
    def _build_menu(self, event: tk.Event) -> tk.Menu:
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
        self.menu = menu
        return menu

    def _host_of(self, iid: str) -> HostRows | None:
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

    def copied_lines(self, everything: bool = False) -> list[str]:
        """The selection (or everything) as tab-separated lines in display
        order; a host row stands for its ports, and with several hosts each
        line starts with the host and its address."""
        self.flush_all()
        selected = set() if everything else set(self.tree.selection())
        everything = not selected
        lines = []
        for index in (self.shown_hosts if self.several else sorted(self.hosts)):
            host = self.hosts[index]
            whole = everything or (host.iid and host.iid in selected)
            for iid in host.ports:
                if whole or iid in selected:
                    values = [str(v) for v in shown(self.rows[iid])]
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
