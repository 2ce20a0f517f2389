"""Certificate pins kept in the settings file, so trust on first use lasts.

``net.chat.trust`` asks a ``Pins`` for the fingerprint pinned for
``host:port`` and stores the one it meets first; a window hands its session
a ``SettingsPins``, so the pin survives a restart and every chat window of
the process shares it (they share one ``Settings``). The session calls it
from its own thread: ``Settings`` holds a lock for its writes, and no Tk
object is involved.
"""

from __future__ import annotations

from gui.kit.settings import Settings
from net.chat.trust import MemoryPins, Pins

SECTION = "tls_pins"


class SettingsPins:
    """The ``Pins`` protocol over a ``Settings`` section, keyed by ``pin_key``."""

    def __init__(self, settings: Settings, section: str = SECTION):
        self.settings = settings
        self.section = section

    def get(self, key: str) -> str | None:
        value = self.settings.get(self.section, key)
        return value if isinstance(value, str) and value else None

    def put(self, key: str, fingerprint: str) -> None:
        self.settings.update(self.section, **{key: fingerprint})


def pins_for(settings: Settings | None) -> Pins:
    """Pins that last when there is a settings file, for this process otherwise."""
    return SettingsPins(settings) if settings is not None else MemoryPins()
