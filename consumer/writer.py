"""The counter writer: a flush's increments to Cassandra with bounded concurrency.

Rows of one partition go together in an unlogged counter batch (at most ``max_batch_rows``
per batch); different partitions are written concurrently by at most ``concurrency``
workers. Every failure is sorted by the ``StoreError`` flags into "not applied" (safe to
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


class CounterWriter:
    def __init__(self, store: Store, *, concurrency: int, max_batch_rows: int) -> None:
        if concurrency < 1 or max_batch_rows < 1:
            raise ValueError("concurrency and max_batch_rows must be at least 1")
        self.store = store
        self.concurrency = concurrency
        self.max_batch_rows = max_batch_rows
        self._partition_sizes: dict[CounterTable, int] = {}

    def prepare(self, tables: Iterable[CounterTable]) -> None:
        """Prepare statements and read partition keys up front (blocking: call at startup)."""
        for table in tables:
            self.store.prepare(self.store.increment_cql(table), counter_write=True)
            self._partition_sizes[table] = self.store.partition_key_size(table)

    def chunks(self, increments: Iterable[Increment]) -> list[list[Increment]]:
        """Group by (table, partition), then cut each group into batches."""
        groups: dict[tuple[CounterTable, tuple[Any, ...]], list[Increment]] = {}
        for increment in increments:
            size = self._partition_sizes.get(increment.table)
            if size is None:
                size = self._partition_sizes[increment.table] = self.store.partition_key_size(
                    increment.table
                )
            groups.setdefault((increment.table, increment.key[:size]), []).append(increment)
        step = self.max_batch_rows
        return [rows[i : i + step] for rows in groups.values() for i in range(0, len(rows), step)]

    async def write(self, increments: Iterable[Increment]) -> WriteReport:
        report = WriteReport()
        pending: Iterator[list[Increment]] = iter(self.chunks(increments))

        async def worker() -> None:
            for chunk in pending:
                rows = [(item.key, item.views, item.time_ms) for item in chunk]
                report.statements += 1
                try:
                    await self.store.increment_partition(chunk[0].table, rows)
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
