"""The model file as the running service sees it: the last good version, and why a newer one was refused."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field

from grading.core.config import ConfigError

from .read import LoadedConfig, read_config


@dataclass
class Reload:
    changed: bool
    problems: list[str] = field(default_factory=list)


class ModelState:
    """Holds the active config; `reload()` swaps it only for a valid, different file."""

    def __init__(self, path: str):
        self.path = path
        self._lock = threading.Lock()
        self.loaded: LoadedConfig = read_config(path)  # a bad file at start-up is fatal
        self.problems: list[str] = []  # of the newest file, when it was refused
        self._mtime = self._stat()

    def _stat(self) -> float | None:
        try:
            return os.stat(self.path).st_mtime
        except OSError:
            return None

    @property
    def config(self):
        return self.loaded.config

    def file_changed(self) -> bool:
        return self._stat() != self._mtime

    def reload(self) -> Reload:
        with self._lock:
            self._mtime = self._stat()
            try:
                fresh = read_config(self.path)
            except ConfigError as error:
                self.problems = error.problems
                return Reload(False, error.problems)
            self.problems = []
            if fresh.digest == self.loaded.digest:
                return Reload(False)
            self.loaded = fresh
            return Reload(True)
