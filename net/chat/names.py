"""Chat names under the *v1.1* rules (PROTOCOL.md section 2, "Session" point 2).

Three pure functions, for the server to combine:

- ``canonical(name)``: the NFKC form a name is stored and compared in, so
  that fullwidth ``ａｄｍｉｎ`` and mathematical ``𝐚𝐝𝐦𝐢𝐧`` are ``admin``.
- ``name_problem(name)``: ``None`` for an acceptable name, else the error
  code ``"bad_name"``.
- ``skeleton(name)``: the Unicode TR39 confusable skeleton, casefolded. Two
  names with equal skeletons look alike: a new name whose skeleton equals an
  existing account's gets ``name_too_similar`` (the server keeps the index).

The script and confusable tables are Unicode's own (Scripts.txt,
ScriptExtensions.txt, UTS #39 confusables.txt), derived into
``net/chat/_names_data.py`` by ``tools/make_names_data.py``. They are
imported on first use, not with this module, so a client that only checks
the old rule pays nothing. Normalisation and general categories come from
Python's ``unicodedata``, whose Unicode version follows the interpreter
(14.0 on Python 3.11); a letter that the tables do not know is refused
rather than guessed about (see ``_script_table``).
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_right
from functools import cache

from net.chat.protocol import NAME_MAX

BAD_NAME = "bad_name"

# The characters a name may hold besides letters and decimal digits.
PUNCTUATION = frozenset("_-.")
# General categories of letters (L*) and decimal digits (Nd).
NAME_CATEGORIES = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Nd"})
# NFKC can shrink a name (a letter and its combining marks become one code
# point, Hangul jamo become one syllable), so the length limit applies after
# it; a raw input this long cannot come back to NAME_MAX, and refusing it
# early keeps the work per login bounded.
RAW_MAX = 8 * NAME_MAX

# TR39 section 5.1: Common and Inherited characters (digits, '_', combining
# marks) go with any script, so they stand for "every script".
ANY_SCRIPT = frozenset({"Zyyy", "Zinh"})
# TR39's augmented script sets: writing systems that mix scripts as a matter
# of course get a shared code, so Han with Hiragana/Katakana (Japanese),
# Han with Hangul (Korean) and Han with Bopomofo are one script each.
AUGMENT = {
    "Hani": ("Hanb", "Jpan", "Kore"),
    "Hira": ("Jpan",),
    "Kana": ("Jpan",),
    "Hang": ("Kore",),
    "Bopo": ("Hanb",),
}


def canonical(name: str) -> str:
    """The name's NFKC form: compatibility variants become their plain letters."""
    return unicodedata.normalize("NFKC", name)


def name_problem(name: object) -> str | None:
    """``None`` if the name is acceptable, else ``"bad_name"``.

    Acceptable, after NFKC (``canonical``): 1 to NAME_MAX code points, each a
    letter (L*), a decimal digit (Nd), ``_``, ``-`` or ``.``; not only
    ``_``, ``-`` and ``.``; and all of one script (TR39 single-script, with
    Script_Extensions: ``Иван`` and ``李小龙`` pass, ``аdmin`` with a Cyrillic
    ``а`` does not). Lone surrogates, which a JSON ``\\ud800`` escape can
    smuggle in, are refused as category Cs (NFKC passes them through).
    """
    if not isinstance(name, str) or not name or len(name) > RAW_MAX:
        return BAD_NAME
    name = canonical(name)
    if not 1 <= len(name) <= NAME_MAX:
        return BAD_NAME
    only_punctuation = True
    for c in name:
        if c in PUNCTUATION:
            continue
        if unicodedata.category(c) not in NAME_CATEGORIES:
            return BAD_NAME
        only_punctuation = False
    if only_punctuation:
        return BAD_NAME
    return None if single_script(name) else BAD_NAME


def single_script(text: str) -> bool:
    """True if one script covers every character of the text (TR39 5.1).

    The resolved script set is the intersection of each character's augmented
    Script_Extensions, Common and Inherited characters counting as every
    script; the text is single-script when that set is not empty. Using
    Script_Extensions rather than Script lets a character shared by scripts
    (the Japanese prolonged sound mark ``ー``: Hiragana and Katakana) go with
    any of them.
    """
    starts, sets = _script_table()
    resolved: frozenset[str] | None = None  # None: every script so far
    for c in text:
        scripts = sets[bisect_right(starts, ord(c)) - 1]
        if scripts is None:
            continue
        resolved = scripts if resolved is None else resolved & scripts
        if not resolved:
            return False
    return True


def skeleton(name: str) -> str:
    """The casefolded TR39 confusable skeleton of a name.

    TR39 section 4: NFD, replace each character by its confusables.txt
    prototype, NFD again. The result is casefolded last, as names are
    case-insensitive: the mapping is case-sensitive (``I`` becomes ``l``,
    ``m`` becomes ``rn``), and folding after it keeps ``Ivan``/``lvan`` and
    ``admin``/``adrnin`` together. A skeleton is a comparison key, not a name
    to show. Pass ``canonical`` names: the server compares canonical forms.
    """
    mapped = unicodedata.normalize("NFD", name).translate(_confusables())
    return unicodedata.normalize("NFD", mapped).casefold()


@cache
def _confusables() -> dict[int, str]:
    from net.chat import _names_data  # ~5 ms, once: only when names are checked

    return _names_data.CONFUSABLES


@cache
def _script_table() -> tuple[tuple[int, ...], tuple[frozenset[str] | None, ...]]:
    """Range starts and, for each, its augmented script set (None: any script).

    A code point the tables leave unassigned (newer than their Unicode
    version, while this Python's ``unicodedata`` calls it a letter) gets the
    empty set: a name with it is refused, not waved through unexamined.
    """
    from net.chat import _names_data

    sets: list[frozenset[str] | None] = []
    for codes in _names_data.SCRIPT_SETS:
        scripts = set(codes.split())
        if scripts & ANY_SCRIPT:
            # Common and Inherited never appear in a set with other codes.
            sets.append(None)
            continue
        for code in list(scripts):
            scripts.update(AUGMENT.get(code, ()))
        sets.append(frozenset(scripts))
    return _names_data.RANGE_STARTS, tuple(sets[i] for i in _names_data.RANGE_SETS)
