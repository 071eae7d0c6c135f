"""The one module that talks CQL: connection, prepared statements, counter writes and reads.

The driver's calls are bridged into asyncio with callbacks (``call_soon_threadsafe``), so no
coroutine ever blocks the event loop on Cassandra. Driver exceptions are translated into
``StoreError`` subclasses whose flags (``retriable``, ``outcome_unknown``) tell the caller what
to do, without an ``isinstance`` ladder on driver types.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import namedtuple
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from cassandra import (
    ConsistencyLevel,
    OperationTimedOut,
    ReadTimeout,
    Unavailable,
    WriteTimeout,
)
from cassandra.cluster import (
    EXEC_PROFILE_DEFAULT,
    Cluster,
    ExecutionProfile,
    NoHostAvailable,
    ResponseFuture,
    Session,
)
from cassandra.connection import ConnectionBusy, ConnectionException
from cassandra.policies import (
    DCAwareRoundRobinPolicy,
    ExponentialReconnectionPolicy,
    FallthroughRetryPolicy,
    TokenAwarePolicy,
)
from cassandra.query import BatchStatement, BatchType, PreparedStatement

from subbuzz.config import CassandraSettings

from .buckets import TOP_SHARDS, to_ms

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# Errors with policy flags


class StoreError(Exception):
    """A Cassandra call failed. ``retriable``: trying later may work.
    ``outcome_unknown``: a write may or may not have been applied (never retry it blindly)."""

    retriable = True
    outcome_unknown = False


class StoreUnavailable(StoreError):
    """No replica could take the request; nothing was applied."""


class StoreTimeout(StoreError):
    """A read timed out, or a write timed out and may have been applied."""


class WriteOutcomeUnknown(StoreTimeout):
    outcome_unknown = True


class StoreRejected(StoreError):
    """The request itself is wrong (schema, syntax): retrying cannot help."""

    retriable = False


def translate_error(
    exc: BaseException, *, is_write: bool, spans_partitions: bool = False
) -> StoreError:
    """``spans_partitions``: a write that touches several partitions (a counter batch across
    partitions) is applied partition by partition, so once it was sent any failure may have
    applied part of it: only "never sent" and "refused as a whole" stay known outcomes."""
    if isinstance(exc, StoreError):
        return exc
    message = f"{type(exc).__name__}: {exc}"
    if is_write and spans_partitions:
        never_sent = isinstance(exc, NoHostAvailable | ConnectionBusy)
        if not never_sent and not _refused_whole(exc):
            return WriteOutcomeUnknown(message)
    if isinstance(exc, WriteTimeout) or (is_write and isinstance(exc, OperationTimedOut)):
        return WriteOutcomeUnknown(message)
    # A connection that breaks while a write is on it may have delivered the write; a busy
    # connection never sent it.
    if is_write and isinstance(exc, ConnectionException) and not isinstance(exc, ConnectionBusy):
        return WriteOutcomeUnknown(message)
    if isinstance(exc, ReadTimeout | OperationTimedOut):
        return StoreTimeout(message)
    if isinstance(exc, Unavailable | NoHostAvailable | ConnectionError | OSError):
        return StoreUnavailable(message)
    if _refused_whole(exc):
        return StoreRejected(message)
    return StoreError(message)


def _refused_whole(exc: BaseException) -> bool:
    from cassandra import InvalidRequest, Unauthorized
    from cassandra.protocol import SyntaxException

    return isinstance(exc, InvalidRequest | SyntaxException | Unauthorized)


# ---------------------------------------------------------------------------------------------
# Counter tables


@dataclass(frozen=True)
class CounterTable:
    name: str
    key_columns: tuple[str, ...]
    partition_columns: int = 1
    """How many leading ``key_columns`` form the partition key (checked against the schema
    when the writer prepares its statements)."""

    def partition_of(self, key: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(key[: self.partition_columns])


ARTICLE_TOTALS = CounterTable("article_totals", ("article_id",))
ARTICLE_HOURLY = CounterTable("article_hourly", ("article_id", "day", "hour"), 2)
ARTICLE_DAILY = CounterTable("article_daily", ("article_id", "month", "day"), 2)
TOP_BY_DAY = CounterTable("top_by_day", ("day", "shard", "article_id"), 2)
SUBBUZZ_BY_POSITION = CounterTable("subbuzz_by_position", ("article_id", "position", "subbuzz_id"))
SESSION_TOTALS = CounterTable("session_totals", ("session_id",))
USER_TOTALS = CounterTable("user_totals", ("user_id",))

COUNTER_TABLES: tuple[CounterTable, ...] = (
    ARTICLE_TOTALS,
    ARTICLE_HOURLY,
    ARTICLE_DAILY,
    TOP_BY_DAY,
    SUBBUZZ_BY_POSITION,
    SESSION_TOTALS,
    USER_TOTALS,
)
TABLES_BY_NAME: dict[str, CounterTable] = {table.name: table for table in COUNTER_TABLES}


@dataclass(frozen=True, slots=True)
class Totals:
    views: int = 0
    time_ms: int = 0


ZERO = Totals()


def _totals(row: Any) -> Totals:
    return Totals(views=row.views or 0, time_ms=row.time_ms or 0)


@dataclass(frozen=True, slots=True)
class SubbuzzRow:
    position: int
    subbuzz_id: str
    totals: Totals


READ_CONCURRENCY = 64
"""Reads one request keeps in flight at most (see ``Store.read_many``)."""

WINDOW_READ_CONCURRENCY = 8
"""Day-shard reads a ranking keeps in flight (see ``Store._each_day_shard``)."""


def _as_date(value: Any) -> date:
    # The driver returns cassandra.util.Date for a CQL date.
    return value if isinstance(value, date) else value.date()


# ---------------------------------------------------------------------------------------------
# The async bridge


def _resolve(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():
        future.set_result(result)


def _reject(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


def _as_asyncio(
    response: ResponseFuture, *, is_write: bool, spans_partitions: bool = False
) -> asyncio.Future[Any]:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def on_success(rows: Any) -> None:
        loop.call_soon_threadsafe(_resolve, future, rows)

    def on_error(exc: BaseException) -> None:
        error = translate_error(exc, is_write=is_write, spans_partitions=spans_partitions)
        loop.call_soon_threadsafe(_reject, future, error)

    response.add_callbacks(on_success, on_error)
    return future


@functools.cache
def _row_class(columns: tuple[str, ...]) -> type:
    return namedtuple("Row", columns, rename=True)


def _named_rows(columns: list[str], rows: list[tuple[Any, ...]]) -> list[Any]:
    """The driver's named-tuple rows, with the class made once per column list: its own
    factory builds a new namedtuple class for every result (measured ~5% of a query's CPU)."""
    row = _row_class(tuple(columns))
    return [row(*values) for values in rows]


# ---------------------------------------------------------------------------------------------
# The store


class Store:
    """A connected session on one keyspace with the statements subbuzz runs, prepared once."""

    def __init__(self, cluster: Cluster, session: Session, settings: CassandraSettings) -> None:
        self.cluster = cluster
        self.session = session
        self.settings = settings
        self.keyspace = settings.keyspace
        self._prepared: dict[str, PreparedStatement] = {}

    # -- lifecycle ---------------------------------------------------------------------------

    @classmethod
    def connect(cls, settings: CassandraSettings, *, keyspace: bool = True) -> Store:
        """Blocking connect (call it from a thread in async code: ``await Store.open(...)``)."""
        consistency = ConsistencyLevel.name_to_value[settings.consistency.upper()]
        profile = ExecutionProfile(
            row_factory=_named_rows,
            load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy()),
            consistency_level=consistency,
            request_timeout=settings.request_timeout_s,
        )
        cluster = Cluster(
            contact_points=list(settings.cassandra_hosts),
            port=settings.cassandra_port,
            execution_profiles={EXEC_PROFILE_DEFAULT: profile},
            connect_timeout=settings.connect_timeout_s,
            # The driver's default backs off up to 10 minutes: after an outage the consumer
            # and the server would sit idle long after Cassandra is back.
            reconnection_policy=ExponentialReconnectionPolicy(base_delay=0.5, max_delay=5.0),
            protocol_version=5,
        )
        try:
            session = cluster.connect(settings.keyspace if keyspace else None)
        except Exception as exc:
            cluster.shutdown()
            raise translate_error(exc, is_write=False) from exc
        return cls(cluster, session, settings)

    @classmethod
    async def open(cls, settings: CassandraSettings, *, keyspace: bool = True) -> Store:
        return await asyncio.to_thread(cls.connect, settings, keyspace=keyspace)

    def close(self) -> None:
        self.cluster.shutdown()

    # -- statements --------------------------------------------------------------------------

    def prepare(self, cql: str, *, counter_write: bool = False) -> PreparedStatement:
        """Prepare once per store. Counter writes get a fall-through retry policy: a counter
        increment is not idempotent, so the driver must never resend it on its own."""
        statement = self._prepared.get(cql)
        if statement is None:
            try:
                statement = self.session.prepare(cql)
            except Exception as exc:
                raise translate_error(exc, is_write=False) from exc
            if counter_write:
                statement.retry_policy = FallthroughRetryPolicy()
                statement.is_idempotent = False
            else:
                statement.is_idempotent = True
            self._prepared[cql] = statement
        return statement

    async def execute(self, cql: str, params: Sequence[Any] = (), *, write: bool = False) -> Any:
        """Run one prepared statement; returns the driver's result (a list-like of rows)."""
        statement = self.prepare(cql, counter_write=write)
        try:
            response = self.session.execute_async(statement, params)
        except Exception as exc:
            raise translate_error(exc, is_write=write) from exc
        rows = await _as_asyncio(response, is_write=write)
        if response.has_more_pages:
            collected = list(rows)
            while response.has_more_pages:
                response.start_fetching_next_page()
                rows = await _as_asyncio(response, is_write=write)
                collected.extend(rows)
            return collected
        return rows

    def execute_sync(self, cql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> Any:
        """Blocking, unprepared: for DDL and one-off tools, never on a request path."""
        try:
            return self.session.execute(cql, params or None)
        except Exception as exc:
            raise translate_error(exc, is_write=False) from exc

    # -- counter writes ----------------------------------------------------------------------

    @staticmethod
    @functools.cache
    def increment_cql(table: CounterTable) -> str:
        where = " AND ".join(f"{column} = ?" for column in table.key_columns)
        return f"UPDATE {table.name} SET views = views + ?, time_ms = time_ms + ? WHERE {where}"

    async def increment(
        self, table: CounterTable, key: Sequence[Any], *, views: int, time_ms: int
    ) -> None:
        """Add to one counter row. Raises ``StoreError``; never retried by the driver."""
        await self.execute(self.increment_cql(table), (views, time_ms, *key), write=True)

    def partition_key_size(self, table: CounterTable) -> int:
        """How many leading ``key_columns`` form the partition key, read from the schema; it
        must be what ``table.partition_columns`` says."""
        metadata = self.cluster.metadata.keyspaces[self.keyspace].tables[table.name]
        names = tuple(column.name for column in metadata.partition_key)
        if names != table.key_columns[: table.partition_columns]:
            raise StoreRejected(
                f"{table.name}: the schema's partition key {names} is not the first "
                f"{table.partition_columns} of {table.key_columns}"
            )
        return len(names)

    async def increment_rows(
        self, rows: Sequence[tuple[CounterTable, Sequence[Any], int, int]]
    ) -> None:
        """Add ``(table, key, views, time_ms)`` to rows of any tables and partitions in one
        COUNTER batch (rows of one partition make one mutation, applied whole or not at all).

        Cassandra's cost of a counter write is mostly per request (about 360 us of CPU for a
        one-row statement against 80-130 us per row in a batch of 10-50, measured on the
        development machine; docs/BENCHMARKS.md), so a flush's rows go in few requests. Such a
        batch is not atomic: after it was sent, a failure may have applied part of it, so it
        is reported as an unknown outcome (never written again) unless it was never sent or
        was refused whole. Never retried by the driver.
        """
        if len(rows) == 1:
            table, key, views, time_ms = rows[0]
            await self.increment(table, key, views=views, time_ms=time_ms)
            return
        batch = BatchStatement(batch_type=BatchType.COUNTER, retry_policy=FallthroughRetryPolicy())
        batch.is_idempotent = False
        for table, key, views, time_ms in rows:
            statement = self.prepare(self.increment_cql(table), counter_write=True)
            batch.add(statement, (views, time_ms, *key))
        spans = len({(table, table.partition_of(key)) for table, key, _, _ in rows}) > 1
        try:
            response = self.session.execute_async(batch)
        except Exception as exc:
            raise translate_error(exc, is_write=True, spans_partitions=spans) from exc
        await _as_asyncio(response, is_write=True, spans_partitions=spans)

    # -- reads (one partition each, or a bounded set run concurrently) ----------------------

    async def _point_totals(
        self, table: CounterTable, ids: Iterable[str]
    ) -> dict[str, Totals | None]:
        """Totals per key, read concurrently; ``None`` for a key that was never counted."""
        (column,) = table.key_columns
        cql = f"SELECT views, time_ms FROM {table.name} WHERE {column} = ?"
        unique = list(dict.fromkeys(ids))
        results = await self.read_many(cql, [(key,) for key in unique])
        return {
            key: (_totals(rows[0]) if rows else None)
            for key, rows in zip(unique, results, strict=True)
        }

    async def read_many(
        self, cql: str, params: Sequence[Sequence[Any]], *, concurrency: int | None = None
    ) -> list[Any]:
        """Run one read per parameter tuple, at most ``concurrency`` in flight, results in order.
        The bound keeps one wide GraphQL request from flooding the connection pool."""
        limit = concurrency or READ_CONCURRENCY
        if len(params) == 1:
            return [await self.execute(cql, params[0])]
        if len(params) <= limit:  # the common case: no semaphore round per read
            return list(await asyncio.gather(*(self.execute(cql, values) for values in params)))
        semaphore = asyncio.Semaphore(limit)

        async def _one(values: Sequence[Any]) -> Any:
            async with semaphore:
                return await self.execute(cql, values)

        return list(await asyncio.gather(*(_one(values) for values in params)))

    async def article_totals(self, article_ids: Iterable[str]) -> dict[str, Totals | None]:
        return await self._point_totals(ARTICLE_TOTALS, article_ids)

    async def session_totals(self, session_ids: Iterable[str]) -> dict[str, Totals | None]:
        return await self._point_totals(SESSION_TOTALS, session_ids)

    async def user_totals(self, user_ids: Iterable[str]) -> dict[str, Totals | None]:
        return await self._point_totals(USER_TOTALS, user_ids)

    async def subbuzz_stats(self, article_ids: Iterable[str]) -> dict[str, list[SubbuzzRow]]:
        """Each article's sub-buzz rows in clustering order (position, subbuzz_id): one
        partition per article; an article never counted maps to an empty list."""
        cql = (
            "SELECT position, subbuzz_id, views, time_ms FROM subbuzz_by_position "
            "WHERE article_id = ?"
        )
        unique = list(dict.fromkeys(article_ids))
        results = await self.read_many(cql, [(key,) for key in unique])
        return {
            key: [SubbuzzRow(row.position, row.subbuzz_id, _totals(row)) for row in rows]
            for key, rows in zip(unique, results, strict=True)
        }

    async def hourly_buckets(
        self, partitions: Iterable[tuple[str, date]]
    ) -> dict[tuple[str, date], dict[int, Totals]]:
        """Hour start (epoch ms) -> totals, per (article_id, UTC day) partition."""
        cql = "SELECT hour, views, time_ms FROM article_hourly WHERE article_id = ? AND day = ?"
        unique = list(dict.fromkeys(partitions))
        results = await self.read_many(cql, unique)
        return {
            key: {to_ms(row.hour): _totals(row) for row in rows}
            for key, rows in zip(unique, results, strict=True)
        }

    async def daily_buckets(
        self, partitions: Iterable[tuple[str, date]]
    ) -> dict[tuple[str, date], dict[date, Totals]]:
        """UTC day -> totals, per (article_id, first day of the month) partition."""
        cql = "SELECT day, views, time_ms FROM article_daily WHERE article_id = ? AND month = ?"
        unique = list(dict.fromkeys(partitions))
        results = await self.read_many(cql, unique)
        return {
            key: {_as_date(row.day): _totals(row) for row in rows}
            for key, rows in zip(unique, results, strict=True)
        }

    async def _each_day_shard(
        self, days: Iterable[date], add: Callable[[date, Any], None]
    ) -> list[date]:
        """Reads every ``TOP_SHARDS`` partition of each UTC day of ``top_by_day`` and hands
        each partition's rows to ``add(day, rows)`` as its read returns; returns the days.

        A week is ~100 partitions and tens of thousands of rows: added read by read, with few
        reads in flight, the event loop handles them in small steps and keeps serving requests
        (merged after one ``gather``, a week held the loop for ~110 ms)."""
        cql = "SELECT article_id, views, time_ms FROM top_by_day WHERE day = ? AND shard = ?"
        unique = list(dict.fromkeys(days))
        semaphore = asyncio.Semaphore(WINDOW_READ_CONCURRENCY)

        async def read(day: date, shard: int) -> None:
            async with semaphore:
                rows = await self.execute(cql, (day, shard))
            add(day, rows)

        await asyncio.gather(*(read(day, shard) for day in unique for shard in range(TOP_SHARDS)))
        return unique

    async def day_totals_by_article(self, days: Iterable[date]) -> dict[date, dict[str, Totals]]:
        """Every article counted on each UTC day: all ``TOP_SHARDS`` partitions of the day."""
        merged: dict[date, dict[str, Totals]] = {}

        def add(day: date, rows: Any) -> None:
            into = merged.setdefault(day, {})
            for article_id, views, time_ms in rows:
                into[article_id] = Totals(views or 0, time_ms or 0)

        unique = await self._each_day_shard(days, add)
        return {day: merged.get(day, {}) for day in unique}

    async def window_totals(self, days: Iterable[date]) -> dict[str, Totals]:
        """Each article's totals summed over the given UTC days (every shard of each day)."""
        sums: dict[str, list[int]] = {}

        def add(_day: date, rows: Any) -> None:
            for article_id, views, time_ms in rows:
                seen = sums.get(article_id)
                if seen is None:
                    sums[article_id] = [views or 0, time_ms or 0]
                else:
                    seen[0] += views or 0
                    seen[1] += time_ms or 0

        await self._each_day_shard(days, add)
        return {article_id: Totals(views, time_ms) for article_id, (views, time_ms) in sums.items()}

    async def scan_article_totals(self) -> dict[str, Totals]:
        """A FULL scan of ``article_totals``. Never on a request path: only to seed the
        all-time ranking once, when no snapshot of it exists yet."""
        statement = self.prepare(f"SELECT article_id, views, time_ms FROM {ARTICLE_TOTALS.name}")
        found: dict[str, Totals] = {}
        try:
            response = self.session.execute_async(statement, timeout=None)
        except Exception as exc:
            raise translate_error(exc, is_write=False) from exc
        while True:
            rows = await _as_asyncio(response, is_write=False)
            for row in rows:
                found[row.article_id] = _totals(row)
            if not response.has_more_pages:
                return found
            response.start_fetching_next_page()

    # -- all-time ranking snapshot (a regular table the server keeps; see 003) ---------------

    async def load_ranking_snapshot(self, board: str) -> tuple[datetime | None, dict[str, Totals]]:
        cql = "SELECT article_id, views, time_ms, refreshed_at FROM top_all_time WHERE board = ?"
        rows = await self.execute(cql, (board,))
        refreshed_at: datetime | None = None
        entries: dict[str, Totals] = {}
        for row in rows:
            refreshed_at = row.refreshed_at
            if row.article_id is not None:
                entries[row.article_id] = _totals(row)
        return refreshed_at, entries

    async def save_ranking_snapshot(
        self, board: str, *, refreshed_at: datetime, entries: Mapping[str, Totals]
    ) -> None:
        """Replace the board: a partition delete, then rows written with a later timestamp,
        so a row that left the board does not come back."""
        stamp_us = to_ms(refreshed_at) * 1000
        await self.execute(
            "DELETE FROM top_all_time USING TIMESTAMP ? WHERE board = ?", (stamp_us, board)
        )
        await self.execute(
            "INSERT INTO top_all_time (board, refreshed_at) VALUES (?, ?) USING TIMESTAMP ?",
            (board, refreshed_at, stamp_us + 1),
        )
        await self.read_many(
            "INSERT INTO top_all_time (board, article_id, views, time_ms) VALUES (?, ?, ?, ?) "
            "USING TIMESTAMP ?",
            [
                (board, article_id, totals.views, totals.time_ms, stamp_us + 1)
                for article_id, totals in entries.items()
            ],
        )
