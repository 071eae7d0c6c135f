"""topArticles: windowed rankings behind a short cache, and the all-time board.

Windowed: the day partitions of the window (``TOP_SHARDS`` each) are read and merged, then
ranked; the result is cached for a few seconds, and concurrent misses share one computation.

All time: a counter table cannot be ordered by value, and ranking all time from
``article_totals`` would scan the table. Counters only grow, so the best ``size`` articles of
all time can be kept exactly: after a refresh, an article outside the board can only get in
by being counted again, and every count lands in a ``top_by_day`` partition no older than the
late horizon. A refresh therefore reads the day partitions of the horizon, finds the articles
whose day values changed since the last refresh, re-reads their ``article_totals``, and keeps
the best ``size`` by each metric. The board is saved (``top_all_time``) so a restart does not
need the one full scan that seeds it the very first time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from cql.store import Store, Totals

from .windows import MAX_TOP_LIMIT, ArticleMetric, ranked

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ranking:
    """The best articles by each metric. A window's ranking carries its articles' all-time
    totals as read when it was made: a topArticles answer (rank, window values and
    ``article``) is then one snapshot, and serving it from the cache reads nothing from
    Cassandra. The all-time board's ranking carries none (``all_time`` is empty)."""

    by_metric: dict[ArticleMetric, list[tuple[str, Totals]]]
    all_time: Mapping[str, Totals | None]

    def top(self, metric: ArticleMetric, limit: int) -> list[tuple[str, Totals]]:
        return self.by_metric[metric][:limit]


def _rank_both(
    totals: dict[str, Totals], limit: int
) -> dict[ArticleMetric, list[tuple[str, Totals]]]:
    return {metric: ranked(totals, metric, limit) for metric in ArticleMetric}


# No ranking older than this is ever served: the cache is "short" by the API's contract.
MAX_AGE_S = 5.0


