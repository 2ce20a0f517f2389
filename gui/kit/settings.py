"""Window state that survives a restart: last hosts, ports, names, geometry.

A small JSON file in the data directory, written atomically and owner-only.
Passwords never go here. A damaged file is set aside, not fatal.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

log = logging.getLogger("netdesk.settings")


class Settings:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._data: dict = {}
        try:
            with open(self.path, encoding="utf-8") as f:
                data = json.load(f)
            if isinstance(data, dict):
                self._data = data
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as e:
            log.warning("settings file %s unreadable (%s); starting from defaults", self.path, e)

    def get(self, section: str, key: str, default=None):
        value = self._data.get(section, {}).get(key, default)
        return default if value is None else value

    def update(self, section: str, **values) -> None:
        with self._lock:
            self._data.setdefault(section, {}).update(values)
            self._save()

    def _save(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with open(fd, "w", encoding="utf-8") as f:
                json.dump(self._data, f, indent=1, sort_keys=True)
            os.replace(tmp, self.path)
        except OSError as e:  # full disk, deleted folder: the session goes on
            log.warning("could not save settings to %s: %s", self.path, e)
