"""The panel's table of chat clients: one row per connection (chat or IRC),
updated in place from each snapshot so the selection, the focus and the
scroll survive; columns that fit the window; Kick (after asking) and the
row's menu.

A mixin of ``ControlPanel``: it uses the window's ``control``, ``status``,
``confirm`` and ``copy``.
"""

from __future__ import annotations

import tkinter as tk
from datetime import date, datetime
from tkinter import font as tkfont
from tkinter import ttk

from gui.kit.style import px
from gui.widgets.contextmenu import attach
from net import i18n
from net.cli.replies import service_name
from net.control import commands as cmd
from net.control.events import KickResult
from net.i18n import N_, _, number, pgettext

# What the table shows for a connection that has no name yet (the control
# thread's rows carry None; the panel keeps such rows in ``logging_in``).
LOGGING_IN = N_("(logging in)")
COLUMNS = ("name", "address", "tls", "since", "via", "messages")


class ClientsTable:
    """The "Chat clients" frame and what it does."""

    logging_in: set[str]

    def _build_clients(self, panes: ttk.PanedWindow) -> ttk.LabelFrame:
        clients = ttk.LabelFrame(panes, text=_("Chat clients"), padding=(6, 2, 6, 6))
        self.clients = ttk.Treeview(clients, columns=COLUMNS, show="headings", height=5,
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
        return clients

    # -- kick ------------------------------------------------------------------------------
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
        if not self.confirm(
                _("Kick {name}").format(name=name),
                _("Disconnect {name} now?").format(name=name),
                _("{name} is disconnected at once and may log in again.").format(name=name)):
            return
        self.status.set(_("Kicking {name}…").format(name=name))
        self.control.submit(cmd.Kick(name, "kicked from the control panel"))

    def _kicked(self, result: KickResult) -> None:
        self.status.set(_("Kicked {name}").format(name=result.name) if result.kicked
                        else _("{name} is no longer online").format(name=result.name))

    def _show_kick(self) -> None:
        self.kick_button.state(["!disabled"] if self.selected_name() else ["disabled"])
        self._keep_focus_alive()

    # -- the table -------------------------------------------------------------------------
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
        menu.add_command(label=_("Copy name"), command=lambda: self.copy(name),
                         state="normal" if kickable else "disabled")
        menu.add_command(label=_("Copy address"),
                         command=lambda: self.copy(self.clients.set(selection[0], "address")))
        return menu
