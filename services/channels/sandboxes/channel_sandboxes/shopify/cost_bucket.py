"""GraphQL Admin's leaky bucket of query-cost points (CHANNELS.md 1.5), restored continuously."""

from __future__ import annotations

import threading
import time


class CostBucket:
    """GraphQL Admin's leaky bucket of query-cost points, restored continuously."""

    def __init__(self, size: float, restore_rate: float) -> None:
        self._lock = threading.Lock()
        self.size = size
        self.restore_rate = restore_rate
        self._available = size
        self._stamp = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self._available = min(self.size, self._available + (now - self._stamp) * self.restore_rate)
        self._stamp = now

    def take(self, cost: int) -> bool:
        with self._lock:
            self._refill()
            if cost > self._available:
                return False
            self._available -= cost
            return True

    def refund(self, points: float) -> None:
        with self._lock:
            self._refill()
            self._available = min(self.size, self._available + points)

    def configure(self, size: float | None, restore_rate: float | None, available: float | None) -> None:
        with self._lock:
            self._refill()
            if size is not None:
                self.size = size
            if restore_rate is not None:
                self.restore_rate = restore_rate
            if available is not None:
                self._available = available
            self._available = min(self._available, self.size)

    def status(self) -> dict[str, float]:
        with self._lock:
            self._refill()
            return {
                "maximumAvailable": float(self.size),
                "currentlyAvailable": float(int(self._available)),
                "restoreRate": float(self.restore_rate),
            }
