"""The echo client window: connect, type lines, see each reply and its
round-trip time. The connection lives on an ``EchoSession`` thread, which
reports typed events; a server that goes away is shown at once, and a line
that could not be sent stays in the entry with the reason beside it.
"""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk

from gui.kit.settings import Settings
from gui.kit.style import themed_text
from gui.kit.toolwindow import ToolWindow, address_or_error, append, transcript
from gui.widgets.contextmenu import edit_menu, read_only_menu
from gui.widgets.findbar import FindBar
from net.echo.client import (
    Connected,
    Disconnected,
    Echoed,
    EchoSession,
    Failed,
    NotSent,
    Sent,
)
from net.echo.server import DEFAULT_PORT
from net.i18n import _, number, sentence

IDLE, CONNECTING, CONNECTED, DISCONNECTED = "idle", "connecting", "connected", "disconnected"
TRANSCRIPT_ROLES = {"note": "hint", "error": "error", "mine": "accent", "meta": "muted"}


class EchoWindow(ToolWindow):
    settings_section = "echo"
    default_geometry = "600x420"

    def __init__(self, master: tk.Misc, settings: Settings | None = None):
        super().__init__(master, _("netdesk — Echo client"), settings, icon="echo")
        self.session = EchoSession(self.events.put)
        self.state = IDLE
        self.offline_reason = ""  # why the last connection ended or failed
        self.was_connected = False
        self.host = tk.StringVar(self, self.remembered("host", "127.0.0.1"))
        self.port = tk.StringVar(self, str(self.remembered_port("port", DEFAULT_PORT)))
        self.line = tk.StringVar(self)
        self._handlers = {
            Connected: self._on_connected,
            Sent: self._on_sent,
            Echoed: self._on_echoed,
            Failed: self._on_failed,
            NotSent: self._on_not_sent,
            Disconnected: self._on_disconnected,
        }
        self._build()
        self._set_state(IDLE)
        self.status.set(_("Not connected. Enter a host and port, then Connect."))

    @property
    def connected(self) -> bool:
        return self.state == CONNECTED

    def _build(self) -> None:
        top = ttk.Frame(self, padding=(8, 8, 8, 4))
        top.grid(row=0, column=0, sticky="ew")
        ttk.Label(top, text=_("Host")).grid(row=0, column=0, padx=(0, 4))
        self.host_entry = ttk.Entry(top, textvariable=self.host, width=24)
        self.host_entry.grid(row=0, column=1, sticky="ew")
        ttk.Label(top, text=_("Port")).grid(row=0, column=2, padx=(10, 4))
        self.port_entry = ttk.Entry(top, textvariable=self.port, width=7)
        self.port_entry.grid(row=0, column=3)
        # Buttons on a row of their own, so the host field keeps its room
        # when the window is narrow.
        buttons = ttk.Frame(top)
        buttons.grid(row=1, column=0, columnspan=4, sticky="ew", pady=(6, 0))
        self.connect_button = ttk.Button(buttons, text=_("Connect"), command=self.connect)
        self.connect_button.pack(side="left")
        self.disconnect_button = ttk.Button(buttons, text=_("Disconnect"),
                                            command=self.disconnect)
        self.disconnect_button.pack(side="left", padx=(6, 0))
        # What is wrong with the fields, under the buttons, wrapped to the
        # form's width (Russian messages are long); hidden while there is none.
        self.field_error = ttk.Label(top, style="Error.TLabel", justify="left", anchor="w")
        self.field_error.grid(row=2, column=0, columnspan=4, sticky="ew", pady=(4, 0))
        self.field_error.grid_remove()
        top.bind("<Configure>", lambda e: self.field_error.configure(
            wraplength=max(e.width - 20, 120)), add="+")
        top.columnconfigure(1, weight=1)

        frame, self.transcript = transcript(self)
        themed_text(self.transcript, TRANSCRIPT_ROLES)
        # Read-only (disabled) yet reachable with Tab, to scroll, select and copy.
        self.transcript.configure(takefocus=1)
        frame.grid(row=1, column=0, sticky="nsew", padx=8)
        self.findbar = FindBar(self, self.transcript)
        self.findbar.grid(row=2, column=0, sticky="ew", padx=8)
        self.findbar.grid_remove()

        bottom = ttk.Frame(self, padding=(8, 6))
        bottom.grid(row=3, column=0, sticky="ew")
        self.entry = ttk.Entry(bottom, textvariable=self.line)
        self.entry.grid(row=0, column=0, sticky="ew")
        self.send_button = ttk.Button(bottom, text=_("Send"), command=self.send)
        self.send_button.grid(row=0, column=1, padx=(6, 0))
        # Why the line in the entry was not sent; hidden while there is no reason.
        self.entry_note = ttk.Label(bottom, style="Error.TLabel", anchor="w")
        self.entry_note.grid(row=1, column=0, columnspan=2, sticky="ew", pady=(4, 0))
        self.entry_note.grid_remove()
        self.entry_note.bind("<Configure>",
                             lambda e: self.entry_note.configure(wraplength=max(e.width, 100)))
        bottom.columnconfigure(0, weight=1)
        self.statusbar.grid(row=4, column=0, sticky="ew")
        self.rowconfigure(1, weight=1)
        self.columnconfigure(0, weight=1)

        self.entry.bind("<Return>", lambda e: self.send())
        self.entry.bind("<KP_Enter>", lambda e: self.send())
        self.entry.bind("<Escape>", lambda e: self.line.set(""))
        for w in (self.host_entry, self.port_entry):
            w.bind("<Return>", lambda e: self.connect())
            w.bind("<KP_Enter>", lambda e: self.connect())
        for w in (self.host_entry, self.port_entry, self.entry, self.findbar.entry):
            edit_menu(w)
        read_only_menu(self.transcript)
        FindBar.bind_keys(self, self.findbar)
        self.host_entry.focus_set()

    # -- user actions -----------------------------------------------------
    def connect(self) -> None:
        if self.state in (CONNECTING, CONNECTED):
            return
        host, port, problem = address_or_error(self.host.get(), self.port.get())
        self.field_error.configure(text=problem)
        if problem:
            self.field_error.grid()
            (self.port_entry if host else self.host_entry).focus_set()
            return
        self.field_error.grid_remove()
        self.remember(host=host, port=port)
        self.status.set(_("Connecting to {host}:{port}…").format(host=host, port=port))
        self._set_state(CONNECTING)
        self.session.connect(host, port)

    def disconnect(self) -> None:
        """Hang up, or give up a connect still in progress."""
        self.session.disconnect()

    def send(self) -> None:
        text = self.line.get()
        if not text:
            return
        if self.state != CONNECTED:
            # Kept in the entry: the user decides what to do with it.
            self._note(_("Not sent: {why}").format(why=self._why_not()))
            return
        self._note("")
        self.line.set("")
        self.session.send(text)

    def _why_not(self) -> str:
        if self.state == CONNECTING:
            return _("still connecting; press Enter again once connected.")
        why = sentence(self.offline_reason or _("not connected"), capital=False)
        then = (_("Reconnect, then press Enter to send it.") if self.was_connected
                else _("Connect, then press Enter to send it."))
        return f"{why} {then}"

    def _note(self, text: str) -> None:
        """Show (or hide) the reason under the entry, keeping the transcript's
        last line in view if it was."""
        at_bottom = self.transcript.yview()[1] >= 0.999
        self.entry_note.configure(text=text)
        if text:
            self.entry_note.grid()
        else:
            self.entry_note.grid_remove()
        if at_bottom:
            self.update_idletasks()  # lay out first: the transcript just got shorter
            self.transcript.see("end")

    # -- worker events ----------------------------------------------------
    def on_event(self, event) -> None:
        self._handlers[type(event)](event)  # an unknown event is a KeyError, not a silence

    def _on_connected(self, event: Connected) -> None:
        self.was_connected = True
        self.offline_reason = ""
        self._set_state(CONNECTED)
        self.status.set(_("Connected to {host}:{port}").format(host=event.host, port=event.port))
        append(self.transcript, (_("connected to {host}:{port}").format(
            host=event.host, port=event.port), "note"))
        if self.line.get():
            self._note(_("Connected: press Enter to send the line."))
        else:
            self._note("")
        self.entry.focus_set()

    def _on_sent(self, event: Sent) -> None:
        append(self.transcript, ("→ ", "meta"), (event.text, "mine"))

    def _on_echoed(self, event: Echoed) -> None:
        ms = number(event.rtt * 1000, 2)
        append(self.transcript, ("← ", "meta"), (event.text, ()),
               ("   " + _("{ms} ms").format(ms=ms), "meta"))
        self.status.set(_("Last round trip {ms} ms").format(ms=ms))

    def _on_failed(self, event: Failed) -> None:
        append(self.transcript, (event.message, "error"))
        self.status.set(sentence(event.message, full_stop=False))
        self.offline_reason = event.message
        self._set_state(DISCONNECTED if self.was_connected else IDLE)

    def _on_not_sent(self, event: NotSent) -> None:
        # The connection ended between the click and the send: give the line back.
        if not self.line.get():
            self.line.set(event.text)
        self._note(_("Not sent: {why}").format(why=self._why_not()))

    def _on_disconnected(self, event: Disconnected) -> None:
        self.offline_reason = event.reason
        self._set_state(DISCONNECTED)
        append(self.transcript, (_("disconnected: {reason}").format(reason=event.reason),
                                 "error" if event.by_server else "note"))
        self.status.set(_("Disconnected: {reason}").format(reason=event.reason))

    def _set_state(self, state: str) -> None:
        self.state = state
        focused = self.focus_get()
        self.connect_button.configure(text=_("Reconnect") if state == DISCONNECTED
                                      else _("Connect"))
        enabled = {
            self.connect_button: state in (IDLE, DISCONNECTED),
            self.disconnect_button: state in (CONNECTING, CONNECTED),
            self.send_button: state == CONNECTED,
        }
        for button, on in enabled.items():
            button.state(["!disabled"] if on else ["disabled"])
        # A button that just turned grey must not keep the focus (its ring
        # would show on a control that does nothing): move on to a live one.
        if focused in enabled and not enabled[focused]:
            live = [b for b, on in enabled.items() if on]
            (live[0] if live else self.entry).focus_set()

    def stop_workers(self) -> None:
        self.session.close()  # never waits: the thread ends on its own
