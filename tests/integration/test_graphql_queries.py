"""Every query of the contract against real Cassandra, with counters of known values."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from cql.store import ARTICLE_TOTALS, Store
from schema.ranking import AllTimeBoard
from subbuzz.config import CassandraSettings
from tests.integration.graphql_support import count, error_messages, gql, new_id, running_app

BIG = 2**31 + 12_345  # above a 32-bit int
HUGE = 2**40 + 7


@pytest.fixture(scope="module")
def client(cassandra_settings: CassandraSettings) -> Iterator[TestClient]:
    with running_app(cassandra_settings) as running:
        yield running


def _far_day() -> datetime:
    """A UTC day of its own for a ranking test: top_by_day partitions are shared by articles."""
    return datetime(2001, 1, 1, tzinfo=UTC) + timedelta(days=random.randrange(3000))


async def test_article_totals_are_64_bit_json_numbers(store: Store, client: TestClient) -> None:
    article = new_id("art")
    at = datetime(2024, 2, 3, 4, 5, tzinfo=UTC)
    await count(store, article_id=article, at=at, views=BIG, time_ms=HUGE)
    body = gql(
        client,
        "query($id: ID!) { article(id: $id) { id views timeSpentMs avgTimeMs } }",
        {"id": article},
    )
    assert body == {
        "data": {
            "article": {"id": article, "views": BIG, "timeSpentMs": HUGE, "avgTimeMs": HUGE / BIG}
        }
    }


async def test_unknown_article_is_null_and_articles_keep_order(
    store: Store, client: TestClient
) -> None:
    first, second = new_id("art"), new_id("art")
    at = datetime(2024, 2, 3, 4, tzinfo=UTC)
    await count(store, article_id=first, at=at, views=3, time_ms=300)
    await count(store, article_id=second, at=at, views=5, time_ms=0)
    unknown = new_id("never")
    body = gql(
        client,
        "query($id: ID!, $ids: [ID!]!) { article(id: $id) { id }"
        " articles(ids: $ids) { id views timeSpentMs avgTimeMs } }",
        {"id": unknown, "ids": [second, unknown, first, second]},
    )
    assert "errors" not in body
    assert body["data"]["article"] is None
    assert body["data"]["articles"] == [
        {"id": second, "views": 5, "timeSpentMs": 0, "avgTimeMs": 0.0},
        None,
        {"id": first, "views": 3, "timeSpentMs": 300, "avgTimeMs": 100.0},
        {"id": second, "views": 5, "timeSpentMs": 0, "avgTimeMs": 0.0},
    ]


async def test_subbuzzes_are_ordered_by_position_then_id(store: Store, client: TestClient) -> None:
    article = new_id("art")
    at = datetime(2024, 2, 3, 4, tzinfo=UTC)
    for subbuzz, position, views in (("z", 2, 1), ("b", 1, 4), ("a", 1, BIG), ("m", 0, 2)):
        await count(
            store,
            article_id=article,
            at=at,
            views=views,
            time_ms=views * 10,
            subbuzz_id=subbuzz,
            position=position,
        )
    body = gql(
        client,
        "query($id: ID!) { article(id: $id) { views subbuzzes "
        "{ subbuzzId position views timeSpentMs avgTimeMs } } }",
        {"id": article},
    )
    article_data = body["data"]["article"]
    assert article_data["views"] == BIG + 7
    assert [(s["subbuzzId"], s["position"], s["views"]) for s in article_data["subbuzzes"]] == [
        ("m", 0, 2),
        ("a", 1, BIG),
        ("b", 1, 4),
        ("z", 2, 1),
    ]
    assert all(s["avgTimeMs"] == 10.0 for s in article_data["subbuzzes"])
    assert article_data["subbuzzes"][1]["timeSpentMs"] == BIG * 10


async def test_hourly_series_is_zero_filled_across_days(store: Store, client: TestClient) -> None:
    article = new_id("art")
    await count(
        store, article_id=article, at=datetime(2024, 2, 3, 22, 15, tzinfo=UTC), views=2, time_ms=20
    )
    await count(
        store, article_id=article, at=datetime(2024, 2, 3, 22, 50, tzinfo=UTC), views=1, time_ms=5
    )
    await count(
        store, article_id=article, at=datetime(2024, 2, 4, 1, 0, tzinfo=UTC), views=BIG, time_ms=1
    )
    # Outside the window on both sides:
    await count(
        store, article_id=article, at=datetime(2024, 2, 3, 20, 59, tzinfo=UTC), views=9, time_ms=9
    )
    await count(
        store, article_id=article, at=datetime(2024, 2, 4, 2, 0, tzinfo=UTC), views=9, time_ms=9
    )
    body = gql(
        client,
        "query($id: ID!) { article(id: $id) { series(granularity: HOUR, "
        'since: "2024-02-03T21:30:00Z", until: "2024-02-04T02:00:00Z") '
        "{ start views timeSpentMs } } }",
        {"id": article},
    )
    assert "errors" not in body, body
    assert body["data"]["article"]["series"] == [
        {"start": "2024-02-03T21:00:00Z", "views": 0, "timeSpentMs": 0},
        {"start": "2024-02-03T22:00:00Z", "views": 3, "timeSpentMs": 25},
        {"start": "2024-02-03T23:00:00Z", "views": 0, "timeSpentMs": 0},
        {"start": "2024-02-04T00:00:00Z", "views": 0, "timeSpentMs": 0},
        {"start": "2024-02-04T01:00:00Z", "views": BIG, "timeSpentMs": 1},
    ]


async def test_daily_series_spans_months(store: Store, client: TestClient) -> None:
    article = new_id("art")
    await count(
        store, article_id=article, at=datetime(2024, 1, 31, 23, tzinfo=UTC), views=4, time_ms=40
    )
    await count(
        store, article_id=article, at=datetime(2024, 2, 2, 0, 0, tzinfo=UTC), views=6, time_ms=60
    )
    body = gql(
        client,
        "query($id: ID!) { article(id: $id) { series(granularity: DAY, "
        'since: "2024-01-30T12:00:00+02:00", until: "2024-02-03T00:00:00Z") '
        "{ start views } } }",
        {"id": article},
    )
    assert body["data"]["article"]["series"] == [
        {"start": "2024-01-30T00:00:00Z", "views": 0},
        {"start": "2024-01-31T00:00:00Z", "views": 4},
        {"start": "2024-02-01T00:00:00Z", "views": 0},
        {"start": "2024-02-02T00:00:00Z", "views": 6},
    ]


async def test_default_series_is_the_last_24_hours(store: Store, client: TestClient) -> None:
    article = new_id("art")
    now = datetime.now(UTC)
    await count(store, article_id=article, at=now, views=7, time_ms=70)
    await count(store, article_id=article, at=now - timedelta(hours=3), views=2, time_ms=2)
    body = gql(
        client,
        "query($id: ID!) { article(id: $id) { series { start views } } }",
        {"id": article},
    )
    series = body["data"]["article"]["series"]
    assert len(series) == 24
    current = now.replace(minute=0, second=0, microsecond=0)
    # The hour may have turned between writing and asking.
    if series[-1]["start"] != current.strftime("%Y-%m-%dT%H:00:00Z"):
        current += timedelta(hours=1)
    expected = {
        current.strftime("%Y-%m-%dT%H:00:00Z"): 7,
        (current - timedelta(hours=3)).strftime("%Y-%m-%dT%H:00:00Z"): 2,
    }
    assert {point["start"]: point["views"] for point in series if point["views"]} == {
        start: views for start, views in expected.items() if start >= series[0]["start"]
    }
    assert series[-1]["start"] == current.strftime("%Y-%m-%dT%H:00:00Z")


async def test_top_articles_in_a_window_rank_with_ties_by_id(
    store: Store, client: TestClient
) -> None:
    day = _far_day()
    prefix = new_id("top")
    # Day 1 and day 2 are in the window; day 3 is not.
    values = {
        "c": [(day, 5, 10)],
        "a": [(day, 2, 500), (day + timedelta(days=1), 3, 500)],  # 5 views: ties with c
        "b": [(day + timedelta(days=1, hours=23), BIG, 1)],
        "d": [(day, 1, 1), (day + timedelta(days=2), 1000, 1000)],
    }
    for name, events in values.items():
        for at, views, time_ms in events:
            await count(store, article_id=f"{prefix}-{name}", at=at, views=views, time_ms=time_ms)
    query = (
        "query($since: DateTime, $until: DateTime, $by: ArticleMetric!, $limit: Int!) {"
        " topArticles(by: $by, since: $since, until: $until, limit: $limit)"
        " { rank views timeSpentMs article { id views } } }"
    )
    window = {
        "since": (day + timedelta(hours=13)).isoformat(),  # truncated to the day
        "until": (day + timedelta(days=2, hours=5)).isoformat(),  # truncated: day 3 excluded
    }
    body = gql(client, query, {**window, "by": "VIEWS", "limit": 10})
    ranked = body["data"]["topArticles"]
    assert [(row["rank"], row["article"]["id"][-1], row["views"]) for row in ranked] == [
        (1, "b", BIG),
        (2, "a", 5),
        (3, "c", 5),
        (4, "d", 1),
    ]
    # RankedArticle.views is the window's; article.views is all time.
    assert ranked[3]["article"]["views"] == 1001
    body = gql(client, query, {**window, "by": "TIME_SPENT", "limit": 2})
    assert [row["article"]["id"][-1] for row in body["data"]["topArticles"]] == ["a", "c"]
    assert [row["timeSpentMs"] for row in body["data"]["topArticles"]] == [1000, 10]


async def test_window_cache_serves_a_repeat_within_its_ttl(
    store: Store, cassandra_settings: CassandraSettings
) -> None:
    day = _far_day()
    article = new_id("cached")
    await count(store, article_id=article, at=day, views=1, time_ms=1)
    query = (
        "query($since: DateTime, $until: DateTime)"
        " { topArticles(since: $since, until: $until, limit: 1) { views article { views } } }"
    )
    window = {"since": day.isoformat(), "until": (day + timedelta(days=1)).isoformat()}
    with running_app(cassandra_settings, top_cache_ttl_s=5.0) as cached:
        first = gql(cached, query, window)
        await count(store, article_id=article, at=day, views=1, time_ms=1)
        served = cached.app.state.store  # type: ignore[attr-defined]
        reads: list[str] = []
        for name in ("article_totals", "window_totals"):
            read = getattr(served, name)
            setattr(served, name, _recording(read, name, reads))
        second = gql(cached, query, window)
    # One snapshot: the window's values and the ranked article's all-time totals, read
    # together and served again without a read.
    snapshot = {"data": {"topArticles": [{"views": 1, "article": {"views": 1}}]}}
    assert first == second == snapshot
    assert reads == []


def _recording(
    read: Callable[..., Awaitable[Any]], name: str, reads: list[str]
) -> Callable[..., Awaitable[Any]]:
    async def recorded(*args: Any) -> Any:
        reads.append(name)
        return await read(*args)

    return recorded


async def test_all_time_ranking_follows_new_counts_without_scanning(
    store: Store, client: TestClient
) -> None:
    base = 10**15  # far above anything else the session counts
    prefix = new_id("alltime")
    now = datetime.now(UTC)
    for name, views in (("x", base), ("y", base + 5), ("w", base)):
        await count(store, article_id=f"{prefix}-{name}", at=now, views=views, time_ms=views // 2)
    board: AllTimeBoard = client.app.state.board  # type: ignore[attr-defined]
    assert client.portal is not None
    client.portal.call(board.refresh)
    query = "{ topArticles(limit: 3) { rank views article { id views } } }"
    body = gql(client, query)
    assert [row["article"]["id"][-1] for row in body["data"]["topArticles"]] == ["y", "w", "x"]
    assert body["data"]["topArticles"][0]["views"] == base + 5
    # x is counted again and overtakes y; the refresh reads only what changed.
    await count(store, article_id=f"{prefix}-x", at=now, views=10, time_ms=1)
    scans = []
    original = store.scan_article_totals
    app_store: Store = client.app.state.store  # type: ignore[attr-defined]
    app_store.scan_article_totals = lambda: scans.append(1) or original()  # type: ignore[method-assign]
    try:
        client.portal.call(board.refresh)
    finally:
        del app_store.scan_article_totals
    body = gql(client, query)
    assert [row["article"]["id"][-1] for row in body["data"]["topArticles"]] == ["x", "y", "w"]
    assert body["data"]["topArticles"][0]["views"] == base + 10
    assert scans == []


async def test_all_time_board_restarts_from_its_snapshot(store: Store) -> None:
    first = AllTimeBoard(store, size=100, name="snapshot-test")
    await first.refresh()  # no snapshot yet: seeds with the one full scan, then saves
    assert first.ranking() is not None
    scans: list[int] = []
    original = store.scan_article_totals

    async def counting_scan() -> dict[str, object]:
        scans.append(1)
        return await original()  # type: ignore[return-value]

    store.scan_article_totals = counting_scan  # type: ignore[method-assign]
    try:
        second = AllTimeBoard(store, size=100, name="snapshot-test")
        await second.refresh()
    finally:
        del store.scan_article_totals
    assert scans == []
    assert second.ranking() == first.ranking()


async def test_session_and_user(store: Store, client: TestClient) -> None:
    session, user = new_id("s"), new_id("u")
    at = datetime(2024, 2, 3, tzinfo=UTC)
    await count(store, article_id=new_id("art"), at=at, views=BIG, time_ms=HUGE, session_id=session)
    await count(store, article_id=new_id("art"), at=at, views=4, time_ms=10, user_id=user)
    body = gql(
        client,
        "query($s: ID!, $u: ID!, $x: ID!) {"
        " session(id: $s) { id views timeSpentMs avgTimeMs }"
        " user(id: $u) { id views timeSpentMs avgTimeMs }"
        " unknown: user(id: $x) { id } }",
        {"s": session, "u": user, "x": new_id("nobody")},
    )
    assert body == {
        "data": {
            "session": {"id": session, "views": BIG, "timeSpentMs": HUGE, "avgTimeMs": HUGE / BIG},
            "user": {"id": user, "views": 4, "timeSpentMs": 10, "avgTimeMs": 2.5},
            "unknown": None,
        }
    }


async def test_a_missing_counter_row_is_zero_in_a_series_and_subbuzzes(
    store: Store, client: TestClient
) -> None:
    # Totals exist, nothing else: subbuzzes empty, series all zeros.
    article = new_id("bare")
    await store.increment(ARTICLE_TOTALS, (article,), views=1, time_ms=1)
    body = gql(
        client,
        "query($id: ID!) { article(id: $id) { subbuzzes { position } series(granularity: DAY,"
        ' since: "2024-01-01T00:00:00Z", until: "2024-01-03T00:00:00Z") { views } } }',
        {"id": article},
    )
    assert body["data"]["article"] == {
        "subbuzzes": [],
        "series": [{"views": 0}, {"views": 0}],
    }
    assert error_messages(body) == []


def test_day_helper_is_utc() -> None:
    assert _far_day().tzinfo is UTC and _far_day().date() >= date(2001, 1, 1)


async def test_the_fast_list_path_answers_as_graphql_core_does(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real schema, real data: the server's executor and graphql-core's own give the same
    answer to a dashboard-shaped query (with aliases, a fragment and __typename)."""
    from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

    from schema import execution
    from schema.context import Context
    from schema.ranking import WindowRankings
    from schema.schema import build_schema

    rows_built: list[object] = []
    build_row = execution._row

    def counting(item: Any, columns: Any) -> dict[str, Any]:
        rows_built.append(item)
        return build_row(item, columns)

    monkeypatch.setattr(execution, "_row", counting)

    article = new_id("same")
    now = datetime.now(UTC)
    for index in range(12):
        await count(
            store,
            article_id=article,
            at=now - timedelta(hours=index * 3),
            views=BIG + index,
            time_ms=index * 7,
            subbuzz_id=f"sb-{index % 5}",
            position=index % 5,
        )
    query = (
        "query($id: ID!) { article(id: $id) { id views avgTimeMs"
        " subbuzzes { ...Sub p: position __typename }"
        " series { start views timeSpentMs }"
        ' daily: series(granularity: DAY, since: "2020-01-01T00:00:00Z",'
        ' until: "2020-03-01T00:00:00Z") { start views } } }'
        " fragment Sub on SubbuzzStat { subbuzzId views timeSpentMs avgTimeMs }"
    )
    fast = build_schema()
    stock = build_schema()
    stock.execution_context_class = StrawberryGraphQLCoreExecutionContext
    answers = []
    for schema in (fast, stock):
        context = Context(
            store=store,
            window_rankings=WindowRankings(store, ttl_s=0),
            all_time=AllTimeBoard(store),
            request_id="same",
        )
        result = await schema.execute(query, variable_values={"id": article}, context_value=context)
        assert result.errors is None, result.errors
        answers.append(result.data)
    assert answers[0] == answers[1]
    # 5 sub-buzzes + 24 hourly + 60 daily points, all through the fast path (first run only).
    assert len(rows_built) == 5 + 24 + 60
    assert len(answers[0]["article"]["subbuzzes"]) == 5
    assert len(answers[0]["article"]["daily"]) == 60
