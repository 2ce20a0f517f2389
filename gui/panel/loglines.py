"""Log file lines as the panel's log view shows them, without Tk: the level
of a line, its level in the user's language, the time (and the date when it
is not today), and the live record that the first read of the file already
brought.
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime

from net import i18n
from net.i18n import pgettext

LEVELS = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARNING": logging.WARNING,
          "ERROR": logging.ERROR}

_RECORD = re.compile(r"(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}),\d+ (\w+)\s+([\w.]+): (.*)",
                     re.DOTALL)


def level_name(level: str) -> str:
    """A log level as the view shows it: "WARNING" / "ВНИМАНИЕ" (the log file
    itself stays English)."""
    names = {"DEBUG": pgettext("log level", "DEBUG"), "INFO": pgettext("log level", "INFO"),
             "WARNING": pgettext("log level", "WARNING"),
             "ERROR": pgettext("log level", "ERROR"),
             "CRITICAL": pgettext("log level", "CRITICAL")}
    return names.get(level, level)


def level_width() -> int:
    """Characters the level column of the view takes in the language in force."""
    return max(len(level_name(level)) for level in LEVELS)


def level_of(line: str) -> int:
    """The level of a log file line (continuation lines count as INFO)."""
    parts = line.split(None, 3)
    return LEVELS.get(parts[2], logging.INFO) if len(parts) > 2 else logging.INFO


def shown_line(line: str, today: str | None = None) -> str:
    """A log file line made to fit the view: the time (and the date when it
    is not today, as the user's language writes it), the level in the
    user's language, and the message without the logger's name when the
    message repeats it ("netdesk.chat: chat: ..." -> "chat: ...")."""
    m = _RECORD.fullmatch(line)
    if not m:
        return line
    day, clock, level, name, message = m.groups()
    if day == (today or date.today().isoformat()):
        when = clock
    else:
        try:
            when = i18n.datetime_text(datetime.fromisoformat(f"{day} {clock}"), seconds=True)
        except ValueError:
            when = f"{day} {clock}"
    short = name.removeprefix("netdesk.")
    if not message.startswith(f"{short.rsplit('.', 1)[-1]}:"):
        message = f"{short}: {message}"
    return f"{when} {level_name(level):<{level_width()}} {message}"


def take(lines: list[str], record: str) -> bool:
    """Remove ``record``'s first line from ``lines``, if there; True if it was."""
    first = record.split("\n", 1)[0]
    if first in lines:
        lines.remove(first)
        return True
    return False
