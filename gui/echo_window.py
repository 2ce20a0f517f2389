"""The echo client window: connect, type lines, see each reply and its
round-trip time. The connection lives on an ``EchoSession`` thread.
"""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk

from gui.settings import Settings
from gui.toolwindow import ToolWindow, address_or_error, append, transcript
from net.echo.client import EchoSession
from net.echo.server import DEFAULT_PORT


class EchoWindow(ToolWindow):
    settings_section = "echo"
    default_geometry = "600x420"

    def __init__(self, master: tk.Misc, settings: Settings | None = None):
        super().__init__(master, "netdesk — Echo client", settings, icon="echo")
        self.session = EchoSession(self.events.put)
        self.connected = False
        self.host = tk.StringVar(self, self.remembered("host", "127.0.0.1"))
        self.port = tk.StringVar(self, str(self.remembered("port", DEFAULT_PORT)))
        self.line = tk.StringVar(self)
        self._build()
        self._set_connected(False)
        self.status.set("Not connected. Enter a host and port, then Connect.")

    def _build(self) -> None:
        top = ttk.Frame(self, padding=(8, 8, 8, 4))
        top.grid(row=0, column=0, sticky="ew")
        ttk.Label(top, text="Host").grid(row=0, column=0, padx=(0, 4))
        self.host_entry = ttk.Entry(top, textvariable=self.host, width=24)
        self.host_entry.grid(row=0, column=1, sticky="ew")
        ttk.Label(top, text="Port").grid(row=0, column=2, padx=(10, 4))
        self.port_entry = ttk.Entry(top, textvariable=self.port, width=7)
        self.port_entry.grid(row=0, column=3)
        # Buttons on a row of their own, so the host field keeps its room
        # when the window is narrow.
        buttons = ttk.Frame(top)
        buttons.grid(row=1, column=0, columnspan=4, sticky="ew", pady=(6, 0))
        self.connect_button = ttk.Button(buttons, text="Connect", command=self.connect)
        self.connect_button.pack(side="left")
        self.disconnect_button = ttk.Button(buttons, text="Disconnect", command=self.disconnect)
        self.disconnect_button.pack(side="left", padx=(6, 0))
        self.field_error = ttk.Label(buttons, foreground="#b00020")
        self.field_error.pack(side="left", padx=(10, 0))
        top.columnconfigure(1, weight=1)

        frame, self.transcript = transcript(self)
        frame.grid(row=1, column=0, sticky="nsew", padx=8)

        bottom = ttk.Frame(self, padding=(8, 6))
        bottom.grid(row=2, column=0, sticky="ew")
        self.entry = ttk.Entry(bottom, textvariable=self.line)
        self.entry.grid(row=0, column=0, sticky="ew")
        self.send_button = ttk.Button(bottom, text="Send", command=self.send)
        self.send_button.grid(row=0, column=1, padx=(6, 0))
        bottom.columnconfigure(0, weight=1)
        self.statusbar.grid(row=3, column=0, sticky="ew")
        self.rowconfigure(1, weight=1)
        self.columnconfigure(0, weight=1)

        self.entry.bind("<Return>", lambda e: self.send())
        self.entry.bind("<Escape>", lambda e: self.line.set(""))
        for w in (self.host_entry, self.port_entry):
            w.bind("<Return>", lambda e: self.connect())
        self.host_entry.focus_set()

    # -- user actions -----------------------------------------------------
    def connect(self) -> None:
        host, port, problem = address_or_error(self.host.get(), self.port.get())
        self.field_error.configure(text=problem)
        if problem:
            return
        self.remember(host=host, port=port)
        self.status.set(f"Connecting to {host}:{port}…")
        self.connect_button.state(["disabled"])
        self.session.connect(host, port)

    def disconnect(self) -> None:
        self.session.disconnect()

    def send(self) -> None:
        text = self.line.get()
        if not self.connected or not text:
            return
        self.line.set("")
        self.session.send(text)

    # -- worker events ----------------------------------------------------
    def on_event(self, event) -> None:
        kind = event[0]
        if kind == "connected":
            self._set_connected(True)
            self.status.set(f"Connected to {event[1]}:{event[2]}")
            append(self.transcript, (f"connected to {event[1]}:{event[2]}", "note"))
            self.entry.focus_set()
        elif kind == "sent":
            append(self.transcript, ("→ ", "meta"), (event[1], "mine"))
        elif kind == "reply":
            append(self.transcript, ("← ", "meta"), (event[1], ()),
                   (f"   {event[2] * 1000:.2f} ms", "meta"))
            self.status.set(f"Last round trip {event[2] * 1000:.2f} ms")
        elif kind == "error":
            append(self.transcript, (f"error: {event[1]}", "error"))
            self.status.set(f"Error: {event[1]}")
            if not self.connected:
                self._set_connected(False)
        elif kind == "disconnected":
            self._set_connected(False)
            append(self.transcript, (f"disconnected ({event[1]})", "note"))
            self.status.set(f"Disconnected: {event[1]}")

    def _set_connected(self, connected: bool) -> None:
        self.connected = connected
        self.connect_button.state(["disabled"] if connected else ["!disabled"])
        for w in (self.disconnect_button, self.send_button, self.entry):
            w.state(["!disabled"] if connected else ["disabled"])

    def stop_workers(self) -> None:
        self.session.close()
