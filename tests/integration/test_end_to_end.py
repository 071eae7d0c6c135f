"""The whole path, real services: simulate -> nsqd -> consume -> Cassandra -> serve -> GraphQL."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from collections import defaultdict
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _truth_from_file(path: Path) -> dict[str, tuple[int, int]]:
    """Per-article totals computed from the published events alone."""
    views: dict[str, int] = defaultdict(int)
    time_ms: dict[str, int] = defaultdict(int)
    for line in path.read_text().splitlines():
        event = json.loads(line)
        views[event["article_id"]] += 1
        time_ms[event["article_id"]] += event["time_ms"]
    return {article: (views[article], time_ms[article]) for article in views}


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


def _wait_http(url: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, f"{process.args} exited with {process.returncode}"
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {timeout_s}s")


def test_published_events_read_back_exactly_through_graphql(
    subprocess_env: dict[str, str], subbuzz_exe: str, tmp_path: Path
) -> None:
    events_file = tmp_path / "events.jsonl"
    simulate = subprocess.run(
        [
            subbuzz_exe,
            "simulate",
            "-n",
            "3000",
            "--seed",
            "7",
            "--articles",
            "150",
            "--output",
            str(events_file),
        ],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert simulate.returncode == 0, simulate.stderr
    truth = _truth_from_file(events_file)
    assert sum(views for views, _ in truth.values()) == 3000

    server_port = _free_port()
    consumer = subprocess.Popen(
        [subbuzz_exe, "consume", "--metrics-port", str(_free_port())],
        env=subprocess_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    server = subprocess.Popen(
        [subbuzz_exe, "serve", "--host", "127.0.0.1", "--port", str(server_port)],
        env=subprocess_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{server_port}/graphql"
    try:
        _wait_http(f"http://127.0.0.1:{server_port}/healthz", server, 60)
        ids = sorted(truth)
        deadline = time.monotonic() + 90
        seen = _graphql_totals(url, ids)
        while seen != truth and time.monotonic() < deadline:
            assert consumer.poll() is None, "the consumer died"
            time.sleep(1)
            seen = _graphql_totals(url, ids)
        assert seen == truth
        # The single-article query of the walking skeleton.
        top = max(truth, key=lambda article: truth[article][0])
        body = httpx.post(
            url,
            json={"query": f'{{ article(id: "{top}") {{ id views timeSpentMs }} }}'},
            timeout=10,
        ).json()
        assert body["data"]["article"] == {
            "id": top,
            "views": truth[top][0],
            "timeSpentMs": truth[top][1],
        }
        unknown = httpx.post(
            url, json={"query": '{ article(id: "never-seen") { id } }'}, timeout=10
        ).json()
        assert unknown["data"]["article"] is None
    finally:
        for process in (consumer, server):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        consumer_out = consumer.communicate(timeout=60)[0].decode(errors="replace")
        server.communicate(timeout=60)
    assert consumer.returncode == 0, consumer_out[-3000:]
