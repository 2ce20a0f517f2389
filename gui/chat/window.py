"""A chat client window: nickname login, then the conversation.

Each window owns one ``ChatSession`` thread, so several windows in one
process are several independent users. Errors from the server are shown
where the user is looking, never as tracebacks. Messages are placed by id,
so a reconnect never shows one twice and history lands in order.

Once logged in, the conversation stays in view whatever happens to the
connection: a status strip above the transcript says what is going on
(reconnecting, kicked, session expired...) and offers the next step. Lines
typed meanwhile wait at the bottom of the transcript, marked as not sent
yet, and go out after the next welcome; one the server refuses is marked
"not sent" with the reason. None is ever dropped without a word.

Newlines: PROTOCOL.md limits a ``say`` only by length (1 to 4000 code
points), so a message may hold several lines. Shift+Enter starts a new
line in the message box (which grows to four lines), Enter sends, a pasted
block is sent as one message, and the transcript indents a message's later
lines under its first.

TLS (issue 13): the window connects over TLS unless "Plain connection (no
TLS)" is ticked, for lab servers written by hand. A certificate no CA vouches
for is pinned per host:port in the settings on first use; a changed one
stops the connection and asks the user, who sees both fingerprints and may
accept the new one on purpose. The status bar's right cell shows a padlock
and the fingerprint, or says the connection is not encrypted.

Every word is the user's language (``net.i18n``), chosen when the window
opens. The server's words never are shown: its error codes are (the login
errors here, the rest through ``net.chat.client.code_text``).
"""

from __future__ import annotations

import bisect
import re
import tkinter as tk
import tkinter.font as tkfont
from dataclasses import dataclass
from datetime import datetime, timezone
from tkinter import ttk

from gui.chat.pins import pins_for
from gui.kit.settings import Settings
from gui.kit.style import color, px, themed_text
from gui.kit.tkrelease import release_attributes
from gui.kit.toolwindow import ToolWindow, address_or_error, port_or_error
from gui.widgets.confirm import confirm_destructive
from gui.widgets.contextmenu import attach, edit_menu, read_only_menu
from gui.widgets.findbar import FindBar
from gui.widgets.security import CertificateDialog, SecurityBadge
from net.chat import client_events as ev
from net.chat.client import ChatSession, code_text
from net.chat.names import name_problem
from net.chat.protocol import DEFAULT_PORT, NAME_MAX, PASSWORD_MAX, TEXT_MAX, name_key
from net.chat.trust import pin_key
from net.i18n import N_, _, datetime_text, ngettext, number, time_text

ENTRY_MAX_LINES = 4
# The counter appears within 10% of the limit.
COUNTER_FROM = TEXT_MAX - TEXT_MAX // 10
LIVE = "live"  # the mark between the conversation and the lines not sent yet
# Narrower than this (96-dpi pixels) beside its entry and button, the strip's
# text goes above them: Russian buttons are wide, and seven lines of text are not read.
STRIP_TEXT_MIN = 280
# The user list keeps at least this many rows in view; its hint gives way first.
LIST_ROWS_MIN = 3

# What each of the protocol's login error codes means to the person typing
# (fields: {name} the nickname, {max} the longest nickname, {code}).
LOGIN_ERRORS = {
    "bad_password": N_("Wrong password for {name}."),
    "name_in_use": N_("{name} is logged in on another connection right now, so this login "
                      "was refused before the password was checked. Log out there first, or "
                      "choose another nickname."),
    "bad_name": N_("A nickname is 1 to {max} letters of one alphabet, digits, '_', '-' "
                   "or '.'."),
    "too_many_attempts": N_("Too many failed attempts. Wait a minute, then try again."),
    "bad_token": N_("Your session expired. Log in with your password."),
    "name_too_similar": N_("{name} looks too much like someone else's name. Choose another."),
    "registration_limited": N_("Too many new accounts from this computer lately. Try later, "
                               "or log in to an account you have."),
    "server_error": N_("The server could not save your session (its disk may be full). "
                       "Try again later."),
    "login_timeout": N_("You took too long to log in. Connect again."),
    "tls_required": N_("This server accepts logins only over an encrypted (TLS) connection. "
                       "Untick “Plain connection (no TLS)” and log in again."),
    "bad_request": N_("The server did not understand the login request ({code})."),
    "already_logged_in": N_("This connection is already logged in."),
}
# The protocol's errors after a say: the reason a line was not sent (code_text words them).
SAY_ERRORS = frozenset({"bad_text", "rate_limited", "no_such_user", "server_error",
                        "not_logged_in"})


def title_text() -> str:
    return _("netdesk — Chat")


def login_message(code: str, message: str, name: str) -> str:
    """A refused login in words: the code's, or for a code this window does
    not know, the server's own (the only explanation there is)."""
    template = LOGIN_ERRORS.get(code)
    if template is None:
        return sentence(_("the server refused the login: {reason}").format(
            reason=code_text(code, message)))
    return _(template).format(name=name, max=NAME_MAX, code=code)


def local_time(ts: str) -> str:
    """A message's time as the user reads it: ``15:04`` today, with the date
    on other days (``Nov 27, 2026, 15:04`` / ``27.11.2026 15:04``)."""
    try:
        when = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return "--:--"
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    when = when.astimezone()
    if when.date() == datetime.now().astimezone().date():
        return time_text(when)
    return datetime_text(when)


def sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return ""
    return text[0].upper() + text[1:] + ("" if text.endswith((".", "!", "?", "…")) else ".")


@dataclass(eq=False)
class Pending:
    """A line the user sent that the server has not echoed yet."""

    key: int
    text: str
    to: str | None
    typed: str  # "HH:MM", when it was typed
    epoch: int | None = None  # the login it was handed to the session on; None: not yet


