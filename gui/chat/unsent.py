"""The lines not sent yet, drawn muted below the conversation, and their
way out: handed to the session while online, again after the next welcome,
or marked "not sent" with the reason and handed back to the message box.
None is ever dropped without a word.

The book itself is ``gui.chat.pending`` (no Tk). A mixin of ``ChatWindow``.
"""

from __future__ import annotations

from gui.chat.pending import Pending
from gui.chat.transcript import LIVE
from net.i18n import _


class UnsentLines:
    """The window's ``pending`` book, shown and sent."""

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
        for p in self.pending.after_login(fresh, self.me):
            self._send_pending(p)

    def _confirm_pending(self, msg: dict) -> None:
        if self.pending.confirm(msg) is not None:
            self._render_pending()

    def _fail_pending(self, p: Pending, why: str) -> None:
        """The server will not take it: say so where it was, and hand the text back."""
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
