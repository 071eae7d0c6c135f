"""Prometheus metrics of one app (its own registry, so several apps can live in one process).

With ``subbuzz serve --workers N`` every worker writes its values to the directory named by
``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess mode) and ``/metrics`` adds
up all the workers' values, whichever worker answers.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

_LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.015, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0
)  # fmt: skip


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "subbuzz_http_requests",
            "HTTP requests by route and status code.",
            ["route", "status"],
            registry=self.registry,
        )
        self.graphql_requests = Counter(
            "subbuzz_graphql_requests",
            "GraphQL requests by operation (its root fields) and outcome.",
            ["operation", "outcome"],
            registry=self.registry,
        )
        self.graphql_latency = Histogram(
            "subbuzz_graphql_request_seconds",
            "GraphQL request latency by operation (its root fields).",
            ["operation"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.graphql_errors = Counter(
            "subbuzz_graphql_errors",
            "Errors returned to GraphQL clients, by operation and error code.",
            ["operation", "code"],
            registry=self.registry,
        )
        self.ready = Gauge(
            "subbuzz_ready",
            "1 when the last readiness probe reached Cassandra.",
            registry=self.registry,
            multiprocess_mode="mostrecent",
        )
        self.websockets = Gauge(
            "subbuzz_websockets_open",
            "WebSocket connections open now (live panels and other subscribers).",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.websockets_refused = Counter(
            "subbuzz_websockets_refused",
            "WebSocket connections refused because SUBBUZZ_MAX_WEBSOCKETS were open.",
            registry=self.registry,
        )
        self.ranking_age = Gauge(
            "subbuzz_all_time_ranking_age_seconds",
            "Seconds since the all-time ranking was last refreshed.",
            registry=self.registry,
            multiprocess_mode="livemax",
        )

    def render(self) -> bytes:
        if os.environ.get(MULTIPROCESS_DIR_VARIABLE):
            every_worker = CollectorRegistry()
            MultiProcessCollector(every_worker)
            return generate_latest(every_worker)
        return generate_latest(self.registry)
