"""Coalescing: one increment per (table, key), and the sums equal the input."""

from __future__ import annotations

from collections import Counter
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from consumer.aggregate import aggregate
from consumer.contract import Event
from cql.buckets import shard_of
from cql.store import (
    ARTICLE_DAILY,
    ARTICLE_HOURLY,
    ARTICLE_TOTALS,
    COUNTER_TABLES,
    SESSION_TOTALS,
    SUBBUZZ_BY_POSITION,
    TOP_BY_DAY,
    USER_TOTALS,
)

DAY_MS = 86_400_000
START_MS = 1_796_256_000_000  # 2026-12-03T00:00:00Z

events = st.builds(
    Event,
    event_id=st.uuids().map(str),
    ts_ms=st.integers(min_value=START_MS - 40 * DAY_MS, max_value=START_MS),
    article_id=st.sampled_from(["a1", "a2", "a3"]),
    subbuzz_id=st.sampled_from(["s1", "s2"]),
    position=st.integers(min_value=0, max_value=3),
    time_ms=st.integers(min_value=0, max_value=3_600_000),
    session_id=st.none() | st.sampled_from(["x", "y"]),
    user_id=st.none() | st.sampled_from(["u", "v"]),
)


@settings(max_examples=300)
@given(st.lists(events, max_size=60))
def test_sums_per_table_equal_the_input(batch: list[Event]) -> None:
    result = aggregate(batch)
    increments = list(result.increments())
    assert result.events == len(batch)
    # One increment per (table, key).
    assert len({(i.table, i.key) for i in increments}) == len(increments)
    views: Counter[str] = Counter()
    time_ms: Counter[str] = Counter()
    for increment in increments:
        assert increment.views > 0
        assert len(increment.key) == len(increment.table.key_columns)
        views[increment.table.name] += increment.views
        time_ms[increment.table.name] += increment.time_ms
    total_time = sum(e.time_ms for e in batch)
    for table in (ARTICLE_TOTALS, ARTICLE_HOURLY, ARTICLE_DAILY, TOP_BY_DAY, SUBBUZZ_BY_POSITION):
        assert views[table.name] == len(batch)
        assert time_ms[table.name] == total_time
    with_session = [e for e in batch if e.session_id is not None]
    with_user = [e for e in batch if e.user_id is not None]
    assert views[SESSION_TOTALS.name] == len(with_session)
    assert time_ms[SESSION_TOTALS.name] == sum(e.time_ms for e in with_session)
    assert views[USER_TOTALS.name] == len(with_user)
    assert time_ms[USER_TOTALS.name] == sum(e.time_ms for e in with_user)
    assert set(views) <= {table.name for table in COUNTER_TABLES}


@settings(max_examples=200)
@given(st.lists(events, min_size=1, max_size=40))
def test_each_key_sums_exactly_its_events(batch: list[Event]) -> None:
    by_key = {(i.table, i.key): (i.views, i.time_ms) for i in aggregate(batch).increments()}
    for article in {e.article_id for e in batch}:
        mine = [e for e in batch if e.article_id == article]
        assert by_key[(ARTICLE_TOTALS, (article,))] == (len(mine), sum(e.time_ms for e in mine))


def test_keys_use_the_shared_buckets() -> None:
    ts = START_MS + 5 * 3_600_000 + 123  # 2026-12-03T05:00:00.123Z
    event = Event("e", ts, "art", "sb", 7, 250, "sess", None)
    keys = {i.table: i.key for i in aggregate([event, event]).increments()}
    day = date(2026, 12, 3)
    assert keys == {
        ARTICLE_TOTALS: ("art",),
        ARTICLE_HOURLY: ("art", day, START_MS + 5 * 3_600_000),
        ARTICLE_DAILY: ("art", date(2026, 12, 1), day),
        TOP_BY_DAY: (day, shard_of("art"), "art"),
        SUBBUZZ_BY_POSITION: ("art", 7, "sb"),
        SESSION_TOTALS: ("sess",),
    }
    assert {(i.views, i.time_ms) for i in aggregate([event, event]).increments()} == {(2, 500)}
