"""The load process of ``bench/query.py``: N concurrent clients for a fixed time, then one JSON
line with the latencies. ``--target graphql`` posts to the server; ``--target driver`` does the
same reads directly with cassandra-driver (the floor)."""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.http_client import HttpError, JsonPoster
from cql.buckets import TOP_SHARDS

DASHBOARD = (
    "query($id: ID!) { article(id: $id) { id views timeSpentMs avgTimeMs"
    " subbuzzes { subbuzzId position views timeSpentMs avgTimeMs }"
    " series { start views timeSpentMs } } }"
)
TOP = (
    "query($since: DateTime!) { topArticles(since: $since, limit: 10)"
    " { rank views timeSpentMs article { id views } } }"
)
MANY = "query($ids: [ID!]!) { articles(ids: $ids) { id views timeSpentMs } }"


def _article(index: int) -> str:
    return f"article-{index:06d}"


def _since(days: int) -> str:
    today = datetime.now(UTC).date()
    return f"{(today - timedelta(days=days - 1)).isoformat()}T00:00:00Z"


def graphql_request(scenario: str, articles: int) -> tuple[str, dict[str, Any]]:
    if scenario == "dashboard":
        return DASHBOARD, {"id": _article(random.randrange(articles))}
    if scenario in ("top1", "top7"):
        return TOP, {"since": _since(1 if scenario == "top1" else 7)}
    ids = [_article(index) for index in random.sample(range(articles), min(100, articles))]
    return MANY, {"ids": ids}


async def _graphql_worker(
    url: str, scenario: str, articles: int, deadline: float, latencies: list[float]
) -> int:
    errors = 0
    client = JsonPoster(url)
    try:
        while time.perf_counter() < deadline:
            query, variables = graphql_request(scenario, articles)
            started = time.perf_counter()
            try:
                status, body = await asyncio.wait_for(
                    client.post({"query": query, "variables": variables}), 30
                )
            except (HttpError, TimeoutError):
                await client.close()
                errors += 1
                continue
            elapsed = time.perf_counter() - started
            if status != 200 or not isinstance(body, dict) or body.get("errors"):
                errors += 1
            else:
                latencies.append(elapsed)
    finally:
        await client.close()
    return errors


class _Driver:
    """The same reads as the resolvers, straight on cassandra-driver prepared statements."""

    def __init__(self, host: str, port: int, keyspace: str) -> None:
        from cassandra.cluster import Cluster

        self.cluster = Cluster([host], port=port, protocol_version=5)
        self.session = self.cluster.connect(keyspace)
        prepare = self.session.prepare
        self.totals = prepare("SELECT views, time_ms FROM article_totals WHERE article_id = ?")
        self.subbuzzes = prepare(
            "SELECT position, subbuzz_id, views, time_ms FROM subbuzz_by_position"
            " WHERE article_id = ?"
        )
        self.hourly = prepare(
            "SELECT hour, views, time_ms FROM article_hourly WHERE article_id = ? AND day = ?"
        )
        self.top_day = prepare(
            "SELECT article_id, views, time_ms FROM top_by_day WHERE day = ? AND shard = ?"
        )

    def run(self, statement: Any, params: tuple[Any, ...]) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        response = self.session.execute_async(statement, params)

        def done(rows: Any) -> None:
            loop.call_soon_threadsafe(future.set_result, rows)

        def failed(exc: BaseException) -> None:
            loop.call_soon_threadsafe(future.set_exception, exc)

        response.add_callbacks(done, failed)
        return future

    async def dashboard(self, articles: int) -> None:
        article = _article(random.randrange(articles))
        now = datetime.now(UTC)
        days = sorted({(now - timedelta(hours=23)).date(), now.date()})
        await asyncio.gather(
            self.run(self.totals, (article,)),
            self.run(self.subbuzzes, (article,)),
            *(self.run(self.hourly, (article, day)) for day in days),
        )

    async def top(self, days: int) -> None:
        today = datetime.now(UTC).date()
        window: list[date] = [today - timedelta(days=offset) for offset in range(days)]
        results = await asyncio.gather(
            *(self.run(self.top_day, (day, shard)) for day in window for shard in range(TOP_SHARDS))
        )
        merged: dict[str, int] = {}
        for rows in results:
            for row in rows:
                merged[row.article_id] = merged.get(row.article_id, 0) + row.views
        sorted(merged.items(), key=lambda item: (-item[1], item[0]))[:10]

    async def many(self, articles: int) -> None:
        ids = [_article(index) for index in random.sample(range(articles), min(100, articles))]
        await asyncio.gather(*(self.run(self.totals, (article,)) for article in ids))


async def _driver_worker(
    call: Callable[[], Awaitable[None]], deadline: float, latencies: list[float]
) -> int:
    """Requests until the deadline; a failed one (e.g. a driver timeout when 64 clients each
    read a week of shards) is counted as an error, as the GraphQL side counts its own."""
    errors = 0
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        try:
            await call()
        except Exception:
            errors += 1
            continue
        latencies.append(time.perf_counter() - started)
    return errors


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    latencies: list[float] = []
    driver: _Driver | None = None
    # A short warm-up, not measured.
    if args.target == "driver":
        driver = _Driver(args.host, args.port, args.keyspace)
        calls: dict[str, Callable[[], Awaitable[None]]] = {
            "dashboard": lambda: driver.dashboard(args.articles),
            "top1": lambda: driver.top(1),
            "top7": lambda: driver.top(7),
            "many": lambda: driver.many(args.articles),
        }
        warm = time.perf_counter() + 1.0
        await _driver_worker(calls[args.scenario], warm, [])
        started = time.perf_counter()
        deadline = started + args.seconds
        results = await asyncio.gather(
            *(
                _driver_worker(calls[args.scenario], deadline, latencies)
                for _ in range(args.clients)
            )
        )
    else:
        warm = time.perf_counter() + 1.0
        await _graphql_worker(args.url, args.scenario, args.articles, warm, [])
        started = time.perf_counter()
        deadline = started + args.seconds
        results = await asyncio.gather(
            *(
                _graphql_worker(args.url, args.scenario, args.articles, deadline, latencies)
                for _ in range(args.clients)
            )
        )
    wall = time.perf_counter() - started
    if driver is not None:
        driver.cluster.shutdown()
    latencies.sort()

    def pct(q: float) -> float:
        if not latencies:
            return float("nan")
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    return {
        "target": args.target,
        "scenario": args.scenario,
        "clients": args.clients,
        "requests": len(latencies),
        "errors": sum(results),
        "rps": len(latencies) / wall,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", choices=["graphql", "driver"], required=True)
    parser.add_argument("--scenario", choices=["dashboard", "top1", "top7", "many"], required=True)
    parser.add_argument("--clients", type=int, required=True)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--articles", type=int, required=True)
    parser.add_argument("--url", default="http://127.0.0.1:8000/graphql")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9042)
    parser.add_argument("--keyspace", default="subbuzz")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main_async(args))), flush=True)


if __name__ == "__main__":
    main()
