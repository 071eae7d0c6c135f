"""When to send the next batch: at a fixed rate or as fast as possible, until a count or a time."""

from __future__ import annotations

import time
from collections.abc import Callable

_BATCH_PERIOD_S = 0.05  # at a fixed rate, send a batch every 50 ms


class Pacer:
    """Plans batches so that ``sent`` events are never ahead of ``rate`` x elapsed time."""

    def __init__(
        self,
        *,
        rate: float | None,
        count: int | None,
        duration_s: float | None,
        max_batch: int = 500,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if count is None and duration_s is None:
            raise ValueError("give a count or a duration")
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.count = count
        self.duration_s = duration_s
        self._clock = clock
        self._sleep = sleep
        self.max_batch = (
            max_batch if rate is None else max(1, min(max_batch, int(rate * _BATCH_PERIOD_S)))
        )
        self.started = clock()

    def elapsed(self) -> float:
        return self._clock() - self.started

    def next_batch(self, sent: int) -> int:
        """Wait until the next batch is due; its size, or 0 when the run is over."""
        size = self.max_batch if self.count is None else min(self.max_batch, self.count - sent)
        if size <= 0:
            return 0
        if self.rate is not None:
            due = sent / self.rate
            delay = due - self.elapsed()
            if self.duration_s is not None and due >= self.duration_s:
                return 0
            if delay > 0:
                self._sleep(delay)
        if self.duration_s is not None and self.elapsed() >= self.duration_s:
            return 0
        return size
