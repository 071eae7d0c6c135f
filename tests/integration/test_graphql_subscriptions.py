"""Subscriptions over graphql-transport-ws, against real Cassandra and a real uvicorn server
(run in a thread here, so every receive can have a deadline)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from cql.store import Store
from server.app import create_app
from subbuzz.config import CassandraSettings
from tests.integration.graphql_support import count, new_id, server_settings
from tests.integration.helpers import free_port

PROTOCOL = "graphql-transport-ws"
TOKEN = "panel-token-0123456789"


def _serve(cassandra: CassandraSettings, **overrides: Any) -> Iterator[str]:
    port = free_port()
    app = create_app(server_settings(server_port=port, **overrides), cassandra)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive(), "the server thread died during startup"
        assert time.monotonic() < deadline, "the server did not start within 60 s"
        time.sleep(0.1)
    try:
        yield f"ws://127.0.0.1:{port}/graphql"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def ws_url(cassandra_settings: CassandraSettings) -> Iterator[str]:
    yield from _serve(cassandra_settings)


@pytest.fixture(scope="module")
def ws_url_with_auth(cassandra_settings: CassandraSettings) -> Iterator[str]:
    yield from _serve(cassandra_settings, auth_tokens=(TOKEN,))


@pytest.fixture(scope="module")
def ws_url_one_socket(cassandra_settings: CassandraSettings) -> Iterator[str]:
    yield from _serve(cassandra_settings, max_websockets=1)


async def _receive(socket: ClientConnection, timeout_s: float = 5.0) -> dict[str, Any]:
    frame = await asyncio.wait_for(socket.recv(), timeout_s)
    assert isinstance(frame, str), "graphql-transport-ws messages are text frames"
    message: dict[str, Any] = json.loads(frame)
    return message


async def _open(url: str, payload: dict[str, Any] | None = None) -> ClientConnection:
    socket = await connect(url, subprotocols=[PROTOCOL])  # type: ignore[list-item]
    init: dict[str, Any] = {"type": "connection_init"}
    if payload is not None:
        init["payload"] = payload
    await socket.send(json.dumps(init))
    assert (await _receive(socket))["type"] == "connection_ack"
    return socket


async def _subscribe(
    socket: ClientConnection, query: str, variables: dict[str, Any], operation_id: str = "1"
) -> None:
    await socket.send(
        json.dumps(
            {
                "id": operation_id,
                "type": "subscribe",
                "payload": {"query": query, "variables": variables},
            }
        )
    )


async def _next_data(socket: ClientConnection, timeout_s: float = 5.0) -> dict[str, Any]:
    message = await _receive(socket, timeout_s)
    assert message["type"] == "next", message
    assert "errors" not in message["payload"], message
    data: dict[str, Any] = message["payload"]["data"]
    return data


ARTICLE = """subscription($id: ID!) {
  article(id: $id) { id views timeSpentMs subbuzzes { position subbuzzId views } }
}"""


async def test_article_stream_yields_at_once_then_on_each_change(store: Store, ws_url: str) -> None:
    article = new_id("live")
    at = datetime.now(UTC)
    await count(store, article_id=article, at=at, views=2, time_ms=200, subbuzz_id="sb-a")
    socket = await _open(ws_url)
    try:
        await _subscribe(socket, ARTICLE, {"id": article})
        first = await _next_data(socket)
        assert first["article"]["views"] == 2
        assert first["article"]["subbuzzes"] == [{"position": 0, "subbuzzId": "sb-a", "views": 2}]
        # The settle tick: the same values once more, then nothing until a change.
        assert (await _next_data(socket))["article"]["views"] == 2
        with pytest.raises(TimeoutError):
            await _receive(socket, timeout_s=1.5)

        started = time.monotonic()
        await count(
            store, article_id=article, at=at, views=3, time_ms=30, subbuzz_id="sb-b", position=1
        )
        # The counters of different tables change one after the other, so a poll between two
        # writes shows a part of the change; the next poll shows the rest.
        changed = await _next_data(socket, timeout_s=2.0)
        while len(changed["article"]["subbuzzes"]) < 2:
            changed = await _next_data(socket, timeout_s=2.0)
        assert time.monotonic() - started < 4.0
        assert changed["article"]["views"] == 5
        assert [row["subbuzzId"] for row in changed["article"]["subbuzzes"]] == ["sb-a", "sb-b"]

        await socket.send(json.dumps({"id": "1", "type": "complete"}))
    finally:
        await socket.close()


async def test_unknown_article_streams_null_until_counted(store: Store, ws_url: str) -> None:
    article = new_id("later")
    socket = await _open(ws_url)
    try:
        await _subscribe(socket, ARTICLE, {"id": article})
        assert (await _next_data(socket)) == {"article": None}
        await count(store, article_id=article, at=datetime.now(UTC), views=1, time_ms=5)
        while (data := await _next_data(socket))["article"] is None:
            pass
        assert data["article"]["views"] == 1
    finally:
        await socket.close()


async def test_top_articles_stream_follows_a_days_ranking(store: Store, ws_url: str) -> None:
    # A UTC day of its own (top_by_day partitions are shared), inside the late horizon is not
    # needed: windowed rankings read the day partitions directly.
    day = datetime(1999, 1, 1, tzinfo=UTC) + timedelta(days=int(time.time()) % 3000)
    leader, follower = new_id("top"), new_id("top")
    await count(store, article_id=leader, at=day, views=10, time_ms=100)
    await count(store, article_id=follower, at=day, views=4, time_ms=4000)
    query = """subscription($since: DateTime!, $until: DateTime!) {
      topArticles(since: $since, until: $until, limit: 5) { rank views article { id views } }
    }"""
    variables = {
        "since": day.isoformat(),
        "until": (day + timedelta(days=1)).isoformat(),
    }
    socket = await _open(ws_url)
    try:
        await _subscribe(socket, query, variables)
        first = (await _next_data(socket))["topArticles"]
        assert [(row["rank"], row["article"]["id"], row["views"]) for row in first] == [
            (1, leader, 10),
            (2, follower, 4),
        ]
        await count(store, article_id=follower, at=day, views=20, time_ms=1)
        deadline = time.monotonic() + 5
        while True:
            rows = (await _next_data(socket))["topArticles"]
            if rows[0]["article"]["id"] == follower:
                break
            assert time.monotonic() < deadline, rows
        assert [(row["article"]["id"], row["views"], row["article"]["views"]) for row in rows] == [
            (follower, 24, 24),
            (leader, 10, 10),
        ]
    finally:
        await socket.close()


async def test_a_bad_argument_is_an_error_message_not_a_closed_socket(ws_url: str) -> None:
    socket = await _open(ws_url)
    try:
        await _subscribe(socket, "subscription { topArticles(limit: 0) { rank } }", {})
        message = await _receive(socket)
        assert message["type"] in {"next", "error"}, message
        errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
        assert any("limit" in error["message"] for error in errors), errors
    finally:
        await socket.close()


async def test_with_auth_tokens_a_socket_needs_the_token_in_connection_init(
    ws_url_with_auth: str,
) -> None:
    refused = await connect(ws_url_with_auth, subprotocols=[PROTOCOL])  # type: ignore[list-item]
    await refused.send(json.dumps({"type": "connection_init", "payload": {}}))
    with pytest.raises(ConnectionClosed) as closed:
        await _receive(refused)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403

    accepted = await _open(ws_url_with_auth, {"authorization": f"Bearer {TOKEN}"})
    try:
        await _subscribe(accepted, ARTICLE, {"id": new_id("none")})
        assert (await _next_data(accepted)) == {"article": None}
    finally:
        await accepted.close()


async def test_a_socket_over_the_limit_is_refused_until_one_closes(ws_url_one_socket: str) -> None:
    first = await _open(ws_url_one_socket)
    with pytest.raises(InvalidStatus) as refused:
        await connect(ws_url_one_socket, subprotocols=[PROTOCOL])  # type: ignore[list-item]
    assert refused.value.response.status_code == 403
    await first.close()
    # The server counts the first socket closed once its handler has finished.
    deadline = time.monotonic() + 5
    while True:
        try:
            second = await _open(ws_url_one_socket)
            break
        except InvalidStatus:
            assert time.monotonic() < deadline, "the freed slot was never given back"
            await asyncio.sleep(0.1)
    await second.close()
