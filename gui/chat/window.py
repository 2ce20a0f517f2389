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

This module wires the parts, each in a room of its own: the login form
(``login``, checked by ``login_request``), the connection strip (``strip``),
the session's events (``events``), the changed certificate
(``certificates``), the transcript (``transcript``), the user list
(``roster``), the lines not sent yet (``pending``, drawn by ``unsent``) and
the message box (``composer``). The window itself keeps the title, the
unread count and the closing.
"""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk

from gui.chat.certificates import CertificateDialog, CertificateFlow
from gui.chat.composer import Composer
from gui.chat.events import SessionEvents
from gui.chat.login import LoginForm
from gui.chat.pending import Pending, PendingBook
from gui.chat.pins import pins_for
from gui.chat.roster import Roster
from gui.chat.strip import StatusStrip
from gui.chat.transcript import Transcript
from gui.chat.unsent import UnsentLines
from gui.chat.wording import title_text
from gui.kit.settings import Settings
from gui.kit.style import px
from gui.kit.tkrelease import release_attributes
from gui.kit.toolwindow import ToolWindow, port_or_error
from gui.widgets.confirm import confirm_destructive
from gui.widgets.findbar import FindBar
from gui.widgets.security import SecurityBadge
from net.chat.client import ChatSession
from net.chat.protocol import DEFAULT_PORT
from net.i18n import _, ngettext, number


class ChatWindow(LoginForm, StatusStrip, SessionEvents, CertificateFlow, Transcript, Roster,
                 UnsentLines, Composer, ToolWindow):
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
        self.pending = PendingBook()
        self.unread = 0
        self._entry_notice = ""
        self._syncing = False
        self._handlers = self._event_handlers()
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

    def _fit_badge(self) -> None:
        """The security cell takes what the status text leaves, if it can."""
        if not self.closed:
            width = self.winfo_width()  # 1 until the window is first laid out
            self.badge.fit(width - self.statusbar.winfo_reqwidth() if width > 1 else None)

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

    def _new_session(self) -> ChatSession:
        session = self.session_factory(self.events.put)
        # The factory (a test passes its own) knows nothing of settings: the
        # pins go in here, before the session's first connect reads them.
        session.pins = self.pins
        return session

    def find(self) -> None:
        """Ctrl+F: search the transcript (once there is one)."""
        if self.joined:
            self.findbar.open()

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
        return self.pending.unsent(self.logged_in, self.epoch)

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
