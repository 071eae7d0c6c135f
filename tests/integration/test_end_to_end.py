"""The whole path, real services: simulate -> nsqd -> consume -> Cassandra -> serve -> GraphQL."""

from __future__ import annotations

import signal
import time
from collections import defaultdict
from pathlib import Path

import httpx

from .helpers import consumer_and_server, simulate


def _graphql_totals(url: str, ids: list[str]) -> dict[str, tuple[int, int] | None]:
    found: dict[str, tuple[int, int] | None] = {}
    for start in range(0, len(ids), 100):
        chunk = ids[start : start + 100]
        response = httpx.post(
            url,
            json={
                "query": "query($ids: [ID!]!) { articles(ids: $ids) { id views timeSpentMs } }",
                "variables": {"ids": chunk},
            },
            timeout=10,
        )
        response.raise_for_status()
        body = response.json()
        assert "errors" not in body, body
        for article_id, article in zip(chunk, body["data"]["articles"], strict=True):
            found[article_id] = (
                None if article is None else (article["views"], article["timeSpentMs"])
            )
    return found


def test_published_events_read_back_exactly_through_graphql(
    subprocess_env: dict[str, str], subbuzz_exe: str, tmp_path: Path
) -> None:
    events = simulate(
        subbuzz_exe, subprocess_env, tmp_path / "events.jsonl", count=3000, seed=7, articles=150
    )
    # Ground truth from the published events alone, independent of the database.
    views: dict[str, int] = defaultdict(int)
    time_ms: dict[str, int] = defaultdict(int)
    for event in events:
        views[event["article_id"]] += 1
        time_ms[event["article_id"]] += event["time_ms"]
    truth = {article: (views[article], time_ms[article]) for article in views}
    assert sum(views.values()) == 3000

    with consumer_and_server(subbuzz_exe, subprocess_env, tmp_path) as pipeline:
        ids = sorted(truth)
        deadline = time.monotonic() + 90
        seen = _graphql_totals(pipeline.graphql, ids)
        while seen != truth and time.monotonic() < deadline:
            assert pipeline.consumer.poll() is None, "the consumer died"
            time.sleep(1)
            seen = _graphql_totals(pipeline.graphql, ids)
        assert seen == truth
        # The single-article query of the walking skeleton.
        top = max(truth, key=lambda article: truth[article][0])
        body = httpx.post(
            pipeline.graphql,
            json={"query": f'{{ article(id: "{top}") {{ id views timeSpentMs }} }}'},
            timeout=10,
        ).json()
        assert body["data"]["article"] == {
            "id": top,
            "views": truth[top][0],
            "timeSpentMs": truth[top][1],
        }
        unknown = httpx.post(
            pipeline.graphql, json={"query": '{ article(id: "never-seen") { id } }'}, timeout=10
        ).json()
        assert unknown["data"]["article"] is None
    assert pipeline.consumer.returncode == 0, pipeline.consumer_log.read_text()[-3000:]
    # uvicorn shuts down gracefully, then re-raises the SIGTERM it caught.
    assert pipeline.server.returncode in (0, -signal.SIGTERM)
