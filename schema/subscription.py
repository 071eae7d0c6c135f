"""The root ``Subscription``: live ``topArticles`` and ``article`` for panels
(``graphql-transport-ws``).

Counters change in Cassandra, not in this process, so a stream re-reads: every
``POLL_INTERVAL_S`` it reads through the same functions as ``Query``, with fresh DataLoaders,
and yields only when what it read differs from what it last yielded. The values it compares
are loaded through the loaders the nested fields then use, so a yield costs no second read.

A consumer's flush writes the tables one by one: the stream yields once more on the tick after
a change, so rows written a moment after the ones it compares are shown too.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Hashable

import strawberry

from .context import Context
from .loaders import Loaders
from .query import read_article, read_top_articles
from .types import Article, DateTime, RankedArticle
from .windows import ArticleMetric

POLL_INTERVAL_S = 0.5
"""With the topArticles window cache (SUBBUZZ_TOP_CACHE_TTL_S, 2 s by default) a new count is
shown within the cache's age plus this interval."""


def _fresh_reads(context: Context) -> None:
    # A subscription's context lives as long as its connection; its loaders would cache the
    # first values for ever. Each tick starts with empty ones.
    context.loaders = Loaders(context.store)


class _Changes:
    """Tells whether a fingerprint differs from the last one, and asks for one more yield on
    the tick after a change."""

    def __init__(self) -> None:
        self._last: Hashable = object()
        self._settle = False

    def should_yield(self, fingerprint: Hashable) -> bool:
        changed = fingerprint != self._last
        self._last = fingerprint
        if changed:
            self._settle = True
            return True
        if self._settle:
            self._settle = False
            return True
        return False


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description=(
            "topArticles, live: the current ranking at once, then again whenever a rank, a "
            "window value or an article's total changes. Arguments as in Query.topArticles."
        )
    )
    async def top_articles(
        self,
        info: strawberry.Info[Context],
        by: ArticleMetric = ArticleMetric.VIEWS,
        since: DateTime | None = None,
        until: DateTime | None = None,
        limit: int = 10,
    ) -> AsyncGenerator[list[RankedArticle], None]:
        context = info.context
        changes = _Changes()
        while True:
            _fresh_reads(context)
            ranking = await read_top_articles(context, by=by, since=since, until=until, limit=limit)
            fingerprint = tuple(
                (entry.article.id, entry.window, entry.article.totals) for entry in ranking
            )
            if changes.should_yield(fingerprint):
                yield ranking
            await asyncio.sleep(POLL_INTERVAL_S)

    @strawberry.subscription(
        description=(
            "article(id), live: the article at once (null until something is counted), then "
            "again whenever its totals or sub-buzzes change."
        )
    )
    async def article(
        self, info: strawberry.Info[Context], id: strawberry.ID
    ) -> AsyncGenerator[Article | None, None]:
        context = info.context
        changes = _Changes()
        while True:
            _fresh_reads(context)
            found = await read_article(context, id)
            rows = await context.loaders.subbuzzes.load(id) if found is not None else []
            fingerprint = (None if found is None else found.totals, tuple(rows))
            if changes.should_yield(fingerprint):
                yield found
            await asyncio.sleep(POLL_INTERVAL_S)
