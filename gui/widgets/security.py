"""What the windows show about TLS: a padlock and the certificate's
fingerprint (the question asked when a pinned certificate has changed is
the chat window's: ``gui.chat.certificates``).

The padlock is drawn on a small canvas rather than written as a character:
the fonts of many Linux desktops (and Xvfb's) have no padlock glyph, and a
drawing takes the theme's colours and the display's size like the text
beside it. Closed in the accent colour: encrypted; open in the warning
colour: plain.

A fingerprint is long (``SHA256:`` and 32 bytes); the status bar shows its
first and last bytes, the tooltip and the "Copy fingerprint" menu item the
whole of it, and the changed-certificate dialog both whole, one under the
other, so they can be compared byte by byte.
"""

from __future__ import annotations

import tkinter as tk
import tkinter.font as tkfont
from tkinter import ttk

from gui.kit.style import color, px
from gui.widgets.contextmenu import attach
from gui.widgets.tooltip import Tooltip
from net.i18n import _
from net.tls import TlsInfo

# Characters of a fingerprint line in the dialog: "SHA256:" and 16 bytes, so
# the second line holds the other 16 and both fingerprints break alike.
FINGERPRINT_COLUMNS = 7 + 16 * 3


def short_fingerprint(fingerprint: str) -> str:
    """``SHA256:3F:A2:…`` as ``3F:A2:1B…7C:9C``: enough to tell two apart at a glance."""
    hexes = fingerprint.removeprefix("SHA256:").split(":")
    if len(hexes) <= 6:
        return fingerprint
    return ":".join(hexes[:3]) + "…" + ":".join(hexes[-2:])


def fingerprint_lines(fingerprint: str) -> str:
    """The whole fingerprint on two lines of 16 bytes, as the dialog breaks it."""
    return "\n".join(fingerprint[i:i + FINGERPRINT_COLUMNS]
                     for i in range(0, len(fingerprint), FINGERPRINT_COLUMNS))


def trust_text(info: TlsInfo) -> str:
    """Why the certificate is trusted, in a few words."""
    if info.verified:
        return _("verified by a CA")
    if info.first_use:
        return _("pinned now, first use")
    return _("pinned")


def security_details(info: TlsInfo | None) -> str:
    """The tooltip: everything the handshake told, in full."""
    if info is None:
        return _("Not encrypted: this is a plain connection. Anyone on the network path can "
                 "read the messages and the password.")
    if info.verified:
        trust = _("The certificate is signed by a certificate authority this computer "
                  "trusts, for this server's name.")
    elif info.first_use:
        trust = _("First connection to this address: the certificate was pinned now. Later "
                  "connections are refused with a warning if it changes.")
    else:
        trust = _("The certificate is the one pinned on the first connection to this "
                  "address.")
    return "\n".join([
        _("Encrypted with {version} ({cipher}).").format(version=info.version,
                                                         cipher=info.cipher),
        trust,
        _("Certificate fingerprint:"),
        fingerprint_lines(info.fingerprint),
        _("Right-click to copy the fingerprint."),
    ])


class Padlock(tk.Canvas):
    """A padlock as tall as a line of text: closed, open, or nothing."""

    def __init__(self, master: tk.Misc, font: str = "TkDefaultFont"):
        height = int(tkfont.nametofont(font).metrics("linespace"))
        self.size = max(12, round(height * 0.9))
        super().__init__(master, width=round(self.size * 0.8), height=self.size,
                         highlightthickness=0, borderwidth=0, takefocus=0)
        self.kind: str | None = None  # "closed", "open" or None
        self.bind("<<ThemeChanged>>", lambda e: self.draw(self.kind), add="+")
        self.draw(None)

    def draw(self, kind: str | None) -> None:
        self.kind = kind
        self.delete("all")
        background = ttk.Style(self).lookup("TFrame", "background") or color(self, "window_bg")
        self.configure(background=background)
        if kind is None:
            return
        ink = color(self, "accent" if kind == "closed" else "warning")
        s = self.size
        w = round(s * 0.8)
        stroke = max(2, round(s / 7))
        body_top = round(s * 0.45)
        # The body: a filled block in the lower half, with a keyhole.
        self.create_rectangle(1, body_top, w - 1, s - 1, fill=ink, outline=ink)
        if s >= 14:
            r = max(1, round(s / 14))
            cx, cy = w / 2, body_top + (s - body_top) * 0.45
            self.create_oval(cx - r, cy - r, cx + r, cy + r, fill=background, outline="")
        # The shackle: a half ring on two legs. Open, it rides higher and its
        # right leg stands free of the body.
        left, right = round(w * 0.22), round(w * 0.78)
        lift = round(s * 0.1)
        top = stroke // 2 + (0 if kind == "open" else lift)
        bottom = top + (right - left)
        self.create_arc(left, top, right, bottom, start=0, extent=180, style="arc",
                        outline=ink, width=stroke)
        mid = (top + bottom) / 2
        self.create_line(left, mid, left, body_top, fill=ink, width=stroke)
        right_end = body_top - lift - stroke if kind == "open" else body_top
        self.create_line(right, mid, right, max(mid, right_end), fill=ink, width=stroke)


