"""Helpers for the GraphQL integration tests: seed counters the way the consumer keys them,
and run the real app (lifespan included) against the session's keyspace."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from starlette.testclient import TestClient

from cql.buckets import day_of, hour_start_ms, month_of, shard_of, to_ms
from cql.store import (
    ARTICLE_DAILY,
    ARTICLE_HOURLY,
    ARTICLE_TOTALS,
    SESSION_TOTALS,
    SUBBUZZ_BY_POSITION,
    TOP_BY_DAY,
    USER_TOTALS,
    Store,
)
from server.app import create_app
from server.settings import ServerSettings
from subbuzz.config import CassandraSettings


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def count(
    store: Store,
    *,
    article_id: str,
    at: datetime,
    views: int,
    time_ms: int,
    subbuzz_id: str = "sb-0",
    position: int = 0,
    session_id: str | None = None,
    user_id: str | None = None,
) -> None:
    """Add ``views``/``time_ms`` to every table an event at ``at`` touches."""
    ts_ms = to_ms(at)
    day = day_of(ts_ms)
    keys: list[tuple[Any, tuple[Any, ...]]] = [
        (ARTICLE_TOTALS, (article_id,)),
        (ARTICLE_HOURLY, (article_id, day, hour_start_ms(ts_ms))),
        (ARTICLE_DAILY, (article_id, month_of(day), day)),
        (TOP_BY_DAY, (day, shard_of(article_id), article_id)),
        (SUBBUZZ_BY_POSITION, (article_id, position, subbuzz_id)),
    ]
    if session_id is not None:
        keys.append((SESSION_TOTALS, (session_id,)))
    if user_id is not None:
        keys.append((USER_TOTALS, (user_id,)))
    for table, key in keys:
        await store.increment(table, key, views=views, time_ms=time_ms)


def server_settings(**overrides: Any) -> ServerSettings:
    values: dict[str, Any] = {
        "top_cache_ttl_s": 0.0,
        "ranking_refresh_s": 3600.0,
        "ranking_startup_wait_s": 30.0,
    }
    values.update(overrides)
    return ServerSettings(**values)


@contextmanager
def running_app(cassandra: CassandraSettings, **overrides: Any) -> Iterator[TestClient]:
    app = create_app(server_settings(**overrides), cassandra)
    with TestClient(app) as client:
        yield client


def gql(
    client: TestClient,
    query: str,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    response = client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers or {}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def error_messages(body: dict[str, Any]) -> list[str]:
    return [error["message"] for error in body.get("errors") or []]