class ChatWindow(ToolWindow):
    settings_section = "chat"
    default_geometry = "720x500"

    def __init__(self, master: tk.Misc, settings: Settings | None = None,
                 session_factory=ChatSession, autoconnect: bool = True,
                 address: tuple[str, int] | None = None):
        """``address``: the server to use instead of the remembered one (the
        launcher passes its own running server's)."""
        super().__init__(master, title_text(), settings, icon="chat", min_size=(460, 340))
        self._min_size = self.minsize()  # the login form may ask for more height
        self.session_factory = session_factory
        self.pins = pins_for(settings)
        self.session = self._new_session()
        self.host = tk.StringVar(self, self.remembered("host", "127.0.0.1"))
        self.port = tk.StringVar(self, str(self.remembered_port("port", DEFAULT_PORT)))
        if address is not None:
            self.host.set(address[0])
            self.port.set(str(address[1]))
        self.name = tk.StringVar(self, self.remembered("name", ""))
        # TLS unless the user chose plain on purpose (a lab server written by hand).
        self.plain = tk.BooleanVar(self, bool(self.remembered("plain", False)))
        self.plain.trace_add("write", lambda *a: self.remember(plain=self.plain.get()))
        self.connected_tls: bool | None = None  # how the connection in place was made
        self.cert_dialog: CertificateDialog | None = None
        self.password = tk.StringVar(self)
        self.greeting = tk.StringVar(self, "")
        self.login_error = tk.StringVar(self, "")
        self.line = tk.StringVar(self)  # mirrors the message box, both ways
        # The recipient box's word for a public line, in the window's language.
        self.everyone = _("everyone")
        self.recipient = tk.StringVar(self, self.everyone)
        self.strip_text = tk.StringVar(self, "")
        self.counter = tk.StringVar(self, "")
        self.me: str | None = None
        self.known_name: str | None = None
        self.connected_to: tuple[str, int] | None = None
        self.joined_at: tuple[str, int] | None = None  # the server of the conversation
        self.pending_login: tuple[str, str] | None = None
        self._hello_seen = False
        self.logged_in = False  # online now
        self.joined = False  # logged in once: the conversation is shown from then on
        self.state = "login"
        self.epoch: int | None = None
        self.seen_ids: set[int] = set()
        self._ids: list[int] = []  # shown message ids, ascending
        self.oldest_id: int | None = None
        self.users: list[str] = []
        self.pending: list[Pending] = []
        self._pending_keys = 0
        self.unread = 0
        self._entry_notice = ""
        self._syncing = False
        self._handlers = {
            ev.Hello: self._on_hello, ev.CertificateChanged: self._on_certificate_changed,
            ev.ConnectFailed: self._on_connect_failed,
            ev.LoginFailed: self._on_login_failed, ev.Welcome: self._on_welcome,
            ev.Message: self._on_message, ev.Joined: self._on_joined, ev.Left: self._on_left,
            ev.History: self._on_history, ev.ServerError: self._on_server_error,
            ev.Reconnecting: self._on_reconnecting, ev.Closed: self._on_closed,
        }
        self._build_login()
        self._build_chat()
        # The status bar's right cell, styled as one with it (as IDLE's "Ln: Col:").
        self.badge = SecurityBadge(self, relief="sunken", padding=(px(self, 6), px(self, 2)))
        self.bind("<Configure>", lambda e: self._fit_badge() if e.widget is self else None,
                  add="+")
        # After idle: the status bar asks for its new width only then.
        self.status.trace_add("write", lambda *a: self.after_idle(self._fit_badge))
        self.name.trace_add("write", lambda *_: self._show_greeting())
        self.line.trace_add("write", lambda *_: self._line_changed())
        self.bind("<FocusIn>", self._on_focus_in, add="+")
        self.show_login()
        if autoconnect and self.host.get().strip() and port_or_error(self.port.get())[0]:
            self._connect()  # to learn whether the server knows this address

    # -- layout ------------------------------------------------------------------------
    def _build_login(self) -> None:
        f = self.login_frame = ttk.Frame(self, padding=24)
        ttk.Label(f, text=_("Join a chat server"), font=("TkDefaultFont", 13, "bold")).grid(
            row=0, column=0, columnspan=2, sticky="w", pady=(0, 10))
        self.login_entries = {}
        for row, (key, label, var, show) in enumerate(
                [("host", _("Server"), self.host, ""), ("port", _("Port"), self.port, ""),
                 ("name", _("Nickname"), self.name, ""),
                 ("password", _("Password"), self.password, "•")], start=1):
            ttk.Label(f, text=label).grid(row=row, column=0, sticky="w", padx=(0, 10), pady=3)
            entry = ttk.Entry(f, textvariable=var, show=show, width=30)
            entry.grid(row=row, column=1, sticky="ew", pady=3)
            entry.bind("<Return>", lambda e: self.log_in())
            entry.bind("<KP_Enter>", lambda e: self.log_in())
            entry.bind("<Escape>", lambda e: self.close())
            edit_menu(entry)
            self.login_entries[key] = entry
        self.plain_box = ttk.Checkbutton(f, text=_("Plain connection (no TLS)"),
                                         variable=self.plain)
        self.plain_box.grid(row=5, column=1, sticky="w", pady=(4, 0))
        self.plain_box.bind("<Return>", lambda e: self.log_in())
        self.plain_box.bind("<KP_Enter>", lambda e: self.log_in())
        self.plain_box.bind("<Escape>", lambda e: self.close())
        ttk.Label(f, textvariable=self.greeting, style="Hint.TLabel",
                  wraplength=px(self, 300)).grid(row=6, column=1, sticky="w", pady=(4, 0))
        ttk.Label(f, textvariable=self.login_error, style="Error.TLabel",
                  wraplength=px(self, 380)).grid(row=7, column=0, columnspan=2, sticky="w",
                                                 pady=(4, 0))
        buttons = ttk.Frame(f)
        buttons.grid(row=8, column=0, columnspan=2, sticky="e", pady=(12, 0))
        # Created in screen order, so Tab goes Cancel, then Log in.
        ttk.Button(buttons, text=_("Cancel"), command=self.close).pack(side="left", padx=(0, 6))
        self.login_button = ttk.Button(buttons, text=_("Log in"), command=self.log_in)
        self.login_button.pack(side="left")
        ttk.Label(f, text=_("A new nickname is registered with the password you give."),
                  style="Hint.TLabel", wraplength=px(self, 380)).grid(
            row=9, column=0, columnspan=2, sticky="w", pady=(16, 0))
        f.columnconfigure(1, weight=1)
        # A long error (three lines in Russian) must not push the buttons off.
        for var in (self.greeting, self.login_error):
            var.trace_add("write", lambda *a: self.after_idle(self._fit_login))

    def _fit_badge(self) -> None:
        """The security cell takes what the status text leaves, if it can."""
        if not self.closed:
            width = self.winfo_width()  # 1 until the window is first laid out
            self.badge.fit(width - self.statusbar.winfo_reqwidth() if width > 1 else None)

    def _fit_login(self) -> None:
        """While the login form shows, the window is at least as tall as the form."""
        if self.closed or not self.login_frame.winfo_manager():
            return
        self.update_idletasks()
        need = self.login_frame.winfo_reqheight() + self.statusbar.winfo_reqheight()
        width, height = self._min_size
        self.minsize(width, max(height, need))

    def _build_chat(self) -> None:
        f = self.chat_frame = ttk.Frame(self)
        top = ttk.Frame(f, padding=(8, 6, 8, 0))
        top.grid(row=0, column=0, sticky="ew")
        self.older_button = ttk.Button(top, text=_("Load older messages"), command=self.load_older)
        self.older_button.pack(side="left")
        ttk.Label(top, text=_("Ctrl+F: find"), style="Hint.TLabel").pack(side="right")
        self._build_strip(f)

        panes = ttk.PanedWindow(f, orient="horizontal")
        panes.grid(row=3, column=0, sticky="nsew", padx=8, pady=6)
        # The transcript takes every change of width; the list keeps its own.
        panes.add(self._build_transcript(panes), weight=1)
        panes.add(self._build_user_list(panes), weight=0)

        self.findbar = FindBar(f, self.transcript)
        self.findbar.grid(row=2, column=0, sticky="ew", padx=8)
        self.findbar.grid_remove()
        self.findbar.lower(panes)  # Tab follows the screen: the bar comes before the transcript
        # Not FindBar.bind_keys: on the login form there is no transcript to search.
        self.bind("<Control-f>", lambda e: (self.find(), "break")[1], add="+")

        self._build_entry(f)
        f.rowconfigure(3, weight=1)
        f.columnconfigure(0, weight=1)

    def _build_strip(self, parent: ttk.Frame) -> None:
        """The line above the transcript that says what the connection is doing."""
        s = self.strip = ttk.Frame(parent, padding=(8, 6, 8, 0))
        s.grid(row=1, column=0, sticky="ew")
        self.strip_label = ttk.Label(s, textvariable=self.strip_text, anchor="w",
                                     justify="left")
        self.strip_label.grid(row=0, column=0, sticky="ew")
        self.strip_password = ttk.Entry(s, textvariable=self.password, show="•", width=16)
        self.strip_password.grid(row=0, column=1, padx=(8, 0))
        self.strip_password.bind("<Return>", lambda e: self._strip_action())
        self.strip_password.bind("<KP_Enter>", lambda e: self._strip_action())
        edit_menu(self.strip_password)
        self.strip_button = ttk.Button(s, command=self._strip_action)
        self.strip_button.grid(row=0, column=2, padx=(8, 0))
        s.columnconfigure(0, weight=1)
        s.bind("<Configure>", lambda e: self._wrap_strip())
        s.grid_remove()

    def _wrap_strip(self) -> None:
        """Wrap the strip's text in the width its entry and button leave; when
        that is too narrow, the text goes above them and takes the whole width."""
        controls = [w for w in (self.strip_password, self.strip_button) if w.winfo_manager()]
        width = self.strip.winfo_width() - 32
        beside = width - sum(w.winfo_reqwidth() + 8 for w in controls)
        stacked = bool(controls) and beside < px(self, STRIP_TEXT_MIN)
        self.strip_label.grid_configure(columnspan=3 if stacked else 1)
        for w in controls:
            w.grid_configure(row=1 if stacked else 0, pady=(4, 0) if stacked else 0)
        self.strip_label.configure(wraplength=max(120, width if stacked else beside))

    def _build_transcript(self, parent: tk.Misc) -> ttk.Frame:
        frame = ttk.Frame(parent)
        t = self.transcript = tk.Text(frame, height=12, wrap="word", state="disabled",
                                      undo=False, padx=6, pady=4, relief="flat",
                                      borderwidth=0, font="TkTextFont",
                                      takefocus=1)  # Tab reaches it, to read by keyboard
        self.scrollbar = ttk.Scrollbar(frame, orient="vertical", command=t.yview)
        t.configure(yscrollcommand=self._on_yscroll)
        t.grid(row=0, column=0, sticky="nsew")
        self.scrollbar.grid(row=0, column=1, sticky="ns")
        frame.rowconfigure(0, weight=1)
        frame.columnconfigure(0, weight=1)
        themed_text(t, {"note": "hint", "error": "error", "mine": "accent", "meta": "muted",
                        "private": "private", "pending": "muted", "failed": "error",
                        "mention": "accent"})
        font = tkfont.nametofont("TkTextFont")
        # A description, not a Font object: a Font deletes itself in __del__,
        # which the garbage collector may run on a worker thread, where a Tcl
        # call waits for the Tk thread (a deadlock if that waits on the worker).
        actual = font.actual()
        bold = (actual["family"], actual["size"], "bold")
        t.tag_configure("sender", font=bold)
        t.tag_configure("mention", font=bold)
        # Later lines of a message, and its wrapped lines, sit under its text.
        indent = font.measure("00:00  ")
        t.tag_configure("msg", lmargin2=indent)
        t.tag_configure("cont", lmargin1=indent)
        t.mark_set(LIVE, "end-1c")
        # Read-only, yet selectable and copyable.
        t.bind("<1>", lambda e: t.focus_set())
        self._at_end = True
        t.bind("<Configure>", self._keep_end, add="+")
        read_only_menu(t)
        self.new_below = ttk.Button(frame, text=_("New messages below ↓"),
                                    command=self.scroll_to_newest)
        return frame

    def _build_user_list(self, parent: tk.Misc) -> ttk.Frame:
        side = ttk.Frame(parent)
        self.online_label = ttk.Label(side, text=_("Online"), justify="left")
        self.online_label.pack(side="top", anchor="w")
        self.user_list = tk.Listbox(side, width=16, activestyle="none", exportselection=False)
        themed_text(self.user_list)
        # Packed before the list, at the bottom: a short window shortens the
        # list before the hint; it wraps to the list's width instead of widening it,
        # as the heading does ("Online (not connected)").
        hint = self.list_hint = ttk.Label(
            side, text=_("Double-click a name (or right-click it) to write to that person "
                         "alone."), style="Hint.TLabel", justify="left",
            wraplength=self.user_list.winfo_reqwidth())
        hint.pack(side="bottom", anchor="w", fill="x")
        side.bind("<Configure>", self._fit_user_list, add="+")
        self.user_list.pack(side="top", fill="both", expand=True)
        self.user_list.bind("<Double-Button-1>", lambda e: self.private_to_selected())
        self.user_list.bind("<Return>", lambda e: self.private_to_selected())
        self._user_menu = tk.Menu(self.user_list, tearoff=False)
        attach(self.user_list, self._user_menu_for)
        return side

    def _fit_user_list(self, event: tk.Event) -> None:
        """Wrap the heading and the hint to the list's width; a pane too short
        for a few names and the hint drops the hint (names matter more)."""
        self.online_label.configure(wraplength=max(60, event.width))
        self.list_hint.configure(wraplength=max(60, event.width - 4))
        rows = int(self.tk.call("font", "metrics", self.user_list.cget("font"), "-linespace"))
        need = (self.online_label.winfo_reqheight() + self.list_hint.winfo_reqheight()
                + LIST_ROWS_MIN * rows + 12)
        if event.height < need and self.list_hint.winfo_manager():
            self.list_hint.pack_forget()
        elif event.height >= need and not self.list_hint.winfo_manager():
            self.list_hint.pack(side="bottom", anchor="w", fill="x", before=self.user_list)

    def _build_entry(self, parent: ttk.Frame) -> None:
        bottom = ttk.Frame(parent, padding=(8, 0, 8, 6))
        bottom.grid(row=4, column=0, sticky="ew")
        ttk.Label(bottom, text=_("To")).grid(row=0, column=0, padx=(0, 4), sticky="n", pady=3)
        self.to_box = ttk.Combobox(bottom, textvariable=self.recipient, width=12,
                                   state="readonly", values=[self.everyone])
        self.to_box.grid(row=0, column=1, padx=(0, 6), sticky="n")
        e = self.entry = tk.Text(bottom, height=1, wrap="word", undo=True, font="TkTextFont",
                                 padx=4, pady=3, relief="flat", borderwidth=0,
                                 highlightthickness=1,
                                 highlightbackground=color(bottom, "muted"),
                                 highlightcolor=color(bottom, "accent"))
        themed_text(e)
        e.grid(row=0, column=2, sticky="ew")
        e.bind("<Return>", lambda ev_: (self.send(), "break")[1])
        e.bind("<KP_Enter>", lambda ev_: (self.send(), "break")[1])
        e.bind("<Shift-Return>", lambda ev_: (e.insert("insert", "\n"), "break")[1])
        e.bind("<Shift-KP_Enter>", lambda ev_: (e.insert("insert", "\n"), "break")[1])
        e.bind("<Tab>", lambda ev_: (e.tk_focusNext().focus_set(), "break")[1])
        for back_tab in ("<Shift-Tab>", "<ISO_Left_Tab>"):
            try:
                e.bind(back_tab, lambda ev_: (e.tk_focusPrev().focus_set(), "break")[1])
            except tk.TclError:  # no such keysym on this platform
                pass
        e.bind("<Escape>", lambda ev_: (self.escape(), "break")[1])
        e.bind("<Control-f>", lambda ev_: (self.find(), "break")[1])
        e.bind("<<Modified>>", self._entry_modified)
        e.bind("<Configure>", lambda ev_: self._fit_entry())
        edit_menu(e)
        self.send_button = ttk.Button(bottom, text=_("Send"), command=self.send)
        self.send_button.grid(row=0, column=3, padx=(6, 0), sticky="n")
        self.counter_label = ttk.Label(bottom, textvariable=self.counter, anchor="e",
                                       justify="right", style="Hint.TLabel")
        self.counter_label.grid(row=1, column=0, columnspan=4, sticky="e", pady=(2, 0))
        bottom.bind("<Configure>", lambda ev_: self.counter_label.configure(
            wraplength=max(200, ev_.width - 20)))
        self.counter_label.grid_remove()
        bottom.columnconfigure(2, weight=1)

    def show_login(self) -> None:
        self.chat_frame.grid_remove()
        self.login_frame.grid(row=0, column=0, columnspan=2, sticky="n")  # a form: centred
        self.statusbar.grid(row=1, column=0, sticky="ew")
        self.badge.grid(row=1, column=1, sticky="nsew")
        self.rowconfigure(0, weight=1)
        self.columnconfigure(0, weight=1)
        self.login_button.state(["!disabled"])
        entry = self.login_entries["password" if self.name.get() else "name"]
        entry.focus_set()
        self.after_idle(self._fit_login)

    def show_chat(self) -> None:
        self.login_frame.grid_remove()
        self.minsize(*self._min_size)
        self.chat_frame.grid(row=0, column=0, columnspan=2, sticky="nsew")
        self.entry.focus_set()
        self.update_idletasks()  # lay the transcript out before scrolling it
        self.scroll_to_newest()

    # -- login ---------------------------------------------------------------------------
    def _connect(self) -> bool:
        host, port, problem = address_or_error(self.host.get(), self.port.get())
        if problem:
            self.login_error.set(sentence(problem))
            return False
        self.connected_to = (host, port)
        self.connected_tls = not self.plain.get()
        self.status.set(_("Connecting to {host}:{port}…").format(host=host, port=port))
        self.session.connect(host, port, tls=self.connected_tls)
        return True

    def _new_session(self) -> ChatSession:
        session = self.session_factory(self.events.put)
        # The factory (a test passes its own) knows nothing of settings: the
        # pins go in here, before the session's first connect reads them.
        session.pins = self.pins
        return session

    def log_in(self) -> None:
        name, password = self.name.get().strip(), self.password.get()
        self.login_error.set("")
        if name_problem(name):  # the server's own rule, so no round trip is wasted
            self.login_error.set(login_message("bad_name", "", name))
            self.login_entries["name"].focus_set()
            return
        if not password:
            self.login_error.set(_("Enter a password (a new nickname is registered with it)."))
            self.login_entries["password"].focus_set()
            return
        if len(password) > PASSWORD_MAX:  # the server's rule too
            self.login_error.set(ngettext("A password is at most {n} character.",
                                          "A password is at most {n} characters.",
                                          PASSWORD_MAX).format(n=number(PASSWORD_MAX)))
            self.login_entries["password"].focus_set()
            return
        target = (self.host.get().strip(), port_or_error(self.port.get())[0])
        self.pending_login = (name, password)
        self.login_button.state(["disabled"])
        if self.connected_to != target or not self._hello_seen \
                or self.connected_tls != (not self.plain.get()):
            self._hello_seen = False
            if not self._connect():
                self.pending_login = None
                self.login_button.state(["!disabled"])
            return
        self.status.set(_("Logging in as {name}…").format(name=name))
        self.session.login(name, password)

    def _show_greeting(self) -> None:
        """The server knows the last name used from this address: a hint, not
        a greeting for whatever name is being typed."""
        known = self.known_name
        if not known:
            self.greeting.set("")
        elif name_key(self.name.get().strip()) == name_key(known):
            self.greeting.set(_("Welcome back, {name}.").format(name=known))
        else:
            self.greeting.set(_("This computer was last used by {name}.").format(name=known))

    # -- events from the session -------------------------------------------------------------
    def on_event(self, event: ev.ChatEvent) -> None:
        handler = self._handlers.get(type(event))
        if handler is None:
            raise TypeError(f"chat window: no handler for {event!r}")
        handler(event)

    def _on_hello(self, e: ev.Hello) -> None:
        if e.address != self.connected_to:
            return  # an earlier attempt, to a server the user has since changed
        self._hello_seen = True
        self.badge.show(e.security)
        host, port = e.address
        if e.security is None and e.tls_required and not self.joined:
            # Said before the password goes out in the clear to be refused anyway.
            self.login_error.set(_(LOGIN_ERRORS["tls_required"]))
            self.status.set(_("Login refused"))  # short: the badge beside it says "Not encrypted"
            self.pending_login = None
            self.login_button.state(["!disabled"])
            return
        if not self.joined:
            self.status.set(_("Connected to {server} at {host}:{port}").format(
                server=e.server, host=host, port=port))
            self.known_name = e.known_name
            if e.known_name and not self.name.get().strip():
                self.name.set(e.known_name)
                self.login_entries["password"].focus_set()
            self._show_greeting()
        if self.pending_login:
            self.status.set(_("Logging in as {name}…").format(name=self.pending_login[0]))
            self.session.login(*self.pending_login)

    def _on_connect_failed(self, e: ev.ConnectFailed) -> None:
        if e.address is not None and e.address != self.connected_to:
            return  # an earlier attempt, to a server the user has since changed
        self._hello_seen = False
        self.connected_to = None
        self.badge.clear()
        self.status.set(_("Not connected"))
        if self.joined:
            self._set_state("expired", sentence(e.message))
        elif self.pending_login:
            self.login_error.set(sentence(e.message))
        self.pending_login = None
        self.login_button.state(["!disabled"])

    def _on_login_failed(self, e: ev.LoginFailed) -> None:
        name = self.pending_login[0] if self.pending_login else self.name.get()
        message = login_message(e.code, e.message, name)
        self.pending_login = None
        self.password.set("")
        if self.joined:
            self._set_state("expired", message)
            return
        self.login_error.set(message)
        self.login_button.state(["!disabled"])
        self.login_entries["password"].focus_set()
        self.status.set(_("Login refused"))

    def _on_welcome(self, e: ev.Welcome) -> None:
        first = not self.joined
        self.me = e.name
        self.logged_in = self.joined = True
        self.epoch = e.epoch
        self.pending_login = None
        self.password.set("")
        host, port = self.joined_at = self.connected_to or e.address
        self.remember(host=host, port=port, name=self.me)
        # A resumed session made a new connection, and no hello was shown for it.
        self.badge.show(getattr(self.session, "security", None))
        self._update_title()
        self.set_users(e.online)
        if e.resumed:
            self.note(_("reconnected to {host}:{port}").format(host=host, port=port))
        elif first and e.new_account:
            self.note(_("logged in as {name} (new account registered)").format(name=self.me))
        elif first:
            self.note(_("logged in as {name}").format(name=self.me))
        elif e.new_account:
            self.note(_("logged in again as {name} (a new account: the server had forgotten "
                        "the old one)").format(name=self.me))
        else:
            self.note(_("logged in again as {name}").format(name=self.me))
        fresh = self.add_messages(e.history)
        self._send_pending_after_welcome(fresh)
        self._set_state("online")
        self.status.set(_("Logged in as {name} on {host}:{port}").format(
            name=self.me, host=host, port=port))
        if first:
            self.show_chat()

    def _on_message(self, e: ev.Message) -> None:
        msg = e.msg
        mine = self.me is not None and name_key(str(msg.get("from", ""))) == name_key(self.me)
        if mine:
            self._confirm_pending(msg)
        fresh = self.add_messages([msg], live=True)
        if fresh and not mine:
            self._attention(msg)

    def _on_history(self, e: ev.History) -> None:
        self.older_button.state(["!disabled"] if e.messages else ["disabled"])
        if not e.messages:
            self.note(_("no older messages"), at_top=True)
        self.add_messages(e.messages)

    def _on_joined(self, e: ev.Joined) -> None:
        if e.name not in self.users:
            self.set_users([*self.users, e.name])
        self.note(_("{name} joined").format(name=e.name))

    def _on_left(self, e: ev.Left) -> None:
        self.set_users([u for u in self.users if u != e.name])
        self.note(_("{name} left").format(name=e.name))

    def _on_server_error(self, e: ev.ServerError) -> None:
        sent = [p for p in self.pending if p.epoch is not None and p.epoch == self.epoch]
        if e.code in SAY_ERRORS and sent:
            # The server answers says in order: the oldest one not yet echoed.
            self._fail_pending(sent[0], code_text(e.code, e.message))
        else:
            self.note(_("server: {reason}").format(reason=code_text(e.code, e.message)),
                      tag="error")

    def _on_reconnecting(self, e: ev.Reconnecting) -> None:
        if not self.joined:
            return
        if self.logged_in:
            self.note(_("connection lost ({reason}); reconnecting…").format(reason=e.reason),
                      tag="error")
        self.logged_in = False
        self.badge.clear()
        reason = e.reason
        if e.refused:
            reason = _("the server is not accepting connections (stopped or paused)")
        if e.delay >= 1:
            text = _("Connection lost: {reason}. Reconnecting in {seconds} s (attempt "
                     "{attempt} of {attempts})…").format(
                reason=reason, seconds=number(e.delay), attempt=e.attempt, attempts=e.attempts)
        else:
            text = _("Connection lost: {reason}. Reconnecting (attempt {attempt} of "
                     "{attempts})…").format(reason=reason, attempt=e.attempt,
                                            attempts=e.attempts)
        self._set_state("reconnecting", text + " " + _(
            "Lines you send now wait here and go out when you are back."))
        self.status.set(_("Reconnecting…"))

    def _on_closed(self, e: ev.Closed) -> None:
        self._hello_seen = False
        self.connected_to = None
        self.badge.clear()
        was_online, self.logged_in = self.logged_in, False
        if not self.joined:  # still at the login form
            if self.pending_login:
                self.login_error.set(sentence(e.reason))
            self.pending_login = None
            self.login_button.state(["!disabled"])
            self.status.set(_("Disconnected: {reason}").format(reason=e.reason))
            return
        self.status.set(_("Not connected"))
        if was_online:
            self.note(e.reason, tag="error")
        self.pending_login = None
        if e.why is ev.Ended.KICKED:
            self._set_state("kicked", _("The server's operator disconnected you."))
        elif e.why in (ev.Ended.GAVE_UP, ev.Ended.ENDED):
            self._set_state("gave_up", sentence(e.reason))
        elif e.why is ev.Ended.LOST and self.state == "expired":
            self._set_state("expired")  # keep the reason the login was refused
        else:  # EXPIRED, LOST, FAILED: only the password brings the user back
            if e.why is ev.Ended.FAILED:
                self.session = self._new_session()
            self._set_state("expired", sentence(e.reason))

    def _on_certificate_changed(self, e: ev.CertificateChanged) -> None:
        """Not connected: ask, showing both fingerprints; Cancel is the default."""
        if not e.resuming and e.address != self.connected_to:
            return  # an earlier attempt, to a server the user has since changed
        self._hello_seen = False
        self.badge.clear()
        self.status.set(_("The server's certificate has changed"))
        if self.cert_dialog is not None:
            return  # one question at a time; its answer covers this one
        self.cert_dialog = CertificateDialog(
            self, e.address, e.pinned, e.offered,
            lambda accepted: self._certificate_answered(e, accepted))

    def _certificate_answered(self, e: ev.CertificateChanged, accepted: bool) -> None:
        self.cert_dialog = None
        if self.closed:
            return
        host, port = e.address
        if accepted:
            # Pinned here rather than left to the next handshake: the user
            # accepted this fingerprint, not whatever the server shows next.
            self.pins.put(pin_key(host, port), e.offered)
            if e.resuming:
                self._set_state("connecting", _("Reconnecting…"))
                self.session.reconnect()
                return
            self.connected_to, self.connected_tls = (host, port), True
            self.status.set(_("Connecting to {host}:{port}…").format(host=host, port=port))
            if self.joined:
                self._set_state("connecting", self.status.get())
            self.session.connect(host, port, tls=True)
            return
        message = _("Not connected: the server's certificate has changed, and the new one was "
                    "not accepted. Connect again to be asked again.")
        self.connected_to = None
        self.status.set(_("Not connected"))
        if e.resuming:
            self._set_state("gave_up", message)  # "Reconnect" asks again
        elif self.joined:
            self.pending_login = None
            self._set_state("expired", message)
        else:
            self.pending_login = None
            self.login_error.set(message)
            self.login_button.state(["!disabled"])
            self.show_login()

    # -- the status strip --------------------------------------------------------------------
    def _set_state(self, state: str, text: str | None = None) -> None:
        """Show what the connection is doing, and the one action that helps."""
        self.state = state
        # Offline, the list is only what was true at the drop: greyed, and says so.
        self.user_list.configure(state="normal" if state == "online" else "disabled")
        self._label_users()
        if state == "online":
            self.strip.grid_remove()
            self.older_button.state(["!disabled"] if self.oldest_id is not None
                                    else ["disabled"])
            self._render_pending()
            return
        self.older_button.state(["disabled"])
        if state == "expired":
            message = text if text is not None else self._strip_message
            self._strip_message = message
            name = self.me or self.name.get()
            text = (message + " " + _("Enter the password for {name} to log in again:").format(
                name=name)).strip()
        action = {"reconnecting": _("Reconnect now"), "kicked": _("Reconnect"),
                  "gave_up": _("Reconnect"), "expired": _("Log in again")}.get(state)
        role = "warning" if state in ("reconnecting", "connecting") else "error"
        self.strip_label.configure(foreground=color(self, role))
        self.strip_text.set(text or "")
        if action:
            self.strip_button.configure(text=action)
            self.strip_button.grid()
            self.strip_button.state(["!disabled"])
        else:
            self.strip_button.grid_remove()
        if state == "expired":
            self.strip_password.grid()
            self.strip_password.focus_set()
        else:
            self.strip_password.grid_remove()
        self.strip.grid()
        self._wrap_strip()
        self._render_pending()

    _strip_message = ""

    def _strip_action(self) -> None:
        if self.state == "reconnecting":
            self.session.retry_now()
        elif self.state in ("kicked", "gave_up"):
            self._set_state("connecting", _("Reconnecting…"))
            self.session.reconnect()
        elif self.state == "expired":
            self.log_in_again()

    def log_in_again(self) -> None:
        """From the strip: the same name on the same server, with the password."""
        password = self.password.get()
        if not password:
            self._set_state("expired", _("Enter your password."))
            return
        host, port = self.joined_at
        self.pending_login = (self.me, password)
        self._hello_seen = False
        self.connected_to = (host, port)
        self._set_state("connecting", _("Connecting to {host}:{port}…").format(
            host=host, port=port))
        self.connected_tls = not self.plain.get()
        self.session.connect(host, port, tls=self.connected_tls)

    # -- transcript ----------------------------------------------------------------------------
    def _at_bottom(self) -> bool:
        return self.transcript.yview()[1] >= 0.999

    def _on_yscroll(self, first: str, last: str) -> None:
        self.scrollbar.set(first, last)
        self._at_end = float(last) >= 0.999
        if self._at_end:
            self.new_below.place_forget()

    def _keep_end(self, event: tk.Event) -> None:
        """A resize (the window, the message box growing, the strip) keeps a
        reader who was at the newest line there; Tk would keep the top line."""
        if self._at_end:
            self.after_idle(self.transcript.see, "end")

    def scroll_to_newest(self) -> None:
        self.transcript.see("end")
        self.new_below.place_forget()

    def _write(self, index: str, chunks: list[tuple[str, tuple]]) -> None:
        t = self.transcript
        t.configure(state="normal")
        for text, tags in chunks:
            t.insert(index, text, tags)
            index = t.index(f"{index}+{len(text)}c")
        t.configure(state="disabled")

    def add_messages(self, messages: list[dict], live: bool = False) -> list[dict]:
        """Show the messages not shown yet, each in its place by id; returns them."""
        fresh = {}
        for m in messages:
            if isinstance(m.get("id"), int) and m["id"] not in self.seen_ids:
                fresh[m["id"]] = m
        if not fresh:
            return []
        following = self._at_bottom()
        t = self.transcript
        for i in sorted(fresh):
            pos = bisect.bisect_left(self._ids, i)
            index = t.index(f"msg-{self._ids[pos]}" if pos < len(self._ids) else LIVE)
            self._write(index, [*self._format(fresh[i]), ("\n", ())])
            t.mark_set(f"msg-{i}", index)  # the start of its line; later lines go before it
            self._ids.insert(pos, i)
            self.seen_ids.add(i)
        self.oldest_id = self._ids[0]
        if following:
            t.see("end")
        elif live:
            self.new_below.place(relx=0.5, rely=1.0, anchor="s", y=-10)
        return list(fresh.values())

    def _format(self, m: dict) -> list[tuple[str, tuple]]:
        sender = str(m.get("from", "?"))
        mine = self.me is not None and name_key(sender) == name_key(self.me)
        to = m.get("to")
        text = str(m.get("text", ""))
        body = ("private",) if to is not None else (("mine",) if mine else ())
        if not mine and to is None and self._mentions_me(text):
            body = ("mention",)
        return self._line(local_time(m.get("ts", "")), sender, mine, to, text, body)

    @staticmethod
    def _line(when: str, sender: str, mine: bool, to: str | None, text: str,
              body: tuple) -> list[tuple[str, tuple]]:
        chunks = [(f"{when}  ", ("meta",)), (sender, ("sender", "mine") if mine else ("sender",))]
        if to is not None:
            chunks.append((" " + _("→ {name} (private)").format(name=to), ("private",)))
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        chunks.append((": " + lines[0], body))
        chunks.extend(("\n" + line, (*body, "cont")) for line in lines[1:])
        return [(s, (*tags, "msg")) for s, tags in chunks]

    def _mentions_me(self, text: str) -> bool:
        if not self.me:
            return False
        return re.search(rf"(?<![\w.-]){re.escape(self.me)}(?![\w-])", text,
                         re.IGNORECASE) is not None

    def note(self, text: str, tag: str = "note", at_top: bool = False) -> None:
        following = self._at_bottom()
        self._write("1.0" if at_top else LIVE, [(f"— {text} —\n", (tag,))])
        if following and not at_top:
            self.transcript.see("end")

    def transcript_text(self) -> str:
        return self.transcript.get("1.0", "end-1c")

    def set_users(self, names: list[str]) -> None:
        self.users = sorted(set(names), key=str.casefold)
        state = self.user_list.cget("state")
        self.user_list.configure(state="normal")  # a disabled listbox takes no changes
        self.user_list.delete(0, "end")
        for name in self.users:
            self.user_list.insert("end", _("{name}  (you)").format(name=name)
                                  if name == self.me else name)
        self.user_list.configure(state=state)
        self._label_users()
        self.to_box.configure(values=[self.everyone, *[u for u in self.users if u != self.me]])
        if self.recipient.get() not in (self.everyone, *self.users):
            self.recipient.set(self.everyone)

    def _label_users(self) -> None:
        n = len(self.users)
        self.online_label.configure(
            text=ngettext("Online ({n})", "Online ({n})", n).format(n=number(n))
            if self.state == "online" else _("Online (not connected)"))

    # -- lines not sent yet ------------------------------------------------------------------
    def _render_pending(self) -> None:
        """Redraw the lines waiting below the conversation (muted)."""
        t = self.transcript
        following = self._at_bottom()
        t.configure(state="normal")
        t.delete(LIVE, "end-1c")
        t.mark_gravity(LIVE, "left")  # these go after the mark, not before it
        try:
            for p in self.pending:
                label = _("sending…") if self.logged_in and p.epoch is not None \
                    else _("not sent yet: waits for the connection")
                chunks = [*self._line(p.typed, self.me or "?", True, p.to, p.text, ()),
                          (f"   ({label})\n", ("note",))]
                for text, tags in chunks:
                    t.insert("end-1c", text, (*tags, "pending", f"pending-{p.key}"))
        finally:
            t.mark_gravity(LIVE, "right")
            t.configure(state="disabled")
        if following:
            t.see("end")

    def _send_pending(self, p: Pending) -> None:
        if p.to is not None and p.to not in self.users:
            self._fail_pending(p, _("{name} is not online").format(name=p.to))
            return
        p.epoch = self.epoch
        self.session.say(p.text, p.to, self.epoch)

    def _send_pending_after_welcome(self, fresh: list[dict]) -> None:
        """After a (re)login: lines that reached the server before the drop are
        in the history just received; the rest go (again) now."""
        mine = [m for m in fresh if name_key(str(m.get("from", ""))) == name_key(self.me)]
        for p in list(self.pending):
            if p.epoch is not None:
                arrived = next((m for m in mine if m.get("text") == p.text
                                and m.get("to") == p.to), None)
                if arrived is not None:
                    mine.remove(arrived)
                    self.pending.remove(p)
                    continue
            self._send_pending(p)

    def _confirm_pending(self, msg: dict) -> None:
        for p in self.pending:
            if p.text == msg.get("text") and p.to == msg.get("to"):
                self.pending.remove(p)
                self._render_pending()
                return

    def _fail_pending(self, p: Pending, why: str) -> None:
        """The server will not take it: say so where it was, and hand the text back."""
        if p in self.pending:
            self.pending.remove(p)
        restored = not self.message_text().strip()
        if restored:
            self.set_message(p.text)
            if p.to is not None and p.to in self.users:
                self.recipient.set(p.to)
        self._render_pending()
        following = self._at_bottom()
        self._write(LIVE, [*self._line(p.typed, self.me or "?", True, p.to, p.text,
                                       ("failed",)),
                           ("   " + (_("(not sent: {reason}; it is back in the message box)")
                                     if restored else _("(not sent: {reason})")).format(
                               reason=why) + "\n", ("error",))])
        if following:
            self.transcript.see("end")

    # -- the message box -----------------------------------------------------------------------
    def message_text(self) -> str:
        return self.entry.get("1.0", "end-1c")

    def set_message(self, text: str) -> None:
        self.entry.delete("1.0", "end")
        self.entry.insert("1.0", text)
        self.entry.edit_reset()
        self._message_changed()

    def _entry_modified(self, event: tk.Event) -> None:
        if not self.entry.edit_modified():
            return
        self.entry.edit_modified(False)
        self._message_changed()

    def _message_changed(self) -> None:
        text = self.message_text()
        if self.line.get() != text:
            self._syncing = True
            try:
                self.line.set(text)
            finally:
                self._syncing = False
        self._entry_notice = ""
        self._fit_entry()
        self._update_counter()

    def _line_changed(self) -> None:
        """``line`` set from code (scripts, tests): show it in the box."""
        if not self._syncing and self.line.get() != self.message_text():
            self.set_message(self.line.get())

    def _fit_entry(self) -> None:
        """One to four lines tall, as the message needs."""
        counted = self.entry.count("1.0", "end-1c", "displaylines", "update")
        if isinstance(counted, tuple):
            counted = counted[0]
        lines = min(ENTRY_MAX_LINES, 1 + (counted or 0))
        if int(self.entry.cget("height")) != lines:
            self.entry.configure(height=lines)
        if lines == ENTRY_MAX_LINES:
            self.entry.see("insert")

    def _update_counter(self) -> None:
        n = len(self.message_text())
        over = n - TEXT_MAX
        if over > 0:
            # A counter: its digits stay ungrouped, as under the box while typing.
            text = ngettext("{n}/{max}: {over} character too many. Shorten the message (or "
                            "send it in parts) to send it.",
                            "{n}/{max}: {over} characters too many. Shorten the message (or "
                            "send it in parts) to send it.", over).format(
                n=n, max=TEXT_MAX, over=over)
            style = "Error.TLabel"
        elif self._entry_notice:
            text, style = self._entry_notice, "Error.TLabel"
        elif n >= COUNTER_FROM:
            text, style = f"{n}/{TEXT_MAX}", "Hint.TLabel"
        else:
            text, style = "", "Hint.TLabel"
        self.counter.set(text)
        self.counter_label.configure(style=style)
        if text:
            self.counter_label.grid()
        else:
            self.counter_label.grid_remove()
        self.send_button.state(["disabled"] if over > 0 else ["!disabled"])

    # -- actions -----------------------------------------------------------------------------
    def send(self) -> None:
        """Send what is typed; offline, it waits in the transcript until the next login."""
        text = self.message_text()
        if not self.joined or not text.strip():
            return
        if len(text) > TEXT_MAX:
            self.bell()  # the counter under the box says why
            return
        to = None if self.recipient.get() == self.everyone else self.recipient.get()
        if to is not None and to not in self.users:
            self._entry_notice = _("{name} is not online now; choose someone else or "
                                   "everyone.").format(name=to)
            self._update_counter()
            return
        self._pending_keys += 1
        p = Pending(self._pending_keys, text, to, time_text(datetime.now()))
        self.pending.append(p)
        self.set_message("")
        if self.logged_in:
            self._send_pending(p)
        self._render_pending()
        self.scroll_to_newest()

    def find(self) -> None:
        """Ctrl+F: search the transcript (once there is one)."""
        if self.joined:
            self.findbar.open()

    def escape(self) -> None:
        """Escape in the message box: close the find bar, else stop writing privately."""
        if self.findbar.shown:
            self.findbar.close()
            self.entry.focus_set()
        elif self.recipient.get() != self.everyone:
            self.recipient.set(self.everyone)

    def private_to_selected(self) -> None:
        selection = self.user_list.curselection()
        if not selection:
            return
        self.private_to(self.users[selection[0]])

    def private_to(self, name: str) -> None:
        if name != self.me:
            self.recipient.set(name)
            self.entry.focus_set()

    def _user_menu_for(self, event: tk.Event) -> tk.Menu | None:
        if event.type == tk.EventType.ButtonPress:
            index = self.user_list.nearest(event.y)
            if index < 0 or not self.users:
                return None
            self.user_list.selection_clear(0, "end")
            self.user_list.selection_set(index)
            self.user_list.activate(index)
        selection = self.user_list.curselection()
        if not selection:
            return None
        name = self.users[selection[0]]
        menu = self._user_menu
        menu.delete(0, "end")
        menu.add_command(label=_("Private message to {name}").format(name=name),
                         command=lambda: self.private_to(name),
                         state="disabled" if name == self.me else "normal")
        menu.add_command(label=_("Copy name"), command=lambda: self._copy(name))
        return menu

    def _copy(self, text: str) -> None:
        self.clipboard_clear()
        self.clipboard_append(text)

    def load_older(self) -> None:
        if self.logged_in:
            self.session.history(self.oldest_id, 50)

    # -- attention ---------------------------------------------------------------------------
    def _focused(self) -> bool:
        try:
            widget = self.focus_displayof()
        except (KeyError, tk.TclError):  # focus in a menu or a combobox's list
            return False
        return widget is not None and widget.winfo_toplevel() is self

    def _attention(self, msg: dict) -> None:
        """A new line from someone else: count it while the window is elsewhere,
        and ring for a private line or a mention of our name."""
        if self._focused():
            return
        self.unread += 1
        self._update_title()
        to_me = msg.get("to") is not None
        if to_me or self._mentions_me(str(msg.get("text", ""))):
            self.bell()

    def _on_focus_in(self, event: tk.Event) -> None:
        if self.unread:
            self.unread = 0
            self._update_title()

    def _update_title(self) -> None:
        title = _("netdesk — Chat ({name})").format(name=self.me) if self.me else title_text()
        self.title(_("({n}) {title}").format(n=number(self.unread), title=title)
                   if self.unread else title)

    # -- closing ---------------------------------------------------------------------------------
    def unsent(self) -> list[Pending]:
        """Lines that closing would lose: online, the ones handed to the
        session still go out before its logout."""
        return [p for p in self.pending if not (self.logged_in and p.epoch == self.epoch)]

    def close(self) -> None:
        unsent = self.unsent()
        if not self.closed and unsent and not confirm_destructive(
                self, _("Close the chat window?"),
                ngettext("{n} line you sent could not be sent yet: the window is not "
                         "connected.",
                         "{n} lines you sent could not be sent yet: the window is not "
                         "connected.", len(unsent)).format(n=number(len(unsent))),
                _("They are lost if the window closes now.")):
            return
        super().close()

    def stop_workers(self) -> None:
        if self.cert_dialog is not None:
            self.cert_dialog.destroy()  # unanswered: nothing is pinned
            self.cert_dialog = None
        self.badge.tooltip.hide()
        self.session.close()  # returns at once; the session's thread ends by itself
        release_attributes(self.findbar)  # its variables, on this thread, not the collector's
