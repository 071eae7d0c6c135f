"""The consumer's own settings (``SUBBUZZ_*``), beside the shared Cassandra and NSQ ones."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from subbuzz.config import _load, env_name

# Rows are at most ~400 bytes in a batch (keys of up to 128 characters): 100 rows stay well
# under Cassandra's default batch_size_fail_threshold of 50 KiB.
MAX_BATCH_ROWS = 100


@dataclass(frozen=True)
class ConsumerSettings:
    # Messages nsqd may have outstanding to this process: keeps a flush and the next one full.
    max_in_flight: int = 2500
    # A flush starts at this many buffered messages or this long after the first one.
    # (a flush as large as max_in_flight coalesces most; measured in docs/BENCHMARKS.md)
    flush_max_messages: int = 2500
    flush_interval_s: float = 0.5
    # Flushes writing at once: the next window fills while the previous one is acknowledged.
    flush_concurrency: int = 2
    # Counter requests in flight at once, and rows per counter batch.
    write_concurrency: int = 32
    max_batch_rows: int = 100
    # Batch rows of any partitions together (fewer requests, much cheaper for Cassandra; a
    # failure after sending is then an unknown outcome for the whole batch), or keep each
    # batch inside one partition.
    batch_across_partitions: bool = True
    # event_ids remembered to drop duplicates.
    dedup_window: int = 500_000
    # Events older than this (by ts) are dead letters.
    late_horizon_s: int = 7 * 24 * 3600
    # After this many deliveries a message is dead-lettered (reason giving_up).
    max_tries: int = 30
    # A requeued message comes back after attempts * requeue_delay_s, at most max_requeue_delay_s.
    requeue_delay_s: float = 1.0
    max_requeue_delay_s: float = 30.0
    # pynsq's reader backoff ceiling after failed flushes.
    max_backoff_s: float = 8.0
    # Held messages are TOUCHed this often (nsqd's default msg timeout is 60 s).
    touch_interval_s: float = 15.0
    # On SIGTERM, how long the last flush may keep retrying before the process gives up.
    shutdown_timeout_s: float = 30.0
    # Prometheus metrics; port 0 picks a free port (logged), -1 disables the endpoint.
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 9108

    def __post_init__(self) -> None:
        positive = (
            "max_in_flight",
            "flush_max_messages",
            "write_concurrency",
            "max_batch_rows",
            "dedup_window",
            "late_horizon_s",
            "max_tries",
            "max_backoff_s",
            "touch_interval_s",
            "shutdown_timeout_s",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"{env_name(name)} must be positive, got {getattr(self, name)}")
        if self.max_batch_rows > MAX_BATCH_ROWS:
            raise ValueError(
                f"{env_name('max_batch_rows')} must be at most {MAX_BATCH_ROWS}: larger counter "
                "batches approach Cassandra's batch_size_fail_threshold (50 KiB by default)"
            )
        if not 0 < self.flush_interval_s <= 1.0:
            raise ValueError(f"{env_name('flush_interval_s')} must be in (0, 1] seconds")
        if self.requeue_delay_s < 0 or self.max_requeue_delay_s < self.requeue_delay_s:
            raise ValueError(
                f"{env_name('requeue_delay_s')} must be >= 0 and <= "
                f"{env_name('max_requeue_delay_s')}"
            )
        if not -1 <= self.metrics_port <= 65535:
            raise ValueError(f"{env_name('metrics_port')}={self.metrics_port} is not a port")

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: Any
    ) -> ConsumerSettings:
        return _load(cls, environ, **overrides)


SETTING_NAMES = tuple(f.name for f in fields(ConsumerSettings))
