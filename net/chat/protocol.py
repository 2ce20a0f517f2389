"""The chat protocol's rules, once (PROTOCOL.md section 2).

The server enforces them, the clients check them before sending, and the
window explains them: names, limits and error codes live here so that the
three cannot disagree.
"""

from __future__ import annotations

DEFAULT_PORT = 9091
PROTO_VERSION = 1
MAX_PAYLOAD = 65536  # the server's default maximum frame payload, in bytes
NAME_MAX = 32
PASSWORD_MAX = 256
TEXT_MAX = 4000
TOKEN_MAX = 256
HISTORY_DEFAULT, HISTORY_MAX = 50, 500

NAME_RULE = ("a name is 1 to 32 letters of one script, digits, '_', '-' or '.' "
             "(not only '_', '-' and '.')")


def name_key(name: str) -> str:
    """Two names that differ only in case are the same name."""
    return name.casefold()


def valid_password(password: object) -> bool:
    return isinstance(password, str) and 1 <= len(password) <= PASSWORD_MAX
