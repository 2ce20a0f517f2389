"""The login form: server, port, nickname, password and the plain-connection
box, the greeting for a known address, and the first connect.

The fields are checked by ``gui.chat.login_request`` (no Tk); this module
shows what it says and starts the session. A mixin of ``ChatWindow``: it
reads and sets the window's variables and session.
"""

from __future__ import annotations

from tkinter import ttk

from gui.chat.login_request import LoginProblem, check_address, login_request
from gui.kit.style import px
from gui.widgets.contextmenu import edit_menu
from net.chat.protocol import name_key
from net.i18n import _


class LoginForm:
    """The form shown until the first welcome."""

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

    def _fit_login(self) -> None:
        """While the login form shows, the window is at least as tall as the form."""
        if self.closed or not self.login_frame.winfo_manager():
            return
        self.update_idletasks()
        need = self.login_frame.winfo_reqheight() + self.statusbar.winfo_reqheight()
        width, height = self._min_size
        self.minsize(width, max(height, need))

    def _connect(self) -> bool:
        try:
            host, port = check_address(self.host.get(), self.port.get())
        except LoginProblem as e:
            self.login_error.set(e.message)
            return False
        self.connected_to = (host, port)
        self.connected_tls = not self.plain.get()
        self.status.set(_("Connecting to {host}:{port}…").format(host=host, port=port))
        self.session.connect(host, port, tls=self.connected_tls)
        return True

    def log_in(self) -> None:
        self.login_error.set("")
        try:
            request = login_request(self.host.get(), self.port.get(), self.name.get(),
                                    self.password.get(), self.plain.get())
        except LoginProblem as e:
            self.login_error.set(e.message)
            if e.field in ("name", "password"):
                self.login_entries[e.field].focus_set()
            else:  # as a connect to an address that is none forgets the last hello
                self._hello_seen = False
            return
        self.pending_login = (request.name, request.password)
        self.login_button.state(["disabled"])
        if self.connected_to != request.address or not self._hello_seen \
                or self.connected_tls != (not request.plain):
            self._hello_seen = False
            if not self._connect():
                self.pending_login = None
                self.login_button.state(["!disabled"])
            return
        self.status.set(_("Logging in as {name}…").format(name=request.name))
        self.session.login(request.name, request.password)

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
