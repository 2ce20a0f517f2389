"""The user's language: English or Russian, through the stdlib's ``gettext``.

Catalogues: ``net/locale/<lang>/LC_MESSAGES/netdesk.po`` (domain ``netdesk``),
compiled to the ``netdesk.mo`` beside each; English is the source language
and needs none. ``python tools/i18n.py`` extracts, updates and compiles them
(README, "Translations"); a test fails while a ``.mo`` is not current.

The language
------------
``setup(lang)`` installs one: ``"en"``, ``"ru"`` (a locale name such as
``"ru_RU.UTF-8"`` also does), or ``None`` for the system's: the first of
``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG`` that is set decides, as
in gettext (a ``C`` or ``POSIX`` locale is English); with none set, the user's
UI language on Windows (``GetUserDefaultUILanguage``) and macOS
(``AppleLanguages``). Anything else is English. ``netdesk --lang ru`` (the
option goes before or after the subcommand) calls it before the command
line is parsed, so argparse's own words (``usage:``, ``options``, its
errors) come out in the same language: they are in our catalogue and
argparse reads it through gettext's global domain.

A message missing from a catalogue shows its English text, never a key.

For the GUI
-----------
- ``setup(lang)`` may be called again at any time (the Language menu):
  every ``_()`` from then on answers in the new language, so windows opened
  next speak it; windows already open keep their texts until rebuilt.
  ``current()`` says which language is in force, ``LANGUAGES`` maps each
  code to its own name for the menu (``"Русский"``, never translated),
  ``system_language()`` is what ``setup(None)`` would choose.
- Tk's own dialogs (``tk_messageBox``, file dialogs) take their button words
  from Tcl's msgcat, which reads ``LANG`` by itself: after ``setup``, call
  ``root.tk.call("::msgcat::mclocale", i18n.current())`` so they follow
  ``--lang`` too (``net`` never imports tkinter, so this is the GUI's line).
- Chat protocol error codes arrive as codes: translate them in the client
  with ``_()`` there; the server sends nothing translated.

Rules for code
--------------
1. Call ``_()`` when a text is shown, never at import time (module level,
   class bodies, default arguments): the language is chosen after the
   modules are imported and may change at run time. A table built at import
   marks its texts with ``N_()``, which returns them unchanged and tells the
   extractor, and shows them through ``_(text)``.
2. Literal strings only, with named fields filled in after:
   ``_("Port {port} open").format(port=port)``, never an f-string inside
   ``_()``; a translator may move the fields.
3. Counted things: ``ngettext("{n} port", "{n} ports", n).format(n=number(n))``
   (Russian has three forms: 1 порт, 3 порта, 5 портов). A short word that
   means two things gets a context: ``pgettext("port state", "open")``.
4. Numbers people read go through ``number()`` (65,535 / 65 535), dates and
   times through ``datetime_text()``, ``date_text()``, ``time_text()``.
5. Not translated: ``--json`` output, log records, anything sent on the wire,
   identifiers (command names, option names, port numbers, addresses).

Dates are ``Nov 27, 2026, 15:04`` in English (24-hour clock: the lab's
machines mostly are) and ``27.11.2026 15:04`` in Russian; numbers group
thousands with a comma in English and a no-break space in Russian, whose
decimal mark is a comma. Neither depends on the C library's locales (a
machine may have no ``ru_RU`` locale at all).
"""

from __future__ import annotations

import gettext as _gettext
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

DOMAIN = "netdesk"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
# Each language by its own name, for a Language menu; English is the source.
LANGUAGES = {"en": "English", "ru": "Русский"}
DEFAULT = "en"
# Where gettext looks for the language, in its order.
ENV_VARS = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")

_translation: _gettext.NullTranslations = _gettext.NullTranslations()
_current = DEFAULT
_UNSET = object()
_user_language_var: object = _UNSET  # LANGUAGE as the user set it, once we set ours


# -- choosing the language ------------------------------------------------------
def normalize(name: str | None) -> str | None:
    """``"ru"`` for ``"ru_RU.UTF-8"``, ``"RU"`` or ``"ru-RU"``; ``"en"`` for
    ``"C"`` and ``"POSIX"``; None for a language without a catalogue."""
    if not name:
        return None
    base = name.strip().split(".")[0].split("@")[0].replace("-", "_").split("_")[0].lower()
    if base in ("c", "posix"):
        return DEFAULT
    return base if base in LANGUAGES else None


def _env(name: str) -> str | None:
    if name == "LANGUAGE" and _user_language_var is not _UNSET:
        return _user_language_var  # type: ignore[return-value]
    return os.environ.get(name)


def language_from_env() -> str | None:
    """The language the environment asks for, read as gettext reads it: the
    first variable set decides; ``LANGUAGE`` may list several (``de:ru``).
    None when no variable is set."""
    for var in ENV_VARS:
        value = _env(var)
        if not value:
            continue
        for entry in value.split(":"):
            lang = normalize(entry)  # C and POSIX end the list as English
            if lang:
                return lang
        return DEFAULT
    return None


def _windows_language() -> str | None:
    try:
        import ctypes
        langid = ctypes.windll.kernel32.GetUserDefaultUILanguage()  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        return None
    primary = langid & 0x3FF  # PRIMARYLANGID
    return {0x09: "en", 0x19: "ru"}.get(primary)


