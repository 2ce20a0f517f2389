"""The changed-certificate flow: a pinned certificate that changed stops
the connection and asks the user, who sees both fingerprints and may
accept the new one on purpose (it is pinned then); Cancel leaves the
window not connected, and "Connect again" or "Reconnect" asks again.

A mixin of ``ChatWindow``, with the question's dialog.
"""

from __future__ import annotations

from gui.widgets.security import CertificateDialog
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
