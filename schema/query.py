"""The root ``Query`` of the v1 contract."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import strawberry
from strawberry.types.nodes import SelectedField

from cql.store import ZERO

from .context import Context
from .types import Article, DateTime, Engagement, RankedArticle
from .windows import (
    ArticleMetric,
    BadArgument,
    Granularity,
    check_id,
    check_ids,
    check_limit,
    series_window,
    top_days,
)


async def read_article(context: Context, id: strawberry.ID) -> Article | None:
    """``article(id)``; the live ``article`` stream reads through here too."""
    check_id("article", id)
    totals = await context.loaders.article_totals.load(id)
    return None if totals is None else Article.of(id, totals)


def prefetch_article_parts(info: strawberry.Info[Context], article_id: str) -> None:
    """Starts the sub-buzz and default-series reads that the selection asks for now, in the
    same round trip as the totals, rather than one round trip later when their resolvers run:
    they load through the request's DataLoaders, which the resolvers then find filled.

    Only plain selections are looked at (not fragments) and only a series without
    arguments (the dashboard's last 24 hours); anything else is read when resolved."""
    loaders = info.context.loaders
    for field in info.selected_fields:
        for selection in field.selections:
            if not isinstance(selection, SelectedField) or selection.directives:
                continue
            if selection.name == "subbuzzes":
                _quietly(loaders.subbuzzes.load(article_id))
            elif selection.name == "series" and not selection.arguments:
                window = series_window(Granularity.HOUR, None, None, now=info.context.now())
                _quietly(loaders.hourly.load_many(window.hour_partitions(article_id)))


def _quietly(read: Awaitable[Any]) -> None:
    """A prefetch nobody awaits (the article turned out unknown) must not log a failure that
    the resolvers, had they run, would have reported."""
    future = asyncio.ensure_future(read)
    future.add_done_callback(lambda done: done.cancelled() or done.exception())


async def read_top_articles(
    context: Context,
    *,
    by: ArticleMetric,
    since: DateTime | None,
    until: DateTime | None,
    limit: int,
) -> list[RankedArticle]:
    """``topArticles``; the live ``topArticles`` stream reads through here too."""
    check_limit(limit)
    days = top_days(since, until, now=context.now())
    if days is None:
        ranking = context.all_time.ranking()
        if ranking is None:
            raise BadArgument(
                "topArticles: the all-time ranking is still being built; retry shortly "
                "or pass since/until"
            )
    else:
        ranking = await context.window_rankings.ranking(days)
    entries = ranking.top(by, limit)
    # A window's ranking brings its articles' all-time totals (one snapshot, no reads); the
    # all-time board's are read now, in one batch.
    all_time = ranking.all_time
    missing = [article_id for article_id, _ in entries if article_id not in all_time]
    loaded = dict(
        zip(missing, await context.loaders.article_totals.load_many(missing), strict=True)
    )
    return [
        RankedArticle.of(
            index + 1,
            article_id,
            window,
            all_time.get(article_id) or loaded.get(article_id) or ZERO,
        )
        for index, (article_id, window) in enumerate(entries)
    ]


@strawberry.type
class Query:
    @strawberry.field(description="Null when nothing was ever counted for the article.")
    async def article(self, info: strawberry.Info[Context], id: strawberry.ID) -> Article | None:
        check_id("article", id)
        prefetch_article_parts(info, id)
        return await read_article(info.context, id)

    @strawberry.field(description="At most 100 ids; order kept; null for an unknown id.")
    async def articles(
        self, info: strawberry.Info[Context], ids: list[strawberry.ID]
    ) -> list[Article | None]:
        check_ids(ids)
        found = await info.context.loaders.article_totals.load_many(ids)
        return [
            None if totals is None else Article.of(article_id, totals)
            for article_id, totals in zip(ids, found, strict=True)
        ]

    @strawberry.field(
        description=(
            "Ranks by the values counted on the UTC days in [since, until) (both truncated to "
            "days; at most 93 days); no bounds ranks all time. Ties break by article id. "
            "limit is 1 to 100."
        )
    )
    async def top_articles(
        self,
        info: strawberry.Info[Context],
        by: ArticleMetric = ArticleMetric.VIEWS,
        since: DateTime | None = None,
        until: DateTime | None = None,
        limit: int = 10,
    ) -> list[RankedArticle]:
        return await read_top_articles(info.context, by=by, since=since, until=until, limit=limit)

    @strawberry.field(description="Null when nothing was ever counted for the session.")
    async def session(self, info: strawberry.Info[Context], id: strawberry.ID) -> Engagement | None:
        check_id("session", id)
        totals = await info.context.loaders.session_totals.load(id)
        return None if totals is None else Engagement.of(id, totals)

    @strawberry.field(description="Null when nothing was ever counted for the user.")
    async def user(self, info: strawberry.Info[Context], id: strawberry.ID) -> Engagement | None:
        check_id("user", id)
        totals = await info.context.loaders.user_totals.load(id)
        return None if totals is None else Engagement.of(id, totals)
