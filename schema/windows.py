"""Pure time-window and ranking arithmetic behind the resolvers: no Cassandra in sight.

Every window is UTC. ``series`` buckets are the hours (or days) whose start lies in
[since truncated to the bucket, until); ``topArticles`` windows are the UTC days in
[since truncated to the day, until truncated to the day).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import Enum

from cql.buckets import days_between, months_between
from cql.store import ZERO, Totals

MAX_HOURLY_POINTS = 744
MAX_DAILY_POINTS = 366
MAX_TOP_DAYS = 93
"""A windowed topArticles reads TOP_SHARDS partitions per day: keep the fan-out bounded."""
MAX_TOP_LIMIT = 100
MAX_ARTICLE_IDS = 100
MAX_ID_LENGTH = 128

_HOUR = timedelta(hours=1)
_DAY = timedelta(days=1)


class BadArgument(Exception):
    """A client's argument cannot be answered; the message is shown to the client as is."""

    extensions = {"code": "BAD_USER_INPUT"}  # graphql-core copies these into the error


class Granularity(Enum):
    HOUR = "HOUR"
    DAY = "DAY"


class ArticleMetric(Enum):
    VIEWS = "VIEWS"
    TIME_SPENT = "TIME_SPENT"


def as_utc(moment: datetime) -> datetime:
    """Aware UTC; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def floor_hour(moment: datetime) -> datetime:
    return as_utc(moment).replace(minute=0, second=0, microsecond=0)


def floor_day(moment: datetime) -> datetime:
    return as_utc(moment).replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class SeriesWindow:
    granularity: Granularity
    starts: tuple[datetime, ...]
    """Bucket starts, oldest first, UTC."""

    def hour_partitions(self, article_id: str) -> list[tuple[str, date]]:
        return [(article_id, day) for day in dict.fromkeys(start.date() for start in self.starts)]

    def month_partitions(self, article_id: str) -> list[tuple[str, date]]:
        if not self.starts:
            return []
        first, last = self.starts[0].date(), self.starts[-1].date()
        return [(article_id, month) for month in months_between(first, last + _DAY)]


def series_window(
    granularity: Granularity,
    since: datetime | None,
    until: datetime | None,
    *,
    now: datetime,
) -> SeriesWindow:
    """The buckets of ``article.series``. Defaults: the last 24 hours (HOUR) or 30 days (DAY),
    the current, partial bucket included."""
    if granularity is Granularity.HOUR:
        step, floor, default_span, cap = _HOUR, floor_hour, timedelta(hours=24), MAX_HOURLY_POINTS
    else:
        step, floor, default_span, cap = _DAY, floor_day, timedelta(days=30), MAX_DAILY_POINTS
    end = as_utc(until) if until is not None else floor(now) + step
    start = floor(since) if since is not None else floor(end - default_span)
    if start >= end or (since is not None and as_utc(since) >= end):
        shown = _iso(since) if since is not None else _iso(start)
        raise BadArgument(f"series: since ({shown}) must be before until ({_iso(end)})")
    count = -(-(end - start) // step)  # ceil: a partial last bucket still counts
    if count > cap:
        raise BadArgument(
            f"series: {count} {granularity.value.lower()} points requested, at most {cap} "
            f"are allowed; narrow since/until or use a coarser granularity"
        )
    return SeriesWindow(granularity, tuple(start + step * index for index in range(count)))


def zero_filled(
    starts: Iterable[datetime], values: Mapping[datetime, Totals]
) -> list[tuple[datetime, Totals]]:
    """One point per bucket start, ZERO where nothing was counted."""
    return [(start, values.get(start, ZERO)) for start in starts]


def top_days(since: datetime | None, until: datetime | None, *, now: datetime) -> list[date] | None:
    """The UTC days of a topArticles window, or ``None`` for all time (no bounds)."""
    if since is None and until is None:
        return None
    if since is None:
        raise BadArgument(
            "topArticles: until needs since (a window of days); omit both to rank all time"
        )
    first = as_utc(since).date()
    end = as_utc(until).date() if until is not None else as_utc(now).date() + _DAY
    if first >= end:
        raise BadArgument(
            f"topArticles: the window [{first.isoformat()}, {end.isoformat()}) is empty; "
            "since and until are truncated to UTC days and since must be the earlier day"
        )
    days = days_between(first, end)
    if len(days) > MAX_TOP_DAYS:
        raise BadArgument(
            f"topArticles: a window of {len(days)} days is too long (at most {MAX_TOP_DAYS}); "
            "omit since and until to rank all time"
        )
    return days


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_TOP_LIMIT:
        raise BadArgument(f"topArticles: limit must be between 1 and {MAX_TOP_LIMIT}, got {limit}")
    return limit


def check_id(kind: str, value: str) -> str:
    if not 1 <= len(value) <= MAX_ID_LENGTH:
        raise BadArgument(f"{kind}: an id has 1 to {MAX_ID_LENGTH} characters")
    return value


def check_ids(values: Sequence[str]) -> Sequence[str]:
    if len(values) > MAX_ARTICLE_IDS:
        raise BadArgument(f"articles: at most {MAX_ARTICLE_IDS} ids per request, got {len(values)}")
    for value in values:
        check_id("articles", value)
    return values


def metric_value(totals: Totals, metric: ArticleMetric) -> int:
    return totals.views if metric is ArticleMetric.VIEWS else totals.time_ms


def ranked(
    totals: Mapping[str, Totals], metric: ArticleMetric, limit: int
) -> list[tuple[str, Totals]]:
    """The ``limit`` best by ``metric``, highest first; ties broken by article id (ascending)."""
    return heapq.nsmallest(
        limit, totals.items(), key=lambda item: (-metric_value(item[1], metric), item[0])
    )


def _iso(moment: datetime) -> str:
    return as_utc(moment).isoformat().replace("+00:00", "Z")
