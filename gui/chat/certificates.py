"""The changed-certificate flow: a pinned certificate that changed stops
the connection and asks the user, who sees both fingerprints and may
accept the new one on purpose (it is pinned then); Cancel leaves the
window not connected, and "Connect again" or "Reconnect" asks again.

A mixin of ``ChatWindow``, with the question's dialog.
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from tkinter import ttk

from gui.kit.style import color, px, themed_text
from gui.kit.tkrelease import release_attributes
from gui.widgets.contextmenu import read_only_menu
from gui.widgets.security import FINGERPRINT_COLUMNS
from net.chat import client_events as ev
from net.chat.trust import pin_key
from net.i18n import _


class CertificateFlow:
    """The window's answer to ``CertificateChanged``."""

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


# -- the changed certificate --------------------------------------------------------------
class CertificateDialog(tk.Toplevel):
    """"Server certificate changed": both fingerprints in full and a choice,
    Cancel by default (Enter and Escape), "Accept new certificate" on purpose.

    It does not wait: the answer comes to ``on_answer(accepted)`` once, when
    a button is pressed or the dialog is closed (a Cancel), so the window's
    event loop and its session go on meanwhile, and a test can press the
    buttons with ``invoke()``.
    """

    def __init__(self, master: tk.Misc, address: tuple[str, int], pinned: str, offered: str,
                 on_answer: Callable[[bool], None]):
        super().__init__(master)
        self.on_answer = on_answer
        self.answered = False
        self.title(_("Server certificate changed"))
        self.transient(master.winfo_toplevel())
        self.protocol("WM_DELETE_WINDOW", self.cancel)
        self.bind("<Escape>", lambda e: self.cancel())
        from gui.kit.icons import set_window_icon
        set_window_icon(self, "chat")
        body = ttk.Frame(self, padding=px(self, 18))
        body.grid(row=0, column=0, sticky="nsew")
        self.rowconfigure(0, weight=1)
        self.columnconfigure(0, weight=1)
        body.columnconfigure(0, weight=1)
        where = pin_key(*address)
        wrap = px(self, 460)
        heading = ttk.Label(body, text=_("The certificate of {address} has changed").format(
            address=where), font="TkHeadingFont", wraplength=wrap, justify="left")
        heading.grid(row=0, column=0, sticky="w")
        heading.configure(foreground=color(self, "warning"))
        self.explanation = ttk.Label(body, wraplength=wrap, justify="left", text=_(
            "This server shows another certificate than the one accepted when you first "
            "connected. Someone may be intercepting the connection to read or change what "
            "you send, or the server's operator made a new certificate. Accept the new one "
            "only if you know why it changed: ask the operator to read you its fingerprint."))
        self.explanation.grid(row=1, column=0, sticky="w", pady=(px(self, 8), px(self, 4)))
        self.fingerprints: dict[str, tk.Text] = {}
        row = 2
        for key, label, value in (("pinned", _("Pinned (accepted before):"), pinned),
                                  ("offered", _("Offered now:"), offered)):
            ttk.Label(body, text=label).grid(row=row, column=0, sticky="w",
                                             pady=(px(self, 8), px(self, 2)))
            self.fingerprints[key] = self._fingerprint(body, value)
            self.fingerprints[key].grid(row=row + 1, column=0, sticky="w")
            row += 2
        buttons = ttk.Frame(body)
        buttons.grid(row=row, column=0, sticky="e", pady=(px(self, 16), 0))
        # Screen order is Tab order: the risky choice first, the safe default last.
        self.accept_button = ttk.Button(buttons, text=_("Accept new certificate"),
                                        command=self.accept)
        self.accept_button.pack(side="left", padx=(0, px(self, 6)))
        self.cancel_button = ttk.Button(buttons, text=_("Cancel"), command=self.cancel,
                                        style="Accent.TButton")
        self.cancel_button.pack(side="left")
        for button in (self.accept_button, self.cancel_button):
            button.bind("<Return>", lambda e, b=button: b.invoke())
            button.bind("<KP_Enter>", lambda e, b=button: b.invoke())
        self.cancel_button.focus_set()
        self.resizable(False, False)
        # Modal while it shows, as a message box is; a grab can fail before
        # the window is mapped (no window manager), and the question still stands.
        self.after_idle(self._grab)

    def _fingerprint(self, parent: tk.Misc, value: str) -> tk.Text:
        """The whole fingerprint: selectable and copyable, not editable."""
        lines = max(1, -(-len(value) // FINGERPRINT_COLUMNS))
        text = tk.Text(parent, width=FINGERPRINT_COLUMNS, height=lines, wrap="char",
                       font="TkFixedFont", relief="flat", borderwidth=0,
                       padx=px(parent, 6), pady=px(parent, 4), takefocus=1,
                       highlightthickness=1)
        themed_text(text)
        text.insert("1.0", value)
        text.configure(state="disabled")
        text.bind("<1>", lambda e: text.focus_set())
        read_only_menu(text)
        return text

    def fingerprint_text(self, key: str) -> str:
        return self.fingerprints[key].get("1.0", "end-1c")

    def _grab(self) -> None:
        if not self.answered:
            try:
                self.grab_set()
            except tk.TclError:
                pass

    def accept(self) -> None:
        self._answer(True)

    def cancel(self) -> None:
        self._answer(False)

    def _answer(self, accepted: bool) -> None:
        if self.answered:
            return
        self.answered = True
        try:
            self.grab_release()
        except tk.TclError:
            pass
        self.destroy()
        # Its title-bar icons, freed here on the Tk thread: left to the
        # garbage collector they may be freed on a worker's ("main thread is
        # not in main loop", seen once in CI).
        release_attributes(self)
        self.on_answer(accepted)
