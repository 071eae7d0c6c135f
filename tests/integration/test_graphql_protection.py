"""Limits, auth, production mode, CORS, metrics, health and DataLoader batching, on the real app
(lifespan included) against real Cassandra."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.testclient import TestClient

from cql.store import Store
from subbuzz.config import CassandraSettings
from tests.integration.graphql_support import count, error_messages, gql, new_id, running_app

TOKEN = "a-long-enough-test-token"


@pytest.fixture(scope="module")
def client(cassandra_settings: CassandraSettings) -> Iterator[TestClient]:
    with running_app(cassandra_settings) as running:
        yield running


def _one_error(body: dict[str, Any]) -> str:
    messages = error_messages(body)
    assert len(messages) == 1, body
    return messages[0]


def test_limits_are_rejected_with_clear_errors(cassandra_settings: CassandraSettings) -> None:
    with running_app(cassandra_settings, max_depth=2, max_aliases=2, max_tokens=60) as strict:
        assert "exceeds maximum operation depth of 2" in _one_error(
            gql(strict, "{ topArticles { article { subbuzzes { position } } } }")
        )
        aliases = (
            '{ a: article(id: "a") { id } b: article(id: "b") { id } c: article(id: "c") { id } }'
        )
        assert "3 aliases found. Allowed: 2" in _one_error(gql(strict, aliases))
        # Fragments do not hide aliases (Strawberry >= 0.315.7).
        hidden = (
            'fragment F on Query { a: article(id: "a") { id } b: article(id: "b") { id } }'
            ' { ...F c: user(id: "c") { id } }'
        )
        assert "3 aliases found" in _one_error(gql(strict, hidden))
        many_tokens = "{ " + " ".join(f'u{i}: user(id: "{i}") {{ id }}' for i in range(20)) + " }"
        assert "more than 60 tokens" in _one_error(gql(strict, many_tokens))


async def test_bad_arguments_are_graphql_errors_not_500(store: Store, client: TestClient) -> None:
    cases = {
        "{ topArticles(limit: 0) { rank } }": "limit must be between 1 and 100, got 0",
        "{ topArticles(limit: 101) { rank } }": "limit must be between 1 and 100, got 101",
        '{ topArticles(since: "2024-03-02T00:00:00Z", until: "2024-03-01T00:00:00Z") { rank } }': (
            "is empty"
        ),
        '{ topArticles(since: "2020-01-01T00:00:00Z", until: "2021-01-01T00:00:00Z") { rank } }': (
            "at most 93"
        ),
        '{ article(id: "a") { series(granularity: MINUTE) { start } } }': "MINUTE",
        '{ article(id: "a") { series(since: "2024-03-02T00:00:00Z",'
        ' until: "2024-03-01T00:00:00Z") { start } } }': "must be before until",
        '{ article(id: "a") { series(since: "2024-01-01T00:00:00Z",'
        ' until: "2024-03-01T00:00:00Z") { start } } }': "at most 744",
        '{ article(id: "a") { series(since: "yesterday") { start } } }': "ISO-8601",
        "{ topArticles(since: 5) { rank } }": "DateTime expects an ISO-8601 string",
        '{ article(id: "") { id } }': "1 to 128 characters",
    }
    store_article = new_id("art")
    # A known article, so that its series arguments are checked at all.
    await count(
        store, article_id=store_article, at=datetime(2024, 1, 1, tzinfo=UTC), views=1, time_ms=1
    )
    for query, expected in cases.items():
        query = query.replace('article(id: "a")', f'article(id: "{store_article}")')
        response = client.post("/graphql", json={"query": query})
        assert response.status_code == 200, (query, response.text)
        assert expected in _one_error(response.json()), query


async def test_list_cap_on_articles(store: Store, client: TestClient) -> None:
    ids = [f"id-{index}" for index in range(101)]
    body = gql(client, "query($ids: [ID!]!) { articles(ids: $ids) { id } }", {"ids": ids})
    assert "at most 100 ids per request, got 101" in _one_error(body)


def test_operation_batching_is_off_by_default(client: TestClient) -> None:
    response = client.post(
        "/graphql", json=[{"query": "{ __typename }"}, {"query": "{ __typename }"}]
    )
    assert response.status_code == 400
    assert "batch" in response.text.lower()


def test_operation_batching_can_be_capped(cassandra_settings: CassandraSettings) -> None:
    with running_app(cassandra_settings, max_batch_operations=2) as batching:
        two = batching.post("/graphql", json=[{"query": "{ __typename }"}] * 2)
        assert two.status_code == 200
        assert two.json() == [{"data": {"__typename": "Query"}}] * 2
        three = batching.post("/graphql", json=[{"query": "{ __typename }"}] * 3)
        assert three.status_code == 400


def test_body_size_cap(client: TestClient) -> None:
    padding = " " * (70 * 1024)
    response = client.post("/graphql", json={"query": "{ __typename }" + padding})
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


def test_request_timeout(cassandra_settings: CassandraSettings) -> None:
    with running_app(cassandra_settings, graphql_timeout_s=0.001) as slow:
        ids = [new_id("t") for _ in range(100)]
        response = slow.post(
            "/graphql",
            json={
                "query": "query($ids: [ID!]!) { articles(ids: $ids) { id series { views } } }",
                "variables": {"ids": ids},
            },
            headers={"x-request-id": "timeout-test-1"},
        )
    assert response.status_code == 504
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "TIMEOUT", "requestId": "timeout-test-1"}
    assert "timeout-test-1" in error["message"]


def test_auth_on(cassandra_settings: CassandraSettings) -> None:
    with running_app(cassandra_settings, auth_tokens=("other-token-0000000", TOKEN)) as secured:
        query = {"query": "{ __typename }"}
        assert secured.post("/graphql", json=query).status_code == 401
        wrong = secured.post("/graphql", json=query, headers={"authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert wrong.headers["www-authenticate"].startswith("Bearer")
        basic = secured.post("/graphql", json=query, headers={"authorization": f"Basic {TOKEN}"})
        assert basic.status_code == 401
        right = secured.post("/graphql", json=query, headers={"authorization": f"Bearer {TOKEN}"})
        assert right.status_code == 200
        assert right.json() == {"data": {"__typename": "Query"}}
        # Probes stay open for the orchestrator.
        assert secured.get("/healthz").status_code == 200
        assert secured.get("/readyz").status_code == 200


def test_auth_off_by_default(client: TestClient) -> None:
    assert gql(client, "{ __typename }") == {"data": {"__typename": "Query"}}


def test_graphiql_and_introspection_in_development(client: TestClient) -> None:
    page = client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    body = gql(client, "{ __schema { queryType { name } } }")
    assert body == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


def test_production_mode_turns_off_introspection_and_graphiql(
    cassandra_settings: CassandraSettings,
) -> None:
    with running_app(cassandra_settings, production=True) as production:
        page = production.get("/graphql", headers={"accept": "text/html"})
        assert page.status_code != 200 or "graphiql" not in page.text.lower()
        assert page.status_code < 500
        body = gql(production, "{ __schema { queryType { name } } }")
        assert "introspection has been disabled" in error_messages(body)[0]
        assert gql(production, "{ __typename }") == {"data": {"__typename": "Query"}}


def test_graphiql_can_be_switched_off_alone(cassandra_settings: CassandraSettings) -> None:
    with running_app(cassandra_settings, graphiql=False) as plain:
        page = plain.get("/graphql", headers={"accept": "text/html"})
        assert "graphiql" not in page.text.lower()
        assert page.status_code < 500
        assert "errors" not in gql(plain, "{ __schema { queryType { name } } }")


def test_cors_allowlist(cassandra_settings: CassandraSettings) -> None:
    allowed = "https://panels.example.com"
    with running_app(cassandra_settings, cors_origins=(allowed,)) as cors:
        preflight = {"access-control-request-method": "POST"}
        ok = cors.options("/graphql", headers={"origin": allowed, **preflight})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == allowed
        refused = cors.options("/graphql", headers={"origin": "https://evil.example", **preflight})
        assert "access-control-allow-origin" not in refused.headers
        simple = cors.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"origin": allowed}
        )
        assert simple.headers["access-control-allow-origin"] == allowed


def test_health_readiness_and_metrics(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"alive": True}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"ready": True}
    gql(client, '{ article(id: "metrics-probe") { id } }')
    gql(client, "{ topArticles(limit: 0) { rank } }")
    text = client.get("/metrics").text
    assert 'subbuzz_graphql_request_seconds_bucket{le="0.05",operation="article"}' in text
    assert 'subbuzz_graphql_requests_total{operation="article",outcome="ok"}' in text
    assert 'subbuzz_graphql_requests_total{operation="topArticles",outcome="error"}' in text
    assert 'subbuzz_graphql_errors_total{code="BAD_USER_INPUT",operation="topArticles"}' in text
    assert 'subbuzz_http_requests_total{route="/readyz",status="200"}' in text
    assert "subbuzz_ready 1.0" in text


async def test_dataloaders_batch_a_100_article_query(store: Store, client: TestClient) -> None:
    ids = [new_id("batch") for _ in range(100)]
    at = datetime(2024, 2, 10, 12, tzinfo=UTC)
    for index, article in enumerate(ids[:10]):
        await count(store, article_id=article, at=at, views=index + 1, time_ms=1)
    app_store: Store = client.app.state.store  # type: ignore[attr-defined]
    calls: dict[str, int] = {}
    statements: list[str] = []
    wrapped = ("article_totals", "subbuzz_stats", "hourly_buckets")
    originals = {name: getattr(app_store, name) for name in (*wrapped, "execute")}

    def counting(name: str) -> Any:
        async def call(*args: Any, **kwargs: Any) -> Any:
            calls[name] = calls.get(name, 0) + 1
            return await originals[name](*args, **kwargs)

        return call

    async def counting_execute(cql: str, *args: Any, **kwargs: Any) -> Any:
        statements.append(cql)
        return await originals["execute"](cql, *args, **kwargs)

    for name in wrapped:
        setattr(app_store, name, counting(name))
    app_store.execute = counting_execute  # type: ignore[method-assign]
    try:
        body = gql(
            client,
            "query($ids: [ID!]!) { articles(ids: $ids) { id views subbuzzes { views }"
            ' series(since: "2024-02-10T10:00:00Z", until: "2024-02-10T14:00:00Z")'
            " { views } } again: articles(ids: $ids) { timeSpentMs } }",
            {"ids": ids},
        )
    finally:
        for name in (*wrapped, "execute"):
            delattr(app_store, name)
    assert "errors" not in body, body
    articles = body["data"]["articles"]
    assert [article["views"] for article in articles[:10]] == list(range(1, 11))
    assert articles[10:] == [None] * 90
    assert [point["views"] for point in articles[0]["series"]] == [0, 0, 1, 0]
    # One batched call per kind of data, whatever the number of articles and fields.
    assert calls == {"article_totals": 1, "subbuzz_stats": 1, "hourly_buckets": 1}
    # One single-partition read per distinct key: 100 totals + 10 sub-buzz + 10 hourly.
    assert len(statements) == 120


async def test_a_dashboard_reads_its_parts_in_the_same_round_trip_as_the_totals(
    store: Store, client: TestClient
) -> None:
    article = new_id("dash")
    now = datetime.now(UTC)
    await count(store, article_id=article, at=now, views=4, time_ms=40, subbuzz_id="sb-1")
    app_store: Store = client.app.state.store  # type: ignore[attr-defined]
    events: list[tuple[str, str]] = []
    wrapped = ("article_totals", "subbuzz_stats", "hourly_buckets")
    originals = {name: getattr(app_store, name) for name in wrapped}

    def recording(name: str) -> Any:
        async def call(*args: Any, **kwargs: Any) -> Any:
            events.append(("start", name))
            try:
                return await originals[name](*args, **kwargs)
            finally:
                events.append(("end", name))

        return call

    for name in wrapped:
        setattr(app_store, name, recording(name))
    try:
        body = gql(
            client,
            "query($id: ID!) { article(id: $id) { views subbuzzes { subbuzzId views }"
            " series { views } } }",
            {"id": article},
        )
    finally:
        for name in wrapped:
            delattr(app_store, name)
    assert "errors" not in body, body
    assert body["data"]["article"]["views"] == 4
    assert body["data"]["article"]["subbuzzes"] == [{"subbuzzId": "sb-1", "views": 4}]
    assert sum(point["views"] for point in body["data"]["article"]["series"]) == 4
    # All three reads are sent before the totals come back, and each only once.
    first_end = events.index(("end", "article_totals"))
    assert {name for kind, name in events[:first_end] if kind == "start"} == set(wrapped)
    assert sorted(events) == sorted((kind, name) for kind in ("start", "end") for name in wrapped)


def test_startup_moves_its_objects_out_of_the_collectors_sight(client: TestClient) -> None:
    # The app has started (the fixture's client ran its lifespan): what startup made is frozen.
    assert gc.get_freeze_count() > 10_000
