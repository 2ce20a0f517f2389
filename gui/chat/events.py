"""What the window does with each event of its ``ChatSession``: hello,
welcome, messages, history, who joined and left, errors, reconnecting and
the end of a connection. The changed certificate is
``gui.chat.certificates``'.

Events are typed (``net.chat.client_events``); one this window has no
handler for is an error, never silently dropped. A mixin of ``ChatWindow``.
"""

from __future__ import annotations

from gui.chat.wording import LOGIN_ERRORS, SAY_ERRORS, login_message
from net.chat import client_events as ev
from net.chat.client import code_text
from net.chat.protocol import name_key
from net.i18n import _, number, sentence


class SessionEvents:
    """One handler per event type of the session."""

    def _event_handlers(self) -> dict:
        return {
            ev.Hello: self._on_hello, ev.CertificateChanged: self._on_certificate_changed,
            ev.ConnectFailed: self._on_connect_failed,
            ev.LoginFailed: self._on_login_failed, ev.Welcome: self._on_welcome,
            ev.Message: self._on_message, ev.Joined: self._on_joined, ev.Left: self._on_left,
            ev.History: self._on_history, ev.ServerError: self._on_server_error,
            ev.Reconnecting: self._on_reconnecting, ev.Closed: self._on_closed,
        }

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
        sent = self.pending.handed_to(self.epoch)
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
