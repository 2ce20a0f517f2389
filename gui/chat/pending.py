"""The book of lines the user sent that the server has not echoed yet.

A line typed offline waits here until the next welcome; one handed to the
session carries the login (``epoch``) it went out on, so after a reconnect
the history tells which of them reached the server before the drop and
which go out again. Nothing here touches Tk: the window draws the book
(``gui.chat.unsent``), and the book is tested without a display.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from net.chat.protocol import name_key


@dataclass(eq=False)
class Pending:
    """A line the user sent that the server has not echoed yet."""

    key: int
    text: str
    to: str | None
    typed: str  # "HH:MM", when it was typed
    epoch: int | None = None  # the login it was handed to the session on; None: not yet


class PendingBook:
    """The lines not echoed yet, oldest first."""

    def __init__(self) -> None:
        self._lines: list[Pending] = []
        self._keys = 0

    def __iter__(self) -> Iterator[Pending]:
        return iter(list(self._lines))  # a copy: callers remove while they walk

    def __len__(self) -> int:
        return len(self._lines)

    def __contains__(self, p: object) -> bool:
        return p in self._lines

    def add(self, text: str, to: str | None, typed: str) -> Pending:
        """A line just typed, at the end of the book."""
        self._keys += 1
        p = Pending(self._keys, text, to, typed)
        self._lines.append(p)
        return p

    def remove(self, p: Pending) -> None:
        if p in self._lines:
            self._lines.remove(p)

    def clear(self) -> None:
        self._lines.clear()

    def confirm(self, msg: dict) -> Pending | None:
        """The server echoed one of our lines: the oldest with its text and
        recipient leaves the book (and is returned)."""
        for p in self._lines:
            if p.text == msg.get("text") and p.to == msg.get("to"):
                self._lines.remove(p)
                return p
        return None

    def handed_to(self, epoch: int | None) -> list[Pending]:
        """The lines handed to the session on login ``epoch``, oldest first:
        the server answers says in order."""
        return [p for p in self._lines if p.epoch is not None and p.epoch == epoch]

    def after_login(self, history: list[dict], me: str) -> list[Pending]:
        """After a (re)login: lines that reached the server before the drop are
        in the history just received, and leave the book; the rest are
        returned, oldest first, to go out (again) now."""
        mine = [m for m in history if name_key(str(m.get("from", ""))) == name_key(me)]
        again = []
        for p in list(self._lines):
            if p.epoch is not None:
                arrived = next((m for m in mine if m.get("text") == p.text
                                and m.get("to") == p.to), None)
                if arrived is not None:
                    mine.remove(arrived)
                    self._lines.remove(p)
                    continue
            again.append(p)
        return again

    def unsent(self, logged_in: bool, epoch: int | None) -> list[Pending]:
        """Lines that closing would lose: online, the ones handed to the
        session on this login still go out before its logout."""
        return [p for p in self._lines if not (logged_in and p.epoch == epoch)]
