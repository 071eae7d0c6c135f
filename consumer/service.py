"""The I/O shell: pynsq in, counter writes out, dead letters aside.

Delivery rules (architecture.md): a message is FINed only once every increment of its flush
was acknowledged, or once its dead letter was published. A flush of which nothing was
applied is requeued with backoff; a flush that was partly applied writes only its missing
rows again (requeueing it would count the applied rows twice) while its messages are
TOUCHed. A row whose write timed out is counted as an unknown outcome and never written again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import nsq

from cql.store import COUNTER_TABLES, Store
from subbuzz.config import NsqSettings

from .aggregate import Aggregate
from .contract import ContractLimits, Event, Rejection, validate
from .deadletter import GIVING_UP, encode_dead_letter
from .dedup import DuplicateWindow
from .metrics import ConsumerMetrics
from .settings import ConsumerSettings
from .writer import CounterWriter, WriteReport

log = logging.getLogger(__name__)

STORE_REJECTED = "store_rejected"
_DEAD_LETTER_ATTEMPTS = 8
_PUBLISH_TIMEOUT_S = 10.0


class PublishError(Exception):
    pass


def _raise_if_failed(task: asyncio.Task[None]) -> None:
    """A flush that crashed is a bug: log it loudly (the loop keeps its messages held, so
    nsqd redelivers them after its timeout)."""
    if not task.cancelled() and task.exception() is not None:
        log.error("flush crashed", exc_info=task.exception())


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class Consumer:
    """One process's consumer. Build it anywhere; ``run`` inside the event loop."""

    def __init__(
        self,
        settings: ConsumerSettings,
        nsq_settings: NsqSettings,
        store: Store,
        metrics: ConsumerMetrics,
        *,
        clock_ms: Callable[[], int] = _now_ms,
    ) -> None:
        self.settings = settings
        self.nsq_settings = nsq_settings
        self.metrics = metrics
        self.clock_ms = clock_ms
        self.limits = ContractLimits(late_horizon_ms=settings.late_horizon_s * 1000)
        self.window = DuplicateWindow(settings.dedup_window)
        self.writer = CounterWriter(
            store,
            concurrency=settings.write_concurrency,
            max_batch_rows=settings.max_batch_rows,
            across_partitions=settings.batch_across_partitions,
        )
        self._buffer: list[tuple[nsq.Message, Event]] = []
        self._first_buffered_at = 0.0
        # Every message not yet answered, with when it was last received or TOUCHed.
        self._held: dict[nsq.Message, float] = {}
        self._dead_letter_tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._wake = asyncio.Event()
        self._reader: nsq.Reader | None = None
        self._publisher: nsq.Writer | None = None
        metrics.in_flight.set_function(lambda: len(self._held))

    # -- lifecycle ----------------------------------------------------------------------------

    def prepare(self) -> None:
        """Prepare the counter statements (blocking: call before ``run``, e.g. in a thread)."""
        self.writer.prepare(COUNTER_TABLES)

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set, then stop taking messages, flush, answer, return."""
        s, n = self.settings, self.nsq_settings
        # pynsq captures the current loop: both clients are built inside the running loop.
        self._publisher = nsq.Writer(list(n.nsqd_tcp_addresses), reconnect_interval=1.0)
        source: dict[str, Any] = (
            {"lookupd_http_addresses": list(n.lookupd_http_addresses), "lookupd_poll_interval": 10}
            if n.lookupd_http_addresses
            else {"nsqd_tcp_addresses": list(n.nsqd_tcp_addresses)}
        )
        self._reader = nsq.Reader(
            topic=n.topic,
            channel=n.channel,
            message_handler=self._on_message,
            max_in_flight=s.max_in_flight,
            # 0 disables pynsq's silent FIN after max_tries: _on_message dead-letters instead.
            max_tries=0,
            max_backoff_duration=s.max_backoff_s,
            **source,
        )
        log.info("consuming %s/%s (max_in_flight=%d)", n.topic, n.channel, s.max_in_flight)
        flusher = asyncio.create_task(self._flush_loop(), name="flush")
        toucher = asyncio.create_task(self._touch_loop(), name="touch")
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({flusher, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if flusher.done():
            stopped.cancel()
            toucher.cancel()
            flusher.result()  # a crashed flush loop is a bug: let it surface
        log.info("stopping: no new messages, flushing %d buffered", len(self._buffer))
        self._stopping = True
        self._reader.set_max_in_flight(0)
        self._wake.set()
        await flusher
        if self._dead_letter_tasks:
            await asyncio.gather(*self._dead_letter_tasks)
        toucher.cancel()
        await self._close_connections()
        log.info("stopped")

    async def _close_connections(self) -> None:
        conns = list(self._reader.conns.values()) if self._reader else []
        conns += list(self._publisher.conns.values()) if self._publisher else []
        # FIN/REQ are socket writes: let them leave before closing, or nsqd redelivers.
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline and any(
            conn.stream is not None and conn.stream.writing() for conn in conns
        ):
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.1)
        # pynsq reports a stream closed under a pending read as an error ("failed to unpack
        # size"), even when we close it on purpose: keep that out of a clean shutdown's log.
        nsq_log = logging.getLogger("nsq")
        level = nsq_log.level
        nsq_log.setLevel(logging.CRITICAL)
        try:
            if self._reader is not None:
                self._reader.close()
            for conn in conns:
                if not conn.closed():
                    conn.close()
            await asyncio.sleep(0)  # let the close callbacks run while the log is quiet
        finally:
            nsq_log.setLevel(level)

    # -- messages in --------------------------------------------------------------------------

    def _on_message(self, message: nsq.Message) -> None:
        message.enable_async()
        self.metrics.received.inc()
        if self._stopping:
            message.requeue(backoff=False, time_ms=0)
            return
        self._held[message] = time.monotonic()
        if message.attempts > self.settings.max_tries:
            detail = f"{message.attempts} deliveries > max_tries {self.settings.max_tries}"
            self._dead_letter(message, GIVING_UP, detail)
            return
        result = validate(message.body, now_ms=self.clock_ms(), limits=self.limits)
        if isinstance(result, Rejection):
            self._dead_letter(message, result.reason, result.detail)
            return
        if not self.window.admit(result.event_id):
            self.metrics.duplicates.inc()
            self._finish(message)
            return
        if not self._buffer:
            self._first_buffered_at = time.monotonic()
            self._wake.set()
        self._buffer.append((message, result))
        if len(self._buffer) >= self.settings.flush_max_messages:
            self._wake.set()

    def _finish(self, message: nsq.Message) -> None:
        self._held.pop(message, None)
        if not message.has_responded():
            message.finish()

    def _requeue(self, message: nsq.Message) -> None:
        self._held.pop(message, None)
        if message.has_responded():
            return
        s = self.settings
        delay_s = min(s.requeue_delay_s * message.attempts, s.max_requeue_delay_s)
        message.requeue(backoff=True, time_ms=int(delay_s * 1000))
        self.metrics.requeued.inc()

    # -- flushing -----------------------------------------------------------------------------

    def _reader_backing_off(self) -> bool:
        reader = self._reader
        return reader is not None and bool(reader.backoff_block or reader.backoff_timer.interval)

    async def _flush_loop(self) -> None:
        loop = asyncio.get_running_loop()
        interval = self.settings.flush_interval_s
        flushes: set[asyncio.Task[None]] = set()
        while True:
            if not self._buffer:
                if self._stopping:
                    if flushes:
                        await asyncio.gather(*flushes)
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            # While pynsq backs off it hands out one message at a time: do not sit on it.
            while (
                len(self._buffer) < self.settings.flush_max_messages
                and not self._stopping
                and not self._reader_backing_off()
            ):
                remaining = self._first_buffered_at + interval - time.monotonic()
                if remaining <= 0:
                    break
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), remaining)
                except TimeoutError:
                    break
            batch, self._buffer = self._buffer, []
            # Flushes overlap (up to flush_concurrency), so the next window fills and starts
            # writing while Cassandra acknowledges the previous one.
            while len(flushes) >= self.settings.flush_concurrency:
                await asyncio.wait(flushes, return_when=asyncio.FIRST_COMPLETED)
            task = asyncio.create_task(self._timed_flush(batch, loop.time()))
            flushes.add(task)
            task.add_done_callback(flushes.discard)
            task.add_done_callback(_raise_if_failed)

    async def _timed_flush(self, batch: list[tuple[nsq.Message, Event]], started: float) -> None:
        await self._flush(batch)
        self.metrics.flush_seconds.observe(asyncio.get_running_loop().time() - started)

    async def _flush(self, batch: list[tuple[nsq.Message, Event]]) -> None:
        aggregate = Aggregate()
        for _message, event in batch:
            aggregate.add(event)
        pending = list(aggregate.increments())
        partly_applied = False
        delay = max(self.settings.requeue_delay_s, 0.1)
        give_up_at: float | None = None
        while True:
            report = await self.writer.write(pending)
            self._record(report)
            partly_applied = partly_applied or report.applied > 0 or bool(report.unknown)
            if report.complete:
                self._counted(batch, retried=give_up_at is not None)
                return
            error = report.errors[0]
            if not report.retriable:
                log.error(
                    "Cassandra refused %d of %d rows (%s): dead-lettering the flush's %d messages",
                    len(report.not_applied),
                    len(aggregate),
                    error,
                    len(batch),
                )
                self.metrics.flushes.labels("rejected").inc()
                for message, event in batch:
                    self.window.forget(event.event_id)
                    self._dead_letter(message, STORE_REJECTED, str(error))
                return
            if not partly_applied:
                log.warning(
                    "flush of %d messages failed, nothing applied (%s): requeueing",
                    len(batch),
                    error,
                )
                self.metrics.flushes.labels("requeued").inc()
                for message, event in batch:
                    self.window.forget(event.event_id)
                    self._requeue(message)
                return
            # Part of the flush is in Cassandra: only its missing rows may be written again.
            now = time.monotonic()
            if give_up_at is None:
                give_up_at = now + self.settings.shutdown_timeout_s
            if self._stopping and now >= give_up_at:
                log.error(
                    "shutting down with %d rows of a partly applied flush unwritten (%s): "
                    "requeueing its %d messages, whose applied rows will count twice",
                    len(report.not_applied),
                    error,
                    len(batch),
                )
                self.metrics.flushes.labels("requeued").inc()
                for message, event in batch:
                    self.window.forget(event.event_id)
                    self._requeue(message)
                return
            log.warning(
                "flush partly applied, %d rows missing (%s): writing them again in %.1fs",
                len(report.not_applied),
                error,
                delay,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.settings.max_requeue_delay_s)
            pending = report.not_applied

    def _record(self, report: WriteReport) -> None:
        metrics = self.metrics
        metrics.counter_writes.inc(report.statements)
        metrics.counter_rows.inc(report.applied)
        if report.errors:
            metrics.write_errors.inc(len(report.errors))
        if report.unknown:
            metrics.unknown_outcomes.inc(len(report.unknown))
            log.warning(
                "%d counter rows timed out and may or may not be applied; not retried: %s",
                len(report.unknown),
                ", ".join(f"{row.table.name}{row.key}" for row in report.unknown[:5]),
            )

    def _counted(self, batch: list[tuple[nsq.Message, Event]], *, retried: bool) -> None:
        now_ms = self.clock_ms()
        observe = self.metrics.event_lag.observe
        for message, event in batch:
            self._finish(message)
            observe(max(now_ms - event.ts_ms, 0) / 1000)
        self.metrics.counted.inc(len(batch))
        self.metrics.flushes.labels("retried" if retried else "ok").inc()

    # -- TOUCH --------------------------------------------------------------------------------

    async def _touch_loop(self) -> None:
        interval = self.settings.touch_interval_s
        while True:
            await asyncio.sleep(min(interval / 3, 5.0))
            now = time.monotonic()
            for message, since in list(self._held.items()):
                if now - since >= interval and not message.has_responded():
                    message.touch()
                    self._held[message] = now

    # -- dead letters -------------------------------------------------------------------------

    def _dead_letter(self, message: nsq.Message, reason: str, detail: str) -> None:
        self._held.setdefault(message, time.monotonic())
        task = asyncio.ensure_future(self._send_dead_letter(message, reason, detail))
        self._dead_letter_tasks.add(task)
        task.add_done_callback(self._dead_letter_tasks.discard)

    async def _send_dead_letter(self, message: nsq.Message, reason: str, detail: str) -> None:
        letter = encode_dead_letter(
            message.body,
            reason=reason,
            detail=detail,
            attempts=message.attempts,
            message_id=message.id.decode("ascii", "replace"),
            now_ms=self.clock_ms(),
        )
        topic = self.nsq_settings.dead_letter_topic
        for attempt in range(_DEAD_LETTER_ATTEMPTS):
            try:
                await asyncio.wait_for(self._publish(topic, letter), _PUBLISH_TIMEOUT_S)
            except (PublishError, TimeoutError) as exc:
                if attempt + 1 == _DEAD_LETTER_ATTEMPTS:
                    log.error("cannot publish a dead letter (%s): requeueing the message", exc)
                    self._requeue(message)
                    return
                await asyncio.sleep(min(0.1 * 2**attempt, 5.0))
            else:
                break
        self.metrics.dead_letters.labels(reason).inc()
        log.debug("dead letter %s: %s %s", message.id.decode("ascii", "replace"), reason, detail)
        self._finish(message)

    def _publish(self, topic: str, body: bytes) -> asyncio.Future[None]:
        assert self._publisher is not None
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def done(_conn: Any, data: Any) -> None:
            if future.done():
                return
            if isinstance(data, nsq.Error):
                future.set_exception(PublishError(str(data)))
            else:
                future.set_result(None)

        self._publisher.pub(topic, body, callback=done)
        return future
