"""A chat client window: nickname login, then the conversation.

Each window owns one ``ChatSession`` thread, so several windows in one
process are several independent users. The login panel and the chat panel
share the window; errors from the server are shown in the panel, never as
tracebacks. Messages are keyed by id, so a reconnect never shows one twice.
"""

from __future__ import annotations

import tkinter as tk
from datetime import datetime, timezone
from tkinter import ttk

from gui.settings import Settings
from gui.toolwindow import ToolWindow, address_or_error, append, port_or_error, transcript
from net.chat.client import ChatSession
from net.chat.names import name_problem
from net.chat.protocol import DEFAULT_PORT, NAME_MAX, TEXT_MAX

EVERYONE = "everyone"
LOGIN_ERRORS = {
    "bad_password": "Wrong password for {name}.",
    "name_in_use": "{name} is already online somewhere else.",
    "bad_name": f"A nickname is 1 to {NAME_MAX} letters of one alphabet, digits, '_', '-' "
                "or '.'.",
    "too_many_attempts": "Too many failed attempts. Wait a minute, then try again.",
    "bad_token": "Your session expired. Log in with your password.",
    "name_too_similar": "{name} looks too much like someone else's name. Choose another.",
    "registration_limited": "Too many new accounts from this computer lately. Try later, "
                            "or log in to an account you have.",
    "server_error": "The server could not save your session (its disk may be full). "
                    "Try again later.",
    "login_timeout": "You took too long to log in. Connect again.",
}


def local_time(ts: str) -> str:
    try:
        when = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return "--:--"
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    when = when.astimezone()
    if when.date() == datetime.now().astimezone().date():
        return when.strftime("%H:%M")
    return when.strftime("%d %b %H:%M")


