"""The transcript: messages placed by id (so a reconnect never shows one
twice and history lands in order), notes, the "New messages below" button,
and a view that follows the newest line only for a reader who was there.

Newlines: a message's later lines are indented under its first. The lines
not sent yet sit after the ``LIVE`` mark (``gui.chat.unsent``). A mixin of
``ChatWindow``.
"""

from __future__ import annotations

import bisect
import re
import tkinter as tk
import tkinter.font as tkfont
from tkinter import ttk

from gui.chat.wording import local_time
from gui.kit.style import themed_text
from gui.widgets.contextmenu import read_only_menu
from net.chat.protocol import name_key
from net.i18n import _

LIVE = "live"  # the mark between the conversation and the lines not sent yet

class Transcript:
    """The conversation's text widget and what is written into it."""

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
        read_only_menu(t)  # with Ctrl+A that selects all, as the menu says
        self.new_below = ttk.Button(frame, text=_("New messages below ↓"),
                                    command=self.scroll_to_newest)
        return frame

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
