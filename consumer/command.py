"""``subbuzz consume``: read events from NSQ and keep the Cassandra counters."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from collections.abc import Callable
from typing import Any

import uvloop

from cql.store import Store, StoreError
from subbuzz.config import CassandraSettings, NsqSettings, env_name

from .metrics import ConsumerMetrics
from .service import Consumer
from .settings import ConsumerSettings

log = logging.getLogger(__name__)


def _addresses(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


# (flag, settings field, type, help); every one also reads SUBBUZZ_<FIELD>.
_NSQ_FLAGS: tuple[tuple[str, str, Callable[[str], Any], str], ...] = (
    ("--topic", "topic", str, "NSQ topic to read"),
    ("--channel", "channel", str, "NSQ channel (consumers on one channel share the work)"),
    ("--dead-letter-topic", "dead_letter_topic", str, "topic for invalid/given-up messages"),
    ("--nsqd", "nsqd_tcp_addresses", _addresses, "nsqd TCP addresses, comma-separated"),
    (
        "--lookupd",
        "lookupd_http_addresses",
        _addresses,
        "nsqlookupd HTTP addresses, comma-separated (when set, nsqd nodes are discovered)",
    ),
)
_CASSANDRA_FLAGS: tuple[tuple[str, str, Callable[[str], Any], str], ...] = (
    ("--keyspace", "keyspace", str, "Cassandra keyspace"),
)
_CONSUMER_FLAGS: tuple[tuple[str, str, Callable[[str], Any], str], ...] = (
    ("--max-in-flight", "max_in_flight", int, "messages nsqd may have outstanding to us"),
    ("--flush-messages", "flush_max_messages", int, "flush at this many buffered messages"),
    ("--flush-interval", "flush_interval_s", float, "or this many seconds after the first one"),
    ("--write-concurrency", "write_concurrency", int, "counter requests in flight at once"),
    ("--batch-rows", "max_batch_rows", int, "rows per counter batch"),
    ("--flush-concurrency", "flush_concurrency", int, "flushes writing at once"),
    ("--dedup-window", "dedup_window", int, "event_ids remembered to drop duplicates"),
    ("--late-horizon", "late_horizon_s", int, "seconds: older events are dead letters"),
    ("--max-tries", "max_tries", int, "deliveries before a message is dead-lettered"),
    ("--metrics-port", "metrics_port", int, "Prometheus port (0: any free port, -1: off)"),
)


_METAVARS: dict[Any, str] = {int: "N", float: "SECONDS", str: "NAME", _addresses: "HOST:PORT,..."}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "consume",
        help="read events from NSQ and keep the Cassandra counters",
        description=(
            "Validate events (contract v1), drop duplicates, coalesce them per flush and add "
            "them to the counter tables; invalid messages go to the dead-letter topic. "
            "Stops cleanly on SIGTERM/SIGINT (flushes, answers every message, exits 0). "
            "Each flag also reads the SUBBUZZ_* variable shown; flags win. Counter rows of "
            "a flush go in batches across partitions (far cheaper for Cassandra; a failure "
            "after sending is then an unknown outcome for the whole batch): "
            f"{env_name('batch_across_partitions')}=false keeps each batch in one partition."
        ),
    )
    defaults: dict[str, Any] = {
        **{f: getattr(NsqSettings(), f) for _, f, _, _ in _NSQ_FLAGS},
        **{f: getattr(CassandraSettings(), f) for _, f, _, _ in _CASSANDRA_FLAGS},
        **{f: getattr(ConsumerSettings(), f) for _, f, _, _ in _CONSUMER_FLAGS},
    }
    for flag, field, kind, text in _NSQ_FLAGS + _CASSANDRA_FLAGS + _CONSUMER_FLAGS:
        default = defaults[field]
        shown = ",".join(default) if isinstance(default, tuple) else default
        parser.add_argument(
            flag,
            dest=field,
            type=kind,
            default=None,
            metavar=_METAVARS[kind],
            help=f"{text} (env {env_name(field)}, default {shown or 'unset'})",
        )
    parser.set_defaults(handler=_handle)


def _overrides(args: argparse.Namespace, flags: tuple[tuple[str, str, Any, str], ...]) -> dict:
    return {field: getattr(args, field) for _, field, _, _ in flags}


class _BatchWarningFilter(logging.Filter):
    """Cassandra warns on every counter batch across partitions unless its thresholds are
    raised (the local stack raises them). Those batches are deliberate: say so once, then
    keep the log readable."""

    _PATTERNS = ("Server warning: Batch for", "Server warning: Unlogged batch covering")

    def __init__(self) -> None:
        super().__init__()
        self.suppressed = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.getMessage().startswith(self._PATTERNS):
            return True
        self.suppressed += 1
        if self.suppressed > 1:
            return False
        record.msg = (
            f"{record.getMessage()} (the consumer batches counter rows across partitions on "
            "purpose; raise batch_size_warn_threshold and "
            "unlogged_batch_across_partitions_warn_threshold in cassandra.yaml, or set "
            f"{env_name('batch_across_partitions')}=false; further such warnings are hidden)"
        )
        record.args = ()
        return True


def _handle(args: argparse.Namespace) -> int:
    logging.getLogger("cassandra.protocol").addFilter(_BatchWarningFilter())
    consumer_settings = ConsumerSettings.from_env(**_overrides(args, _CONSUMER_FLAGS))
    nsq_settings = NsqSettings.from_env(**_overrides(args, _NSQ_FLAGS))
    cassandra_settings = CassandraSettings.from_env(**_overrides(args, _CASSANDRA_FLAGS))
    return uvloop.run(_consume(consumer_settings, nsq_settings, cassandra_settings))


async def _consume(
    settings: ConsumerSettings, nsq_settings: NsqSettings, cassandra: CassandraSettings
) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        store = await Store.open(cassandra)
    except StoreError as exc:
        log.error("cannot reach Cassandra keyspace %s: %s", cassandra.keyspace, exc)
        return 1
    try:
        metrics = ConsumerMetrics()
        try:
            metrics.serve(settings.metrics_host, settings.metrics_port)
        except OSError as exc:
            log.error(
                "cannot serve metrics on %s:%d (%s): give each consumer on a host its own "
                "--metrics-port (%s), or 0 for any free port",
                settings.metrics_host,
                settings.metrics_port,
                exc,
                env_name("metrics_port"),
            )
            return 2
        consumer = Consumer(settings, nsq_settings, store, metrics)
        await asyncio.to_thread(consumer.prepare)
        await consumer.run(stop)
    finally:
        await asyncio.to_thread(store.close)
    return 0
