"""The connection strip above the transcript: what the connection is doing
(reconnecting, kicked, session expired...) and the one action that helps,
with a password entry when only the password brings the user back.

A mixin of ``ChatWindow``.
"""

from __future__ import annotations

from tkinter import ttk

from gui.kit.style import color, px
from gui.widgets.contextmenu import edit_menu
from net.i18n import _

# Narrower than this (96-dpi pixels) beside its entry and button, the strip's
# text goes above them: Russian buttons are wide, and seven lines of text are not read.
STRIP_TEXT_MIN = 280

class StatusStrip:
    """The strip's widgets, the window's ``state`` and the strip's action."""

    _strip_message = ""  # why the session expired, kept while the user types

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
