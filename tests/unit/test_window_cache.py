"""The topArticles window cache: fresh within its TTL, stale-while-revalidate up to 5 s."""

import asyncio
from datetime import date
from typing import Any, cast

from cql.store import Store, Totals
from schema.ranking import MAX_AGE_S, WindowRankings
from schema.windows import ArticleMetric

DAY = date(2026, 12, 3)


class _DayTotals:
    """Plain data standing in for the store's one read: each call returns the next views."""

    def __init__(self) -> None:
        self.calls = 0

    async def window_totals(self, days: list[date]) -> dict[str, Totals]:
        self.calls += 1
        await asyncio.sleep(0)
        return {"a": Totals(views=self.calls, time_ms=0)}

    async def article_totals(self, article_ids: Any) -> dict[str, Totals | None]:
        return {article_id: Totals(views=self.calls, time_ms=0) for article_id in article_ids}


def _views(ranking: Any) -> int:
    return int(ranking.top(ArticleMetric.VIEWS, 1)[0][1].views)


async def test_fresh_then_stale_while_refreshing_then_too_old() -> None:
    now = [0.0]
    source = _DayTotals()
    cache = WindowRankings(cast(Store, source), ttl_s=2.0, clock=lambda: now[0])

    assert _views(await cache.ranking([DAY])) == 1
    now[0] = 1.9
    assert _views(await cache.ranking([DAY])) == 1
    assert source.calls == 1  # fresh: no read

    now[0] = 3.0  # stale but young enough: answered at once, refreshed behind
    assert _views(await cache.ranking([DAY])) == 1
    for _ in range(5):
        await asyncio.sleep(0)
    assert source.calls == 2
    assert _views(await cache.ranking([DAY])) == 2  # the refreshed ranking, cached at 3.0

    now[0] = 3.0 + MAX_AGE_S  # too old to serve: the request waits for a new read
    assert _views(await cache.ranking([DAY])) == 3
    assert source.calls == 3


async def test_ttl_zero_reads_every_time() -> None:
    source = _DayTotals()
    cache = WindowRankings(cast(Store, source), ttl_s=0)
    for expected in (1, 2, 3):
        assert _views(await cache.ranking([DAY])) == expected


async def test_requests_of_one_tick_share_one_read() -> None:
    now = [0.0]
    source = _DayTotals()
    cache = WindowRankings(cast(Store, source), ttl_s=2.0, clock=lambda: now[0])
    first = await asyncio.gather(*(cache.ranking([DAY]) for _ in range(50)))
    assert source.calls == 1 and {_views(r) for r in first} == {1}
    now[0] = 3.0  # stale: 50 requests in one tick start one refresh between them
    stale = await asyncio.gather(*(cache.ranking([DAY]) for _ in range(50)))
    for _ in range(5):
        await asyncio.sleep(0)
    assert {_views(r) for r in stale} == {1}
    assert source.calls == 2
