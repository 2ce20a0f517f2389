"""Stub until the names module lands."""
from __future__ import annotations

import unicodedata

from net.chat.protocol import valid_name


def canonical(name: str) -> str:
    return unicodedata.normalize("NFKC", name)

def name_problem(name: object):
    if not isinstance(name, str):
        return "bad_name"
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "bad_name"
    n = canonical(name)
    if not valid_name(n) or not n.strip("_-."):
        return "bad_name"
    return None

def skeleton(name: str) -> str:
    return canonical(name).casefold()
