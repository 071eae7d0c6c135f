from datetime import UTC, date, datetime

from cql import buckets


def test_hour_and_day_are_utc() -> None:
    moment = datetime(2026, 12, 3, 23, 59, 59, 999000, tzinfo=UTC)
    ms = buckets.to_ms(moment)
    assert buckets.to_datetime(buckets.hour_start_ms(ms)) == datetime(2026, 12, 3, 23, tzinfo=UTC)
    assert buckets.day_of(ms) == date(2026, 12, 3)
    assert buckets.day_of(ms + 1) == date(2026, 12, 4)
    assert buckets.month_of(date(2026, 12, 3)) == date(2026, 12, 1)


def test_shard_is_stable_and_in_range() -> None:
    # crc32 is fixed across processes and Python versions, unlike hash().
    assert buckets.shard_of("article-1") == buckets.shard_of("article-1")
    assert {buckets.shard_of(f"a{i}") for i in range(1000)} == set(range(buckets.TOP_SHARDS))


def test_ranges_are_half_open() -> None:
    assert buckets.days_between(date(2026, 2, 27), date(2026, 3, 2)) == [
        date(2026, 2, 27),
        date(2026, 2, 28),
        date(2026, 3, 1),
    ]
    assert buckets.months_between(date(2026, 11, 15), date(2027, 1, 1)) == [
        date(2026, 11, 1),
        date(2026, 12, 1),
    ]
    assert buckets.months_between(date(2026, 12, 1), date(2026, 12, 1)) == []
