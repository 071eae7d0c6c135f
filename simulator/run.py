"""One simulation run: draw batches from the model, pace them, send them to the sinks."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from .jsonlines import encode
from .model import Event
from .pacing import Pacer
from .progress import ProgressLine, Tally


class BatchSink(Protocol):
    def publish(self, bodies: Sequence[bytes]) -> None: ...


@dataclass(frozen=True)
class RunResult:
    tally: Tally
    elapsed_s: float

    def summary(self) -> str:
        return self.tally.summary(self.elapsed_s)


def epoch_ms() -> int:
    return time.time_ns() // 1_000_000


def run(
    events: Iterator[Event],
    pacer: Pacer,
    *,
    publisher: BatchSink | None = None,
    output: BinaryIO | None = None,
    progress: ProgressLine | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> RunResult:
    """Events are drawn lazily, batch by batch, so their ``ts`` is the time they are sent."""
    tally = Tally()
    while not should_stop():
        size = pacer.next_batch(tally.events)
        if size == 0:
            break
        batch = list(itertools.islice(events, size))
        bodies = [encode(event) for event in batch]
        if publisher is not None:
            publisher.publish(bodies)
        if output is not None:
            output.write(b"\n".join(bodies) + b"\n")
        tally.observe(batch)
        if progress is not None:
            progress.update(tally.events, pacer.elapsed())
    elapsed = pacer.elapsed()
    if progress is not None:
        progress.update(tally.events, elapsed, final=True)
    return RunResult(tally, elapsed)
