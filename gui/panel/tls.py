"""The panel's TLS row: "Require TLS for chat logins" (remembered, and told
to the server running now), the chat certificate's fingerprint whole in a
read-only field to copy and read out to users, the share of sessions on
TLS, and a new certificate from the next start.

A mixin of ``ControlPanel``: it uses the window's ``control``, ``status``,
``confirm``, ``copy``, ``remember`` and ``running``.
"""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk

from gui.kit.style import px
from gui.widgets.contextmenu import attach
from gui.widgets.security import Padlock
from net.cli.replies import tls_summary
from net.control import commands as cmd
from net.control.events import Status
from net.i18n import _


class TlsRow:
    """The TLS row of the services frame and what it does."""

    require_tls: tk.BooleanVar
    fingerprint: tk.StringVar

    def _build_tls(self, services: ttk.LabelFrame, grid_row: int, span: int) -> None:
        row = ttk.Frame(services)
        row.grid(row=grid_row, column=0, columnspan=span, sticky="ew", pady=(6, 0))
        self.require_box = ttk.Checkbutton(row, text=_("Require TLS for chat logins"),
                                           variable=self.require_tls,
                                           command=self._require_tls_changed)
        self.require_box.grid(row=0, column=0, columnspan=5, sticky="w")
        self.tls_padlock = Padlock(row)
        self.tls_padlock.grid(row=1, column=0, sticky="w", pady=(4, 0))
        ttk.Label(row, text=_("Certificate")).grid(row=1, column=1, sticky="w",
                                                   padx=(px(self, 4), px(self, 6)),
                                                   pady=(4, 0))
        self.fingerprint_entry = ttk.Entry(row, textvariable=self.fingerprint,
                                           state="readonly", font="TkFixedFont")
        self.fingerprint_entry.grid(row=1, column=2, sticky="ew", pady=(4, 0))
        attach(self.fingerprint_entry, self._fingerprint_menu)
        self.copy_fingerprint_button = ttk.Button(
            row, text=_("Copy"), width=-6,
            command=lambda: self.copy(self.fingerprint.get()))
        self.copy_fingerprint_button.grid(row=1, column=3, padx=(6, 0), pady=(4, 0))
        self.new_certificate_button = ttk.Button(row, text=_("New certificate…"),
                                                 command=self.new_certificate)
        self.new_certificate_button.grid(row=1, column=4, padx=(6, 0), pady=(4, 0))
        self.tls_share = ttk.Label(row, style="Hint.TLabel", justify="left")
        self.tls_share.grid(row=2, column=0, columnspan=5, sticky="ew")
        self.tls_share.bind("<Configure>", lambda e: self.tls_share.configure(
            wraplength=max(e.width, 200)))
        row.columnconfigure(2, weight=1)

    def _fingerprint_menu(self, event: tk.Event) -> tk.Menu | None:
        fingerprint = self.fingerprint.get()
        if not fingerprint:
            return None
        menu = tk.Menu(self, tearoff=False)
        menu.add_command(label=_("Copy fingerprint"), command=lambda: self.copy(fingerprint))
        return menu

    def _show_tls(self, s: Status | None) -> None:
        """The certificate's fingerprint and the share of TLS sessions, while
        the chat service runs."""
        fingerprint = s.tls_fingerprint if s is not None else None
        self.fingerprint.set(fingerprint or "")
        self.tls_padlock.draw("closed" if fingerprint else None)
        self.fingerprint_entry.state(["!disabled"] if fingerprint else ["disabled"])
        self.copy_fingerprint_button.state(["!disabled"] if fingerprint else ["disabled"])
        self.tls_share.configure(text=tls_summary(s) if fingerprint else _(
            "The fingerprint shows while the chat service runs."))

    # -- commands --------------------------------------------------------------------------
    def _require_tls_changed(self) -> None:
        """Remembered for the next start, and told to the server running now
        (the control thread keeps it for a restart too)."""
        required = self.require_tls.get()
        self.remember(require_tls=required)
        self.control.submit(cmd.SetRequireTls(required))

    def _require_tls_set(self, required: bool) -> None:
        if not self.running:
            self.status.set(_("The chat will refuse plain logins when it starts") if required
                            else _("The chat will accept plain logins when it starts"))
        else:
            self.status.set(_("TLS is now required for chat logins; plain sessions already "
                              "logged in go on") if required
                            else _("Plain chat logins are accepted again"))

    def new_certificate(self) -> None:
        """A fresh self-signed certificate from the chat's next start, after
        asking (clients that pinned the old one will be warned)."""
        if self.confirm(
                _("New certificate"), _("Make a new certificate for the chat?"),
                _("The chat uses a new self-signed certificate from its next start "
                  "(stop and start it to use it now). Chat clients that trusted the old "
                  "one will be warned that the certificate changed; tell them the new "
                  "fingerprint.")):
            self.control.submit(cmd.NewCertificate())

    def _certificate_renewed(self, running: bool) -> None:
        self.status.set(_("The chat will use a new certificate from its next start")
                        if running else
                        _("The chat will use a new certificate when it starts"))
