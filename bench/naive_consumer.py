"""Consumer (b) of the ingest benchmark: the simplest design that fills the same tables.

For every message: decode it, send one counter UPDATE per table (seven, six or five: session
and user only when present) through the project's store, FIN when all are acknowledged,
REQUEUE if one failed. No batching, no coalescing, no validation and no duplicate window: this
is the baseline that subbuzz's consumer is measured against, not a design to copy (a requeue
after a partial failure double-counts the writes that did succeed).

The per-event writes are sent concurrently (up to ``max_in_flight`` events at a time) on the
driver's async path, so the baseline is simple but not deliberately slow.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
from typing import Any

import nsq

from cql.buckets import day_of, hour_start_ms, month_of, shard_of, to_datetime
from cql.store import (
    ARTICLE_DAILY,
    ARTICLE_HOURLY,
    ARTICLE_TOTALS,
    SESSION_TOTALS,
    SUBBUZZ_BY_POSITION,
    TOP_BY_DAY,
    USER_TOTALS,
    CounterTable,
    Store,
    StoreError,
)
from subbuzz.config import CassandraSettings, NsqSettings

log = logging.getLogger("naive_consumer")


def counter_keys(event: dict[str, Any]) -> list[tuple[CounterTable, tuple[Any, ...]]]:
    article = event["article_id"]
    ts = int(event["ts"])
    day = day_of(ts)
    keys: list[tuple[CounterTable, tuple[Any, ...]]] = [
        (ARTICLE_TOTALS, (article,)),
        (ARTICLE_HOURLY, (article, day, to_datetime(hour_start_ms(ts)))),
        (ARTICLE_DAILY, (article, month_of(day), day)),
        (TOP_BY_DAY, (day, shard_of(article), article)),
        (SUBBUZZ_BY_POSITION, (article, int(event["position"]), event["subbuzz_id"])),
    ]
    if event.get("session_id"):
        keys.append((SESSION_TOTALS, (event["session_id"],)))
    if event.get("user_id"):
        keys.append((USER_TOTALS, (event["user_id"],)))
    return keys


class NaiveCounter:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._tasks: set[asyncio.Task[None]] = set()

    def handle(self, message: nsq.Message) -> None:
        message.enable_async()
        task = asyncio.ensure_future(self._count(message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _count(self, message: nsq.Message) -> None:
        event = json.loads(message.body)
        time_ms = int(event["time_ms"])
        try:
            await asyncio.gather(
                *(
                    self.store.increment(table, key, views=1, time_ms=time_ms)
                    for table, key in counter_keys(event)
                )
            )
        except StoreError as exc:
            log.warning("requeue after %s", exc)
            message.requeue()
            return
        message.finish()

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


async def _run(max_in_flight: int) -> None:
    nsq_settings = NsqSettings.from_env()
    store = await Store.open(CassandraSettings.from_env())
    counter = NaiveCounter(store)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    reader = nsq.Reader(
        topic=nsq_settings.topic,
        channel=nsq_settings.channel,
        nsqd_tcp_addresses=list(nsq_settings.nsqd_tcp_addresses),
        message_handler=counter.handle,
        max_in_flight=max_in_flight,
    )
    await stop.wait()
    reader.close()
    await counter.drain()
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-in-flight", type=int, default=200)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_run(args.max_in_flight))


if __name__ == "__main__":
    main()
