"""User modes of an IRC session (``MODE <own nick> [+|-]iw``), without sockets.

The gateway advertises the user modes ``iw`` in 004: ``i`` (invisible: WHO
with a mask, and WHOIS, do not show the user to someone who shares no
channel with them) and ``w`` (wallops, which nobody sends here, but a client
may ask for). A session keeps its own set; nothing of it reaches the chat
port, whose windows have no user modes.
"""

from __future__ import annotations

from typing import NamedTuple

USER_MODES = "iw"  # what 004 RPL_MYINFO advertises, and all a client may set


class ModeChange(NamedTuple):
    modes: frozenset[str]  # the session's modes after the change
    echo: str  # what changed, as the MODE echo says it ("+i", "-w", "+i-w"); "" if nothing
    unknown: bool  # a flag outside USER_MODES was given (501), and left out


def shown(modes: frozenset[str]) -> str:
    """The modes as 221 RPL_UMODEIS shows them: ``+iw``, or ``+`` for none."""
    return "+" + "".join(sorted(modes))


def apply(modes: frozenset[str], modestring: str) -> ModeChange:
    """``modestring`` (``+i``, ``-w``, ``+i-w``, ``i``: no sign means ``+``)
    applied to ``modes``. Unknown flags are skipped (the caller answers 501
    once); the echo names only what really changed, added before removed,
    so setting a mode the session already has echoes nothing."""
    adding, now, unknown = True, set(modes), False
    for flag in modestring:
        if flag in "+-":
            adding = flag == "+"
        elif flag not in USER_MODES:
            unknown = True
        elif adding:
            now.add(flag)
        else:
            now.discard(flag)
    after = frozenset(now)
    added = "".join(sorted(after - modes))
    removed = "".join(sorted(modes - after))
    echo = (f"+{added}" if added else "") + (f"-{removed}" if removed else "")
    return ModeChange(after, echo, unknown)
