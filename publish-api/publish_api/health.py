"""A health check's result, reused for a short period so /health never piles up on a dependency."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class CachedCheck:
    """Runs `check` at most once per `period_s` seconds (per process); 0 checks every time.

    A stalled queue makes each ping wait the whole connection timeout; compose polls /health every
    few seconds, and concurrent calls would each wait again. The lock makes callers that arrive
    during a check share its result instead of starting their own.
    """

    def __init__(self, check: Callable[[], bool], period_s: float):
        self._check, self._period_s = check, period_s
        self._lock = threading.Lock()
        self._result: bool | None = None
        self._checked_at = float("-inf")

    def __call__(self) -> bool:
        """The cached result, or a fresh one when it is older than the period."""
        with self._lock:
            if self._result is None or time.monotonic() - self._checked_at >= self._period_s:
                self._result = self._check()
                # Measured after the check: a slow check must not make its result stale at once.
                self._checked_at = time.monotonic()
            return self._result