class SecurityBadge(ttk.Frame):
    """The status bar's cell for the connection's security: a padlock, the
    short fingerprint and why it is trusted, or "Not encrypted"."""

    def __init__(self, master: tk.Misc, **options):
        super().__init__(master, **options)
        self.info: TlsInfo | None = None
        self.plain = False
        self._texts = ("", "")  # in full, and without the trust words for a narrow window
        self._room: int | None = None
        self.padlock = Padlock(self)
        self.padlock.pack(side="left", padx=(0, px(self, 4)))
        self.label = ttk.Label(self, text="", anchor="w")
        self.label.pack(side="left", fill="x", expand=True)
        self.label.bind("<<ThemeChanged>>", lambda e: self._colour(), add="+")
        self.tooltip = Tooltip(self, lambda: self.details() if self.shown else "")
        self._menu = tk.Menu(self, tearoff=False)
        for widget in (self, self.padlock, self.label):
            attach(widget, self._menu_for)
        self.clear()

    @property
    def shown(self) -> bool:
        return self.info is not None or self.plain

    def show(self, info: TlsInfo | None) -> None:
        """A connection is made: ``info`` from its handshake, or None for plain."""
        self.info, self.plain = info, info is None
        if info is None:
            self.padlock.draw("open")
            self._texts = (_("Not encrypted"), _("Not encrypted"))
        else:
            self.padlock.draw("closed")
            short = short_fingerprint(info.fingerprint)
            self._texts = (_("{fingerprint} ({trust})").format(
                fingerprint=short, trust=trust_text(info)), short)
        self._colour()
        self.fit(self._room)

    def fit(self, room: int | None) -> None:
        """Take at most ``room`` pixels if it can: the trust words, then the
        fingerprint (both in the tooltip) give way before the status bar's
        own text is cut."""
        self._room = room
        full, short = self._texts
        text = full
        if room is not None and full != short:
            font = tkfont.nametofont(str(self.label.cget("font") or "TkDefaultFont"))
            extra = self.winfo_reqwidth() - self.label.winfo_reqwidth()
            # Then the short fingerprint too: the padlock stays, and hovering
            # it tells the rest. "Not encrypted" never goes (full == short).
            text = next((t for t in (full, short) if font.measure(t) + extra <= room), "")
        if self.label.cget("text") != text:
            self.label.configure(text=text)

    def clear(self) -> None:
        """Not connected: nothing to tell."""
        self.info, self.plain = None, False
        self.padlock.draw(None)
        self._texts = ("", "")
        self.label.configure(text="")

    def details(self) -> str:
        return security_details(self.info)

    def _colour(self) -> None:
        self.label.configure(foreground=color(self, "warning") if self.plain else "")

    def _menu_for(self, event: tk.Event) -> tk.Menu | None:
        if self.info is None:
            return None
        self.tooltip.hide()
        menu = self._menu
        menu.delete(0, "end")
        fingerprint = self.info.fingerprint
        menu.add_command(label=_("Copy fingerprint"), command=lambda: self.copy(fingerprint))
        return menu

    def copy(self, text: str) -> None:
        self.clipboard_clear()
        self.clipboard_append(text)
