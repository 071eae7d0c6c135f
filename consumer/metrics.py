"""Prometheus metrics of one consumer process (own registry, so tests can build several)."""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

log = logging.getLogger(__name__)

_LAG_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600, 86400, 7 * 86400)
_FLUSH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class ConsumerMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.received = Counter(
            "subbuzz_consumer_messages_received", "NSQ messages delivered", registry=r
        )
        self.counted = Counter(
            "subbuzz_consumer_events_counted",
            "events whose increments were acknowledged",
            registry=r,
        )
        self.duplicates = Counter(
            "subbuzz_consumer_duplicates",
            "events dropped: event_id seen in the window",
            registry=r,
        )
        self.dead_letters = Counter(
            "subbuzz_consumer_dead_letters",
            "messages sent to the dead-letter topic",
            ["reason"],
            registry=r,
        )
        self.requeued = Counter(
            "subbuzz_consumer_messages_requeued",
            "messages requeued after a failed flush",
            registry=r,
        )
        self.flushes = Counter(
            "subbuzz_consumer_flushes",
            "flushes by outcome (ok, retried, requeued, rejected)",
            ["outcome"],
            registry=r,
        )
        self.flush_seconds = Histogram(
            "subbuzz_consumer_flush_duration_seconds",
            "time to write one flush",
            buckets=_FLUSH_BUCKETS,
            registry=r,
        )
        self.counter_writes = Counter(
            "subbuzz_consumer_counter_writes",
            "counter statements (single rows or one-partition batches) sent to Cassandra",
            registry=r,
        )
        self.counter_rows = Counter(
            "subbuzz_consumer_counter_rows",
            "counter rows incremented (acknowledged)",
            registry=r,
        )
        self.write_errors = Counter(
            "subbuzz_consumer_counter_write_errors",
            "counter statements that failed",
            registry=r,
        )
        self.unknown_outcomes = Counter(
            "subbuzz_consumer_write_outcome_unknown",
            "counter rows whose write timed out: maybe applied, never retried",
            registry=r,
        )
        self.event_lag = Histogram(
            "subbuzz_consumer_event_lag_seconds",
            "now - ts when an event is counted",
            buckets=_LAG_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge(
            "subbuzz_consumer_in_flight",
            "messages held: buffered, flushing or dead-lettering",
            registry=r,
        )

    def serve(self, host: str, port: int) -> int | None:
        """Start the /metrics endpoint in a daemon thread; returns the bound port."""
        if port < 0:
            return None
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        bound = int(server.server_address[1])
        log.info("metrics on http://%s:%d/metrics", host, bound)
        return bound
