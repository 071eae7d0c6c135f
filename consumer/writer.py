"""The counter writer: a flush's increments to Cassandra in few requests, bounded concurrency.

Rows go in COUNTER batches of at most ``max_batch_rows``. With ``across_partitions`` (the
default) a batch takes rows of any tables and partitions, sorted so that rows of one
partition sit together: Cassandra's cost is mostly per request, so this is several times
cheaper than a request per partition. Such a batch is not atomic, so a failure after it was
sent is an unknown outcome for all of its rows. Without it, each batch stays inside one
partition (one mutation, applied whole or not at all): more requests, sharper failure
accounting. Every failure is sorted by the ``StoreError`` flags into "not applied" (safe to
write again) or "outcome unknown" (never written again); nothing is retried here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from cql.store import CounterTable, Store, StoreError

from .aggregate import Increment


@dataclass
class WriteReport:
    applied: int = 0
    statements: int = 0
    not_applied: list[Increment] = field(default_factory=list)
    unknown: list[Increment] = field(default_factory=list)
    errors: list[StoreError] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.not_applied

    @property
    def retriable(self) -> bool:
        """Whether writing ``not_applied`` again later may succeed."""
        return all(error.retriable for error in self.errors if not error.outcome_unknown)


def _partition(increment: Increment) -> tuple[str, tuple[Any, ...]]:
    return increment.table.name, increment.table.partition_of(increment.key)


class CounterWriter:
    def __init__(
        self,
        store: Store,
        *,
        concurrency: int,
        max_batch_rows: int,
        across_partitions: bool = True,
    ) -> None:
        if concurrency < 1 or max_batch_rows < 1:
            raise ValueError("concurrency and max_batch_rows must be at least 1")
        self.store = store
        self.concurrency = concurrency
        self.max_batch_rows = max_batch_rows
        self.across_partitions = across_partitions

    def prepare(self, tables: Iterable[CounterTable]) -> None:
        """Prepare statements and check partition keys against the schema (blocking: call at
        startup)."""
        for table in tables:
            self.store.prepare(self.store.increment_cql(table), counter_write=True)
            self.store.partition_key_size(table)

    def chunks(self, increments: Iterable[Increment]) -> list[list[Increment]]:
        step = self.max_batch_rows
        if self.across_partitions:
            ordered = sorted(increments, key=_partition)
            return [ordered[i : i + step] for i in range(0, len(ordered), step)]
        groups: dict[tuple[str, tuple[Any, ...]], list[Increment]] = {}
        for increment in increments:
            groups.setdefault(_partition(increment), []).append(increment)
        return [rows[i : i + step] for rows in groups.values() for i in range(0, len(rows), step)]

    async def write(self, increments: Iterable[Increment]) -> WriteReport:
        report = WriteReport()
        pending: Iterator[list[Increment]] = iter(self.chunks(increments))

        async def worker() -> None:
            for chunk in pending:
                rows = [(item.table, item.key, item.views, item.time_ms) for item in chunk]
                report.statements += 1
                try:
                    await self.store.increment_rows(rows)
                except StoreError as error:
                    report.errors.append(error)
                    if error.outcome_unknown:
                        report.unknown.extend(chunk)
                    else:
                        report.not_applied.extend(chunk)
                else:
                    report.applied += len(chunk)

        await asyncio.gather(*(worker() for _ in range(self.concurrency)))
        return report
