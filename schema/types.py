"""GraphQL types and scalars of the v1 contract."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

from cql.buckets import to_datetime
from cql.store import SubbuzzRow, Totals

from .context import Context
from .windows import (
    ArticleMetric,
    Granularity,
    as_utc,
    series_window,
    zero_filled,
)

BigInt = NewType("BigInt", int)
DateTime = NewType("DateTime", datetime)


def _serialize_bigint(value: Any) -> int:
    return int(value)


def _parse_bigint(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"BigInt expects an integer, got {value!r}")
    number = int(value)
    if not -(2**63) <= number < 2**63:
        raise ValueError("BigInt is a signed 64-bit integer")
    return number


def _serialize_datetime(value: datetime) -> str:
    text = as_utc(value).isoformat()
    return text[: -len("+00:00")] + "Z" if text.endswith("+00:00") else text


def _parse_datetime(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"DateTime expects an ISO-8601 string, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"DateTime expects ISO-8601 such as 2024-05-01T00:00:00Z, got {value!r}"
        ) from None
    return as_utc(parsed)


SCALARS: dict[object, ScalarDefinition] = {
    BigInt: strawberry.scalar(
        name="BigInt",
        description="A signed 64-bit integer, serialised as a JSON number.",
        serialize=_serialize_bigint,
        parse_value=_parse_bigint,
    ),
    DateTime: strawberry.scalar(
        name="DateTime",
        description="An ISO-8601 date and time in UTC (an input without offset is UTC).",
        serialize=_serialize_datetime,
        parse_value=_parse_datetime,
    ),
}

# The enums live in the pure module; registering them here keeps that module free of GraphQL.
strawberry.enum(Granularity, name="Granularity")
strawberry.enum(ArticleMetric, name="ArticleMetric")


def _average(totals: Totals) -> float:
    return totals.time_ms / totals.views if totals.views else 0.0


def _totals_fields(totals: Totals) -> dict[str, Any]:
    """views, time_spent_ms and avg_time_ms, as the types that show totals spell them."""
    return {
        "views": BigInt(totals.views),
        "time_spent_ms": BigInt(totals.time_ms),
        "avg_time_ms": _average(totals),
    }


@strawberry.type(description="Views and time spent of one session or one user.")
class Engagement:
    # Plain fields, filled by ``of``: a field without a resolver is the cheapest to execute.
    id: strawberry.ID
    views: BigInt
    time_spent_ms: BigInt
    avg_time_ms: float = strawberry.field(description="timeSpentMs / views; 0 when views is 0.")

    @classmethod
    def of(cls, id: str, totals: Totals) -> Engagement:
        return cls(id=strawberry.ID(id), **_totals_fields(totals))


@strawberry.type(description="One sub-buzz of an article.")
class SubbuzzStat:
    # Plain fields, not resolvers: an article has many sub-buzzes and each resolver call costs.
    subbuzz_id: strawberry.ID
    position: int
    views: BigInt
    time_spent_ms: BigInt
    avg_time_ms: float = strawberry.field(description="timeSpentMs / views; 0 when views is 0.")

    @classmethod
    def of(cls, row: SubbuzzRow) -> SubbuzzStat:
        return cls(
            subbuzz_id=strawberry.ID(row.subbuzz_id),
            position=row.position,
            **_totals_fields(row.totals),
        )


@strawberry.type(description="One time bucket of a series; start is the bucket's UTC start.")
class Point:
    start: DateTime
    views: BigInt
    time_spent_ms: BigInt


@strawberry.type(description="An article's all-time engagement.")
class Article:
    # Totals are plain fields, filled by ``of``; sub-buzzes and series are read when asked.
    id: strawberry.ID
    views: BigInt = strawberry.field(description="Sub-buzz views counted in this article.")
    time_spent_ms: BigInt
    avg_time_ms: float = strawberry.field(description="timeSpentMs / views; 0 when views is 0.")
    totals: strawberry.Private[Totals]

    @classmethod
    def of(cls, id: str, totals: Totals) -> Article:
        return cls(id=strawberry.ID(id), totals=totals, **_totals_fields(totals))

    @strawberry.field(description="Ordered by position, then subbuzzId.")
    async def subbuzzes(self, info: strawberry.Info[Context]) -> list[SubbuzzStat]:
        rows = await info.context.loaders.subbuzzes.load(self.id)
        return [SubbuzzStat.of(row) for row in rows]

    @strawberry.field(
        description=(
            "Buckets whose UTC start is in [since, until), since truncated to the bucket; "
            "zero-filled. Defaults: the last 24 hours (HOUR) or 30 days (DAY), the current "
            "bucket included. At most 744 hourly or 366 daily points."
        )
    )
    async def series(
        self,
        info: strawberry.Info[Context],
        granularity: Granularity = Granularity.HOUR,
        since: DateTime | None = None,
        until: DateTime | None = None,
    ) -> list[Point]:
        window = series_window(granularity, since, until, now=info.context.now())
        loaders = info.context.loaders
        values: dict[datetime, Totals] = {}
        if window.granularity is Granularity.HOUR:
            for buckets in await loaders.hourly.load_many(window.hour_partitions(self.id)):
                values.update((to_datetime(ms), totals) for ms, totals in buckets.items())
        else:
            for days in await loaders.daily.load_many(window.month_partitions(self.id)):
                values.update(
                    (as_utc(datetime(day.year, day.month, day.day)), totals)
                    for day, totals in days.items()
                )
        return [
            Point(
                start=DateTime(start),
                views=BigInt(totals.views),
                time_spent_ms=BigInt(totals.time_ms),
            )
            for start, totals in zero_filled(window.starts, values)
        ]


@strawberry.type(
    description="An article's place in a ranking; views and timeSpentMs are the window's."
)
class RankedArticle:
    rank: int
    article: Article = strawberry.field(
        description=(
            "The article with its all-time totals; in a since/until ranking, read together "
            "with the ranking (at most 5 s ago)."
        )
    )
    views: BigInt
    time_spent_ms: BigInt
    window: strawberry.Private[Totals]

    @classmethod
    def of(cls, rank: int, article_id: str, window: Totals, all_time: Totals) -> RankedArticle:
        return cls(
            rank=rank,
            article=Article.of(article_id, all_time),
            views=BigInt(window.views),
            time_spent_ms=BigInt(window.time_ms),
            window=window,
        )
