"""Pure window and ranking arithmetic behind series and topArticles."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from cql.store import ZERO, Totals
from schema.windows import (
    ArticleMetric,
    BadArgument,
    Granularity,
    check_ids,
    check_limit,
    ranked,
    series_window,
    top_days,
    zero_filled,
)

NOW = datetime(2024, 3, 10, 14, 25, 7, tzinfo=UTC)


def test_default_hourly_series_is_the_last_24_hours_with_the_current_one() -> None:
    window = series_window(Granularity.HOUR, None, None, now=NOW)
    assert len(window.starts) == 24
    assert window.starts[-1] == datetime(2024, 3, 10, 14, tzinfo=UTC)
    assert window.starts[0] == datetime(2024, 3, 9, 15, tzinfo=UTC)
    assert window.hour_partitions("a") == [("a", date(2024, 3, 9)), ("a", date(2024, 3, 10))]


def test_default_daily_series_is_the_last_30_days_with_today() -> None:
    window = series_window(Granularity.DAY, None, None, now=NOW)
    assert len(window.starts) == 30
    assert window.starts[-1] == datetime(2024, 3, 10, tzinfo=UTC)
    assert window.starts[0] == datetime(2024, 2, 10, tzinfo=UTC)
    assert window.month_partitions("a") == [("a", date(2024, 2, 1)), ("a", date(2024, 3, 1))]


def test_since_is_truncated_to_the_bucket_and_until_is_exclusive() -> None:
    since = datetime(2024, 3, 10, 10, 30, tzinfo=UTC)
    until = datetime(2024, 3, 10, 13, 0, tzinfo=UTC)
    window = series_window(Granularity.HOUR, since, until, now=NOW)
    assert [start.hour for start in window.starts] == [10, 11, 12]


def test_a_partial_last_bucket_counts() -> None:
    since = datetime(2024, 3, 10, 10, tzinfo=UTC)
    until = datetime(2024, 3, 10, 12, 1, tzinfo=UTC)
    assert len(series_window(Granularity.HOUR, since, until, now=NOW).starts) == 3


def test_offsets_are_converted_to_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    since = datetime(2024, 3, 10, 12, tzinfo=plus_two)  # 10:00 UTC
    until = datetime(2024, 3, 10, 14, tzinfo=plus_two)
    window = series_window(Granularity.HOUR, since, until, now=NOW)
    assert window.starts == (
        datetime(2024, 3, 10, 10, tzinfo=UTC),
        datetime(2024, 3, 10, 11, tzinfo=UTC),
    )


def test_point_caps_are_744_hours_and_366_days() -> None:
    since = datetime(2024, 1, 1, tzinfo=UTC)
    assert (
        len(series_window(Granularity.HOUR, since, since + timedelta(hours=744), now=NOW).starts)
        == 744
    )
    with pytest.raises(BadArgument, match="745 hour points requested, at most 744"):
        series_window(Granularity.HOUR, since, since + timedelta(hours=745), now=NOW)
    assert (
        len(series_window(Granularity.DAY, since, since + timedelta(days=366), now=NOW).starts)
        == 366
    )
    with pytest.raises(BadArgument, match="at most 366"):
        series_window(Granularity.DAY, since, since + timedelta(days=367), now=NOW)


def test_since_not_before_until_is_refused() -> None:
    with pytest.raises(BadArgument, match="must be before until"):
        series_window(Granularity.HOUR, NOW, NOW - timedelta(hours=1), now=NOW)
    with pytest.raises(BadArgument, match="must be before until"):
        series_window(Granularity.HOUR, NOW, NOW.replace(minute=0), now=NOW)


def test_zero_filled_keeps_every_bucket_in_order() -> None:
    starts = [datetime(2024, 3, 10, hour, tzinfo=UTC) for hour in range(4)]
    values = {starts[2]: Totals(5, 50)}
    assert zero_filled(starts, values) == [
        (starts[0], ZERO),
        (starts[1], ZERO),
        (starts[2], Totals(5, 50)),
        (starts[3], ZERO),
    ]


def test_top_days_truncate_both_bounds_to_utc_days() -> None:
    days = top_days(
        datetime(2024, 3, 1, 23, 59, tzinfo=UTC), datetime(2024, 3, 3, 0, 1, tzinfo=UTC), now=NOW
    )
    assert days == [date(2024, 3, 1), date(2024, 3, 2)]


def test_top_days_without_until_run_through_today_and_none_means_all_time() -> None:
    assert top_days(datetime(2024, 3, 9, tzinfo=UTC), None, now=NOW) == [
        date(2024, 3, 9),
        date(2024, 3, 10),
    ]
    assert top_days(None, None, now=NOW) is None


def test_top_days_refuse_empty_long_and_open_start_windows() -> None:
    with pytest.raises(BadArgument, match="is empty"):
        top_days(datetime(2024, 3, 1, 1, tzinfo=UTC), datetime(2024, 3, 1, 20, tzinfo=UTC), now=NOW)
    with pytest.raises(BadArgument, match="at most 93"):
        top_days(datetime(2023, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC), now=NOW)
    with pytest.raises(BadArgument, match="until needs since"):
        top_days(None, NOW, now=NOW)


def test_ranking_breaks_ties_by_article_id() -> None:
    totals = {"c": Totals(5, 1), "a": Totals(5, 9), "b": Totals(7, 2), "d": Totals(1, 100)}
    assert [key for key, _ in ranked(totals, ArticleMetric.VIEWS, 3)] == ["b", "a", "c"]
    assert [key for key, _ in ranked(totals, ArticleMetric.TIME_SPENT, 2)] == ["d", "a"]


def test_limits_on_limit_and_ids() -> None:
    assert check_limit(1) == 1 and check_limit(100) == 100
    for bad in (0, -1, 101):
        with pytest.raises(BadArgument, match="between 1 and 100"):
            check_limit(bad)
    with pytest.raises(BadArgument, match="at most 100 ids"):
        check_ids([str(index) for index in range(101)])
    with pytest.raises(BadArgument, match="1 to 128 characters"):
        check_ids(["x" * 129])
