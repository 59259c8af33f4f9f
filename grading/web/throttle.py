"""Login rate limiting: after too many failed logins for a name from one address (or from one
address for any names), further tries are refused for a while, even with the right password."""

from __future__ import annotations

import threading
import time
from collections import deque

WINDOW_S = 15 * 60
PER_NAME = 5  # failures of one name from one address within the window
PER_ADDRESS = 30  # failures from one address, whatever the names


class LoginThrottle:
    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.lock = threading.Lock()
        self.failures: dict[tuple, deque[float]] = {}

    def _keys(self, name: str, address: str) -> list[tuple[tuple, int]]:
        return [
            (("name", name.strip().lower(), address), PER_NAME),
            (("address", address), PER_ADDRESS),
        ]

    def _recent(self, key: tuple, now: float) -> deque[float]:
        times = self.failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - WINDOW_S:
            times.popleft()
        if not times:
            del self.failures[key]
        return times

    def wait_seconds(self, name: str, address: str) -> int:
        """0 when a try is allowed, else how long until the oldest failure leaves the window."""
        now = self.clock()
        with self.lock:
            waits = [
                times[0] + WINDOW_S - now
                for key, limit in self._keys(name, address)
                if len(times := self._recent(key, now)) >= limit
            ]
        return int(max(waits)) + 1 if waits else 0

    def failed(self, name: str, address: str) -> None:
        now = self.clock()
        with self.lock:
            for key, _ in self._keys(name, address):
                self._recent(key, now)
                self.failures.setdefault(key, deque()).append(now)

    def succeeded(self, name: str, address: str) -> None:
        with self.lock:
            self.failures.pop(self._keys(name, address)[0][0], None)
