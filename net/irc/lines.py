"""IRC messages on the wire: parsing a line, formatting one, with IRCv3 tags.

A line is at most 512 bytes with its CR LF, plus up to 8191 bytes of tags
in front (IRCv3 message-tags); ``LineSplitter`` cuts a byte stream into
lines within those bounds, ``parse`` turns one into a ``Message`` and
``line`` formats one. Nothing here touches a socket.
"""

from __future__ import annotations

from dataclasses import dataclass, field

LINE_MAX = 512  # bytes, with CR LF (RFC 1459 2.3)
TAGS_MAX = 8191  # bytes of tags from the client, '@' and the space included (IRCv3)
BODY_MAX = LINE_MAX - 2
PARAMS_MAX = 15

_ESCAPES = {";": "\\:", " ": "\\s", "\\": "\\\\", "\r": "\\r", "\n": "\\n"}
_UNESCAPES = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}


class LineTooLong(ValueError):
    """A line (or its tags) over the limits; the rest of it was skipped."""


@dataclass
class Message:
    command: str  # upper case; a numeric stays digits
    params: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    source: str | None = None


def unescape_tag(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\\":
            if i + 1 < len(value):
                nxt = value[i + 1]
                out.append(_UNESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def escape_tag(value: str) -> str:
    return "".join(_ESCAPES.get(ch, ch) for ch in value)


def parse(text: str) -> Message | None:
    """One line (already decoded, no CR LF) as a Message; None for an empty line."""
    tags: dict[str, str] = {}
    rest = text.lstrip(" ")
    if rest.startswith("@"):
        raw, _, rest = rest[1:].partition(" ")
        for item in raw.split(";"):
            if item:
                key, _, value = item.partition("=")
                tags[key] = unescape_tag(value)
        rest = rest.lstrip(" ")
    source = None
    if rest.startswith(":"):
        source, _, rest = rest[1:].partition(" ")
        rest = rest.lstrip(" ")
    if not rest:
        return None
    trailing = None
    head, sep, tail = rest.partition(" :")
    if rest.startswith(":"):
        head, trailing = "", rest[1:]
    elif sep:
        trailing = tail
    words = head.split()
    if not words:
        return None
    params = words[1:]
    if trailing is not None:
        params.append(trailing)
    return Message(words[0].upper(), params, tags, source)


def line(command: str, *params: str, source: str | None = None,
         tags: dict[str, str] | None = None) -> bytes:
    """One outgoing line with CR LF. The last parameter gets a ':' when it
    needs one; CR, LF and NUL never reach the wire (they would end the line
    or start another). Lines over 512 bytes are cut (on a character boundary)."""
    parts = []
    if source:
        parts.append(":" + source)
    parts.append(command)
    for i, p in enumerate(params):
        p = _clean(p)
        if i == len(params) - 1 and (not p or " " in p or p.startswith(":")):
            p = ":" + p
        parts.append(p)
    body = " ".join(parts).encode("utf-8")
    if len(body) > BODY_MAX:
        body = body[:BODY_MAX].decode("utf-8", "ignore").encode("utf-8")
    prefix = b""
    if tags:
        prefix = ("@" + ";".join(k if v == "" else f"{k}={escape_tag(v)}"
                                 for k, v in tags.items()) + " ").encode("utf-8")
    return prefix + body + b"\r\n"


def _clean(text: str) -> str:
    if "\r" in text or "\n" in text or "\0" in text:
        return text.replace("\r", " ").replace("\n", " ").replace("\0", "")
    return text


def split_text(text: str, room: int) -> list[str]:
    """Chat text as IRC message bodies: a line each (empty lines dropped), each
    cut to at most ``room`` bytes of UTF-8 on character boundaries."""
    out = []
    for piece in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        piece = piece.replace("\0", "")
        data = piece.encode("utf-8")
        while len(data) > room:
            cut = data[:room].decode("utf-8", "ignore")
            if not cut:
                break
            out.append(cut)
            data = data[len(cut.encode("utf-8")):]
        if data:
            out.append(data.decode("utf-8"))
    return out


class LineSplitter:
    """Cuts received bytes into lines, bounded: a line longer than the limit
    is skipped up to its end and reported once as ``LineTooLong``."""

    def __init__(self, limit: int = TAGS_MAX + LINE_MAX):
        self.limit = limit
        self._buf = bytearray()
        self._skipping = False

    def feed(self, data: bytes) -> list[bytes | LineTooLong]:
        self._buf += data
        out: list[bytes | LineTooLong] = []
        while True:
            end = self._buf.find(b"\n")
            if end < 0:
                if len(self._buf) > self.limit:
                    if not self._skipping:
                        out.append(LineTooLong("line too long"))
                    self._skipping = True
                    self._buf.clear()
                return out
            raw = bytes(self._buf[:end])
            del self._buf[:end + 1]
            if self._skipping:
                self._skipping = False
                continue
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            if len(raw) > self.limit:
                out.append(LineTooLong("line too long"))
                continue
            if too_long(raw):
                out.append(LineTooLong("line too long"))
                continue
            out.append(raw)


def too_long(raw: bytes) -> bool:
    """Tags past 8191 bytes or the rest past 510 (RFC 1459, IRCv3 message-tags)."""
    if raw.startswith(b"@"):
        space = raw.find(b" ")
        if space < 0:
            return len(raw) > TAGS_MAX
        if space + 1 > TAGS_MAX:
            return True
        raw = raw[space + 1:]
    return len(raw) > BODY_MAX