class ChatWindow(ToolWindow):
    settings_section = "chat"
    default_geometry = "720x500"

    def __init__(self, master: tk.Misc, settings: Settings | None = None,
                 session_factory=ChatSession, autoconnect: bool = True):
        super().__init__(master, "netdesk — Chat", settings, icon="chat", min_size=(460, 340))
        self.session = session_factory(self.events.put)
        self.host = tk.StringVar(self, self.remembered("host", "127.0.0.1"))
        self.port = tk.StringVar(self, str(self.remembered("port", DEFAULT_PORT)))
        self.name = tk.StringVar(self, self.remembered("name", ""))
        self.password = tk.StringVar(self)
        self.greeting = tk.StringVar(self, "")
        self.login_error = tk.StringVar(self, "")
        self.line = tk.StringVar(self)
        self.recipient = tk.StringVar(self, EVERYONE)
        self.me: str | None = None
        self.connected_to: tuple[str, int] | None = None
        self.pending_login: tuple[str, str] | None = None
        self._hello_seen = False
        self.logged_in = False
        self.seen_ids: set[int] = set()
        self.oldest_id: int | None = None
        self.users: list[str] = []
        self._build_login()
        self._build_chat()
        self.show_login()
        if autoconnect and self.host.get().strip() and port_or_error(self.port.get())[0]:
            self._connect()  # to learn whether the server knows this address

    # -- layout ------------------------------------------------------------------------
    def _build_login(self) -> None:
        f = self.login_frame = ttk.Frame(self, padding=24)
        ttk.Label(f, text="Join a chat server", font=("TkDefaultFont", 13, "bold")).grid(
            row=0, column=0, columnspan=2, sticky="w", pady=(0, 10))
        self.login_entries = {}
        for row, (key, label, var, show) in enumerate(
                [("host", "Server", self.host, ""), ("port", "Port", self.port, ""),
                 ("name", "Nickname", self.name, ""), ("password", "Password",
                                                       self.password, "•")], start=1):
            ttk.Label(f, text=label).grid(row=row, column=0, sticky="w", padx=(0, 10), pady=3)
            entry = ttk.Entry(f, textvariable=var, show=show, width=30)
            entry.grid(row=row, column=1, sticky="ew", pady=3)
            entry.bind("<Return>", lambda e: self.log_in())
            entry.bind("<Escape>", lambda e: self.close())
            self.login_entries[key] = entry
        ttk.Label(f, textvariable=self.greeting, foreground="#1a5fb4").grid(
            row=5, column=1, sticky="w", pady=(4, 0))
        ttk.Label(f, textvariable=self.login_error, foreground="#b00020", wraplength=360).grid(
            row=6, column=0, columnspan=2, sticky="w", pady=(4, 0))
        buttons = ttk.Frame(f)
        buttons.grid(row=7, column=0, columnspan=2, sticky="e", pady=(12, 0))
        self.login_button = ttk.Button(buttons, text="Log in", command=self.log_in)
        self.login_button.pack(side="right")
        ttk.Button(buttons, text="Cancel", command=self.close).pack(side="right", padx=6)
        ttk.Label(f, text="A new nickname is registered with the password you give.",
                  foreground="#666666").grid(row=8, column=0, columnspan=2, sticky="w",
                                             pady=(16, 0))
        f.columnconfigure(1, weight=1)

    def _build_chat(self) -> None:
        f = self.chat_frame = ttk.Frame(self)
        top = ttk.Frame(f, padding=(8, 6, 8, 0))
        top.grid(row=0, column=0, sticky="ew")
        self.older_button = ttk.Button(top, text="Load older messages", command=self.load_older)
        self.older_button.pack(side="left")

        panes = ttk.PanedWindow(f, orient="horizontal")
        panes.grid(row=1, column=0, sticky="nsew", padx=8, pady=6)
        frame, self.transcript = transcript(panes)
        self.transcript.configure(font="TkTextFont")
        self.transcript.tag_configure("private", foreground="#8a3ffc")
        self.transcript.tag_configure("sender", font=("TkTextFont", 10, "bold"))
        panes.add(frame, weight=4)
        side = ttk.Frame(panes)
        self.online_label = ttk.Label(side, text="Online")
        self.online_label.pack(anchor="w")
        self.user_list = tk.Listbox(side, width=18, activestyle="none", exportselection=False)
        self.user_list.pack(fill="both", expand=True)
        self.user_list.bind("<Double-Button-1>", lambda e: self.private_to_selected())
        self.user_list.bind("<Return>", lambda e: self.private_to_selected())
        ttk.Label(side, text="Double-click: private", foreground="#666666").pack(
            anchor="w")
        panes.add(side, weight=1)

        bottom = ttk.Frame(f, padding=(8, 0, 8, 6))
        bottom.grid(row=2, column=0, sticky="ew")
        ttk.Label(bottom, text="To").grid(row=0, column=0, padx=(0, 4))
        self.to_box = ttk.Combobox(bottom, textvariable=self.recipient, width=14,
                                   state="readonly", values=[EVERYONE])
        self.to_box.grid(row=0, column=1, padx=(0, 6))
        self.entry = ttk.Entry(bottom, textvariable=self.line)
        self.entry.grid(row=0, column=2, sticky="ew")
        self.entry.bind("<Return>", lambda e: self.send())
        self.entry.bind("<Escape>", lambda e: (self.line.set(""), self.recipient.set(EVERYONE)))
        self.send_button = ttk.Button(bottom, text="Send", command=self.send)
        self.send_button.grid(row=0, column=3, padx=(6, 0))
        bottom.columnconfigure(2, weight=1)
        f.rowconfigure(1, weight=1)
        f.columnconfigure(0, weight=1)

    def show_login(self) -> None:
        self.chat_frame.grid_remove()
        self.login_frame.grid(row=0, column=0, sticky="n")  # a form, not a canvas: centred
        self.statusbar.grid(row=1, column=0, sticky="ew")
        self.rowconfigure(0, weight=1)
        self.columnconfigure(0, weight=1)
        self.login_button.state(["!disabled"])
        entry = self.login_entries["password" if self.name.get() else "name"]
        entry.focus_set()

    def show_chat(self) -> None:
        self.login_frame.grid_remove()
        self.chat_frame.grid(row=0, column=0, sticky="nsew")
        self.entry.focus_set()

    # -- login ---------------------------------------------------------------------------
    def _connect(self) -> bool:
        host, port, problem = address_or_error(self.host.get(), self.port.get())
        if problem:
            self.login_error.set(problem[0].upper() + problem[1:] + ".")
            return False
        self.connected_to = (host, port)
        self.status.set(f"Connecting to {host}:{port}…")
        self.session.connect(host, port)
        return True

    def log_in(self) -> None:
        name, password = self.name.get().strip(), self.password.get()
        self.login_error.set("")
        if name_problem(name):  # the server's own rule, so no round trip is wasted
            self.login_error.set(LOGIN_ERRORS["bad_name"])
            self.login_entries["name"].focus_set()
            return
        if not password:
            self.login_error.set("Enter a password (a new nickname is registered with it).")
            self.login_entries["password"].focus_set()
            return
        target = (self.host.get().strip(), port_or_error(self.port.get())[0])
        self.pending_login = (name, password)
        self.login_button.state(["disabled"])
        if self.connected_to != target or not self._hello_seen:
            self._hello_seen = False
            if not self._connect():
                self.pending_login = None
                self.login_button.state(["!disabled"])
            return
        self.status.set(f"Logging in as {name}…")
        self.session.login(name, password)

    # -- events from the session -------------------------------------------------------------
    def on_event(self, event: tuple) -> None:
        handler = getattr(self, f"_on_{event[0]}", None)
        if handler is not None:
            handler(*event[1:])

    def _on_hello(self, known_name: str | None, server: str, address: tuple) -> None:
        if address != self.connected_to:
            return  # an earlier attempt, to a server the user has since changed
        self._hello_seen = True
        host, port = self.connected_to or ("?", 0)
        self.status.set(f"Connected to {server} at {host}:{port}")
        if known_name:
            self.greeting.set(f"Welcome back, {known_name}!")
            if not self.name.get().strip():
                self.name.set(known_name)
                self.login_entries["password"].focus_set()
        else:
            self.greeting.set("")
        if self.pending_login:
            self.status.set(f"Logging in as {self.pending_login[0]}…")
            self.session.login(*self.pending_login)

    def _on_connect_failed(self, message: str, address: tuple | None) -> None:
        if address is not None and address != self.connected_to:
            return  # an earlier attempt, to a server the user has since changed
        self._hello_seen = False
        self.connected_to = None
        self.status.set("Not connected")
        if self.pending_login:
            self.login_error.set(message[0].upper() + message[1:] + ".")
        self.pending_login = None
        self.login_button.state(["!disabled"])

    def _on_login_failed(self, code: str, message: str) -> None:
        name = self.pending_login[0] if self.pending_login else self.name.get()
        self.login_error.set(LOGIN_ERRORS.get(code, message or code).format(name=name))
        self.pending_login = None
        self.password.set("")
        self.login_button.state(["!disabled"])
        self.login_entries["password"].focus_set()
        self.status.set("Login refused")

    def _on_welcome(self, welcome: dict, resumed: bool) -> None:
        self.me = welcome["name"]
        self.logged_in = True
        self.pending_login = None
        self.password.set("")
        self.title(f"netdesk — Chat ({self.me})")
        host, port = self.connected_to
        self.remember(host=host, port=port, name=self.me)
        self.set_users(welcome.get("online", []))
        if resumed:
            self.note(f"reconnected to {host}:{port}")
        else:
            self.note(f"logged in as {self.me}" +
                      (" (new account registered)" if welcome.get("new_account") else ""))
        self.add_messages(welcome.get("history", []), at_top=False)
        if self.oldest_id is None and not welcome.get("history"):
            self.older_button.state(["disabled"])
        self.status.set(f"Logged in as {self.me} on {host}:{port}")
        self.show_chat()

    def _on_message(self, msg: dict) -> None:
        self.add_messages([msg], at_top=False)

    def _on_history(self, messages: list[dict]) -> None:
        self.older_button.state(["!disabled"] if messages else ["disabled"])
        if not messages:
            self.note("no older messages", at_top=True)
        self.add_messages(messages, at_top=True)

    def _on_joined(self, name: str) -> None:
        if name not in self.users:
            self.set_users([*self.users, name])
        self.note(f"{name} joined")

    def _on_left(self, name: str) -> None:
        self.set_users([u for u in self.users if u != name])
        self.note(f"{name} left")

    def _on_error(self, code: str, message: str) -> None:
        self.note(f"server: {message or code}", tag="error")

    def _on_reconnecting(self, attempt: int, delay: float, reason: str) -> None:
        if attempt == 1:
            self.note(f"connection lost ({reason}); reconnecting…", tag="error")
        self.status.set(f"Reconnecting (attempt {attempt}, in {delay:g} s)…")

    def _on_closed(self, reason: str) -> None:
        self._hello_seen = False
        self.connected_to = None
        if self.logged_in:
            self.logged_in = False
            self.note(reason, tag="error")
            self.login_error.set(reason[0].upper() + reason[1:] + ".")
            self.title("netdesk — Chat")
            self.show_login()
        elif self.pending_login:
            self.login_error.set(reason[0].upper() + reason[1:] + ".")
        self.pending_login = None
        self.login_button.state(["!disabled"])
        self.status.set(f"Disconnected: {reason}")

    # -- transcript ----------------------------------------------------------------------------
    def add_messages(self, messages: list[dict], at_top: bool) -> None:
        fresh = [m for m in messages if isinstance(m.get("id"), int)
                 and m["id"] not in self.seen_ids]
        for m in fresh:
            self.seen_ids.add(m["id"])
        if fresh:
            low = min(m["id"] for m in fresh)
            self.oldest_id = low if self.oldest_id is None else min(self.oldest_id, low)
        if at_top:
            # Insert each line at the top, newest first, so they end up in order.
            self.transcript.configure(state="normal")
            for m in reversed(fresh):
                self.transcript.insert("1.0", "\n")
                for chunk, tags in reversed(self._format(m)):
                    self.transcript.insert("1.0", chunk, tags)
            self.transcript.configure(state="disabled")
        else:
            for m in fresh:
                append(self.transcript, *self._format(m))

    def _format(self, m: dict) -> list[tuple[str, tuple]]:
        sender = str(m.get("from", "?"))
        mine = sender == self.me
        to = m.get("to")
        chunks = [(f"{local_time(m.get('ts', ''))}  ", ("meta",)),
                  (sender, ("sender", "mine") if mine else ("sender",))]
        if to is not None:
            chunks.append((f" → {to} (private)", ("private",)))
        body_tags = ("private",) if to is not None else (("mine",) if mine else ())
        chunks.append((": " + str(m.get("text", "")), body_tags))
        return chunks

    def note(self, text: str, tag: str = "note", at_top: bool = False) -> None:
        if at_top:
            self.transcript.configure(state="normal")
            self.transcript.insert("1.0", f"— {text} —\n", (tag,))
            self.transcript.configure(state="disabled")
        else:
            append(self.transcript, (f"— {text} —", (tag,)))

    def transcript_text(self) -> str:
        return self.transcript.get("1.0", "end-1c")

    def set_users(self, names: list[str]) -> None:
        self.users = sorted(set(names), key=str.casefold)
        self.user_list.delete(0, "end")
        for name in self.users:
            self.user_list.insert("end", name + ("  (you)" if name == self.me else ""))
        self.online_label.configure(text=f"Online ({len(self.users)})")
        self.to_box.configure(values=[EVERYONE, *[u for u in self.users if u != self.me]])
        if self.recipient.get() not in (EVERYONE, *self.users):
            self.recipient.set(EVERYONE)

    # -- actions -----------------------------------------------------------------------------
    def send(self) -> None:
        text = self.line.get()
        if not self.logged_in or not text.strip():
            return
        if len(text) > TEXT_MAX:
            self.status.set(f"Too long: {len(text)} characters (at most {TEXT_MAX})")
            return
        to = self.recipient.get()
        self.session.say(text, None if to == EVERYONE else to)
        self.line.set("")

    def private_to_selected(self) -> None:
        selection = self.user_list.curselection()
        if not selection:
            return
        name = self.users[selection[0]]
        if name != self.me:
            self.recipient.set(name)
            self.entry.focus_set()

    def load_older(self) -> None:
        if self.logged_in:
            self.session.history(self.oldest_id, 50)

    def stop_workers(self) -> None:
        self.session.close()
