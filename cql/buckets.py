"""Pure time-bucket and shard arithmetic shared by the writer (consumer) and the readers (schema).

All buckets are UTC. Keeping these in one place is what makes a written row findable.
"""

from __future__ import annotations

import zlib
from datetime import UTC, date, datetime, timedelta

TOP_SHARDS = 16
"""Shards per day partition of ``top_by_day``. Changing it orphans rows already written."""

_MS_PER_HOUR = 3_600_000
_MS_PER_DAY = 86_400_000
EPOCH = date(1970, 1, 1)


def shard_of(article_id: str) -> int:
    """Stable shard of an article (crc32, not Python's salted ``hash``)."""
    return zlib.crc32(article_id.encode("utf-8")) % TOP_SHARDS


def hour_start_ms(ts_ms: int) -> int:
    return ts_ms - ts_ms % _MS_PER_HOUR


def day_of(ts_ms: int) -> date:
    return EPOCH + timedelta(days=ts_ms // _MS_PER_DAY)


def month_of(day: date) -> date:
    return day.replace(day=1)


def to_datetime(ts_ms: int) -> datetime:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC)


def to_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def days_between(start: date, end: date) -> list[date]:
    """Days in [start, end)."""
    return [start + timedelta(days=i) for i in range((end - start).days)]


def months_between(start: date, end: date) -> list[date]:
    """First days of the months that overlap [start, end)."""
    months: list[date] = []
    current = month_of(start)
    while current < end:
        months.append(current)
        current = (current.replace(day=28) + timedelta(days=4)).replace(day=1)
    return months