def _macos_language() -> str | None:
    import subprocess
    try:
        out = subprocess.run(["defaults", "read", "-g", "AppleLanguages"],
                             capture_output=True, text=True, timeout=2).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    # (\n    "ru-RU",\n    "en-US"\n): the first is the user's choice.
    for item in out.replace("(", " ").replace(")", " ").split(","):
        item = item.strip().strip('"')
        if item:
            return normalize(item) or DEFAULT
    return None


def system_language() -> str:
    """What ``setup(None)`` chooses: the environment's language, else the
    user's UI language on Windows and macOS, else English."""
    lang = language_from_env()
    if lang is None and sys.platform == "win32":
        lang = _windows_language()
    elif lang is None and sys.platform == "darwin":
        lang = _macos_language()
    return lang or DEFAULT


def setup(lang: str | None = None) -> str:
    """Install ``lang`` (None: the system's) for every ``_()`` from now on,
    argparse's included; returns the language in force, ``"en"`` or ``"ru"``.

    A language without a catalogue (or whose catalogue is missing) is English.
    Safe to call again at any time, from the thread that shows texts."""
    global _translation, _current
    chosen = normalize(lang) if lang else None
    chosen = chosen or system_language()
    translation: _gettext.NullTranslations = _gettext.NullTranslations()
    if chosen != DEFAULT:
        translation = _gettext.translation(DOMAIN, str(LOCALE_DIR), languages=[chosen],
                                           fallback=True)
        if type(translation) is _gettext.NullTranslations:
            chosen = DEFAULT  # the catalogue is not there: English, not keys
    _translation, _current = translation, chosen
    _use_for_libraries(chosen)
    return chosen


def _use_for_libraries(lang: str) -> None:
    """argparse calls ``gettext.gettext``, which reads the global domain in
    the language of ``LANGUAGE``: point both at our choice. (The variable is
    set first from the main thread before any other starts; later changes
    only replace its value.)"""
    global _user_language_var
    _gettext.bindtextdomain(DOMAIN, str(LOCALE_DIR))
    _gettext.textdomain(DOMAIN)
    if _user_language_var is _UNSET:
        _user_language_var = os.environ.get("LANGUAGE")
    if os.environ.get("LANGUAGE") != lang:
        os.environ["LANGUAGE"] = lang


def current() -> str:
    """The language in force: ``"en"`` or ``"ru"``."""
    return _current


# -- translating ----------------------------------------------------------------
def _(message: str) -> str:
    """``message`` in the current language (English when not translated)."""
    return _translation.gettext(message)


gettext = _


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of a counted message for ``n`` (Russian: 1 порт, 3 порта, 5 портов)."""
    return _translation.ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """``message`` in a ``context`` that tells apart words written alike."""
    return _translation.pgettext(context, message)


def npgettext(context: str, singular: str, plural: str, n: int) -> str:
    return _translation.npgettext(context, singular, plural, n)


def N_(message: str) -> str:  # noqa: N802 - gettext's name for it
    """Marks ``message`` for extraction without translating it (tables built
    at import time); show it through ``_(message)``."""
    return message


def sentence(text: str, capital: bool = True, full_stop: bool = True) -> str:
    """``text`` as a sentence for people: a capital first letter (unless it
    follows a colon: ``capital=False``) and a full stop, unless it ends with
    its own punctuation (or ``full_stop=False``)."""
    text = text.strip()
    if not text:
        return ""
    if capital:
        text = text[0].upper() + text[1:]
    return text if not full_stop or text.endswith((".", "!", "?", "…")) else text + "."


def language_name(code: str) -> str:
    """A language's own name: ``"Русский"`` for ``"ru"``."""
    return LANGUAGES.get(code, code)


# -- numbers, dates and times -------------------------------------------------------
_SEPARATORS = {"en": (",", "."), "ru": ("\u00a0", ",")}  # (thousands, decimal mark)
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
              "Dec")


def number(value: float, digits: int | None = None) -> str:
    """``value`` for people, thousands grouped: ``65,535`` / ``65 535`` (a
    no-break space), ``1,234.5`` / ``1 234,5``. ``digits`` fixes the digits
    after the mark; without it a float keeps up to six, trailing zeros cut.
    Never for ``--json`` or logs."""
    group, mark = _SEPARATORS.get(_current, _SEPARATORS[DEFAULT])
    if digits is None:
        text = str(value) if isinstance(value, int) else f"{value:.6f}".rstrip("0").rstrip(".")
    else:
        text = f"{value:.{digits}f}"
    sign = "-" if text.startswith("-") else ""
    whole, _dot, fraction = text.lstrip("-").partition(".")
    if whole.isdigit():
        parts = []
        while len(whole) > 3:
            whole, tail = whole[:-3], whole[-3:]
            parts.insert(0, tail)
        whole = group.join([whole, *parts])
    return sign + whole + (mark + fraction if fraction else "")


def date_text(dt: datetime) -> str:
    """``Nov 27, 2026`` / ``27.11.2026``."""
    if _current == "ru":
        return f"{dt.day:02d}.{dt.month:02d}.{dt.year}"
    return f"{_MONTHS_EN[dt.month - 1]} {dt.day}, {dt.year}"


def time_text(dt: datetime, seconds: bool = False) -> str:
    """``15:04`` (``15:04:05`` with ``seconds``), in both languages."""
    return dt.strftime("%H:%M:%S" if seconds else "%H:%M")


def datetime_text(dt: datetime, seconds: bool = False) -> str:
    """``Nov 27, 2026, 15:04`` / ``27.11.2026 15:04``."""
    joint = " " if _current == "ru" else ", "
    return date_text(dt) + joint + time_text(dt, seconds)
