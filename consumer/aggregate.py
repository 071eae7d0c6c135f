"""Coalesce validated events into one increment per (table, key): pure, no I/O.

Keys are built with ``cql.buckets`` and ordered as ``CounterTable.key_columns``, so the rows
the consumer writes are the rows the readers look up.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from cql.buckets import day_of, hour_start_ms, month_of, shard_of
from cql.store import (
    ARTICLE_DAILY,
    ARTICLE_HOURLY,
    ARTICLE_TOTALS,
    SESSION_TOTALS,
    SUBBUZZ_BY_POSITION,
    TOP_BY_DAY,
    USER_TOTALS,
    CounterTable,
)

from .contract import Event

Key = tuple[Any, ...]


@dataclass(slots=True)
class Delta:
    views: int = 0
    time_ms: int = 0


@dataclass(frozen=True, slots=True)
class Increment:
    table: CounterTable
    key: Key
    views: int
    time_ms: int


@dataclass
class Aggregate:
    """Sums per (table, key) for one flush window."""

    deltas: dict[tuple[CounterTable, Key], Delta] = field(default_factory=dict)
    events: int = 0

    def add(self, event: Event) -> None:
        self.events += 1
        day = day_of(event.ts_ms)
        article = event.article_id
        # hour is a CQL timestamp: the driver takes epoch milliseconds as they are.
        keys: list[tuple[CounterTable, Key]] = [
            (ARTICLE_TOTALS, (article,)),
            (ARTICLE_HOURLY, (article, day, hour_start_ms(event.ts_ms))),
            (ARTICLE_DAILY, (article, month_of(day), day)),
            (TOP_BY_DAY, (day, shard_of(article), article)),
            (SUBBUZZ_BY_POSITION, (article, event.position, event.subbuzz_id)),
        ]
        if event.session_id is not None:
            keys.append((SESSION_TOTALS, (event.session_id,)))
        if event.user_id is not None:
            keys.append((USER_TOTALS, (event.user_id,)))
        deltas = self.deltas
        for slot in keys:
            delta = deltas.get(slot)
            if delta is None:
                delta = deltas[slot] = Delta()
            delta.views += 1
            delta.time_ms += event.time_ms

    def increments(self) -> Iterator[Increment]:
        for (table, key), delta in self.deltas.items():
            yield Increment(table, key, delta.views, delta.time_ms)

    def __len__(self) -> int:
        return len(self.deltas)


def aggregate(events: Iterable[Event]) -> Aggregate:
    result = Aggregate()
    for event in events:
        result.add(event)
    return result