class WindowRankings:
    """Rankings of day windows, fresh for ``ttl_s`` seconds (0 turns the cache off).

    After ``ttl_s`` and until ``MAX_AGE_S``, a request gets the cached ranking at once while
    one background read refreshes it (stale-while-revalidate): reading a week of day shards
    takes a few hundred milliseconds on a large keyspace, and no request should wait for it
    while a ranking a few seconds old is at hand. Concurrent misses share one computation.
    """

    def __init__(
        self, store: Store, *, ttl_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not 0 <= ttl_s <= MAX_AGE_S:
            raise ValueError("the topArticles cache keeps a window at most 5 seconds")
        self._store = store
        self._ttl_s = ttl_s
        self._clock = clock
        self._cache: dict[tuple[date, ...], tuple[float, Ranking]] = {}
        self._pending: dict[tuple[date, ...], asyncio.Future[Ranking]] = {}

    async def ranking(self, days: list[date]) -> Ranking:
        key = tuple(days)
        hit = self._cache.get(key)
        if hit is not None:
            age = self._clock() - hit[0]
            if age < self._ttl_s:
                return hit[1]
            if age < MAX_AGE_S:
                if key not in self._pending:
                    self._start(key, days)
                return hit[1]
        pending = self._pending.get(key)
        if pending is None:
            pending = self._start(key, days)
        return await asyncio.shield(pending)

    def _start(self, key: tuple[date, ...], days: list[date]) -> asyncio.Future[Ranking]:
        """One computation per window at a time: registered before this returns, so every
        request of the same loop tick finds it (a task registering itself would start only
        after they all had looked, and each would read the whole window again)."""
        task = asyncio.ensure_future(self._compute_and_cache(key, days))
        self._pending[key] = task
        task.add_done_callback(self._finished(key))
        return task

    def _finished(self, key: tuple[date, ...]) -> Callable[[asyncio.Future[Ranking]], None]:
        def done(task: asyncio.Future[Ranking]) -> None:
            if self._pending.get(key) is task:
                del self._pending[key]
            if not task.cancelled() and task.exception() is not None:
                log.warning("reading a topArticles window failed: %s", task.exception())

        return done

    async def _compute_and_cache(self, key: tuple[date, ...], days: list[date]) -> Ranking:
        result = await self._compute(days)
        if self._ttl_s > 0:
            self._evict()
            self._cache[key] = (self._clock(), result)
        return result

    async def _compute(self, days: list[date]) -> Ranking:
        by_metric = _rank_both(await self._store.window_totals(days), MAX_TOP_LIMIT)
        ranked_ids = {article_id for entries in by_metric.values() for article_id, _ in entries}
        return Ranking(by_metric, await self._store.article_totals(ranked_ids))

    def _evict(self) -> None:
        now = self._clock()
        for key in [key for key, (at, _) in self._cache.items() if now - at >= MAX_AGE_S]:
            del self._cache[key]


class AllTimeBoard:
    """The best ``size`` articles of all time by each metric, refreshed by ``refresh()``."""

    def __init__(
        self,
        store: Store,
        *,
        size: int = 1000,
        late_horizon: timedelta = timedelta(days=7),
        name: str = "all_time",
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if size < MAX_TOP_LIMIT:
            raise ValueError(f"the all-time board must keep at least {MAX_TOP_LIMIT} articles")
        self._store = store
        self._size = size
        self._horizon = late_horizon
        self._name = name
        self._now = now
        self._entries: dict[str, Totals] = {}
        self._day_seen: dict[tuple[date, str], Totals] = {}
        self._recheck: set[str] = set()
        self._refreshed_at: datetime | None = None
        self._loaded = False
        self._ranking: Ranking | None = None
        self._lock = asyncio.Lock()
        self._ready = asyncio.Event()

    @property
    def ready(self) -> bool:
        return self._ranking is not None

    @property
    def refreshed_at(self) -> datetime | None:
        return self._refreshed_at

    def ranking(self) -> Ranking | None:
        return self._ranking

    async def wait_ready(self, timeout_s: float) -> bool:
        try:
            await asyncio.wait_for(self._ready.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    async def refresh(self) -> None:
        async with self._lock:
            await self._refresh()

    async def _refresh(self) -> None:
        started = self._now()
        if not self._loaded:
            self._refreshed_at, self._entries = await self._store.load_ranking_snapshot(self._name)
            if self._refreshed_at is not None:
                self._refreshed_at = self._refreshed_at.replace(tzinfo=UTC)
            self._loaded = True
        seeding = self._refreshed_at is None
        last = self._refreshed_at or started
        first_day = (min(last, started) - self._horizon).date()
        # Through tomorrow: producers' clocks may run up to 5 minutes ahead.
        last_day = (started + timedelta(days=1)).date()
        days = [first_day + timedelta(days=i) for i in range((last_day - first_day).days + 1)]
        per_day = await self._store.day_totals_by_article(days)
        horizon_start = (started - self._horizon).date()
        seen: dict[tuple[date, str], Totals] = {}
        changed: set[str] = set()
        last_seen = self._day_seen
        for day, articles in per_day.items():
            keep = day >= horizon_start
            for article_id, totals in articles.items():
                key = (day, article_id)
                if last_seen.get(key) != totals:
                    changed.add(article_id)
                if keep:
                    seen[key] = totals
            # A day at a time: the horizon holds ~10^5 entries on a large site, and the
            # requests this process serves should not wait for all of them at once.
            await asyncio.sleep(0)
        if seeding:
            # Never ranked before: the one full scan, read after the day partitions above so
            # nothing counted in between is missed.
            log.warning("no all-time ranking snapshot: seeding it with a full scan")
            candidates = await self._store.scan_article_totals()
        else:
            fresh = await self._store.article_totals(changed | self._recheck)
            candidates = dict(self._entries)
            candidates.update({key: value for key, value in fresh.items() if value is not None})
        self._entries = _keep_best(candidates, self._size)
        self._day_seen = seen
        # A consumer may write a day row before the article's total: look once more next time.
        self._recheck = changed
        self._refreshed_at = started
        # No all-time totals ride along: the board is refreshed far less often than a window,
        # so a ranked article's totals are read live.
        self._ranking = Ranking(_rank_both(self._entries, MAX_TOP_LIMIT), {})
        self._ready.set()
        if changed or seeding:
            await self._store.save_ranking_snapshot(
                self._name, refreshed_at=started, entries=self._entries
            )
        log.info(
            "all-time ranking refreshed: %d days read, %d articles changed, board of %d",
            len(days),
            len(changed),
            len(self._entries),
        )

    async def run(
        self, every_s: float, *, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    ) -> None:
        """Refresh now and then every ``every_s``; a failed refresh keeps the last board."""
        while True:
            try:
                await self.refresh()
            except Exception as exc:
                log.warning("all-time ranking refresh failed (%s); keeping the last one", exc)
            await sleep(every_s)


def _keep_best(candidates: dict[str, Totals], size: int) -> dict[str, Totals]:
    keep: set[str] = set()
    for metric in ArticleMetric:
        keep.update(article_id for article_id, _ in ranked(candidates, metric, size))
    return {article_id: candidates[article_id] for article_id in keep}
