"""The flush policy, without services: FIN after full acknowledgement, requeue when nothing
was applied, write only the missing rows when part was applied, dead-letter what the store
refuses. The writer and the NSQ publisher are stand-ins; the messages are pynsq's own."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import nsq
import pytest

from consumer.aggregate import Increment
from consumer.contract import Event
from consumer.metrics import ConsumerMetrics
from consumer.service import Consumer
from consumer.settings import ConsumerSettings
from consumer.writer import WriteReport
from cql.store import StoreRejected, StoreUnavailable, WriteOutcomeUnknown
from subbuzz.config import NsqSettings

NOW_MS = 1_796_256_000_000


class ScriptedWriter:
    """Answers each ``write`` with the next scripted outcome and records what it was given."""

    def __init__(self, *outcomes: str) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[list[Increment]] = []

    async def write(self, increments: Any) -> WriteReport:
        rows = list(increments)
        self.calls.append(rows)
        outcome = self.outcomes.pop(0)
        report = WriteReport(statements=len(rows))
        if outcome == "ok":
            report.applied = len(rows)
        elif outcome == "down":
            report.not_applied = rows
            report.errors = [StoreUnavailable("down")]
        elif outcome == "half":
            half = len(rows) // 2
            report.applied, report.not_applied = half, rows[half:]
            report.errors = [StoreUnavailable("down")]
        elif outcome == "timeout":
            report.applied, report.unknown = len(rows) - 1, rows[-1:]
            report.errors = [WriteOutcomeUnknown("timed out")]
        elif outcome == "refused":
            report.not_applied = rows
            report.errors = [StoreRejected("no such table")]
        return report


class Publisher:
    def __init__(self) -> None:
        self.published: list[tuple[str, bytes]] = []

    def pub(self, topic: str, body: bytes, callback: Any) -> None:
        self.published.append((topic, body))
        callback(None, b"OK")


def make_consumer(writer: ScriptedWriter) -> tuple[Consumer, ConsumerMetrics]:
    metrics = ConsumerMetrics()
    settings = ConsumerSettings(requeue_delay_s=0.0, max_requeue_delay_s=0.0)
    consumer = Consumer(
        settings,
        NsqSettings(),
        store=None,
        metrics=metrics,  # type: ignore[arg-type]
        clock_ms=lambda: NOW_MS,
    )
    consumer.writer = writer  # type: ignore[assignment]
    consumer._publisher = Publisher()
    return consumer, metrics


def make_batch(consumer: Consumer, count: int) -> list[tuple[nsq.Message, Event]]:
    batch = []
    for i in range(count):
        event = Event(f"e{i}", NOW_MS, f"a{i % 3}", "s", i, 10, None, None)
        message = nsq.Message(f"{i:016d}".encode(), b"{}", NOW_MS, 1)
        message.enable_async()
        assert consumer.window.admit(event.event_id)
        consumer._held[message] = 0.0
        batch.append((message, event))
    return batch


def sample(metrics: ConsumerMetrics, name: str, labels: dict[str, str] | None = None) -> float:
    value = metrics.registry.get_sample_value(name, labels or {})
    return value or 0.0


async def test_a_fully_acknowledged_flush_is_finished() -> None:
    consumer, metrics = make_consumer(ScriptedWriter("ok"))
    batch = make_batch(consumer, 10)
    await consumer._flush(batch)
    assert all(message.has_responded() for message, _ in batch)
    assert not consumer._held
    assert sample(metrics, "subbuzz_consumer_events_counted_total") == 10
    assert sample(metrics, "subbuzz_consumer_flushes_total", {"outcome": "ok"}) == 1


async def test_nothing_applied_requeues_and_forgets_the_event_ids() -> None:
    writer = ScriptedWriter("down")
    consumer, metrics = make_consumer(writer)
    batch = make_batch(consumer, 10)
    await consumer._flush(batch)
    assert len(writer.calls) == 1
    assert sample(metrics, "subbuzz_consumer_messages_requeued_total") == 10
    assert sample(metrics, "subbuzz_consumer_events_counted_total") == 0
    # The redelivered copies must be counted, not dropped as duplicates.
    assert all(event.event_id not in consumer.window for _, event in batch)
    assert all(message.has_responded() for message, _ in batch)


async def test_a_partly_applied_flush_writes_only_the_missing_rows_then_finishes() -> None:
    writer = ScriptedWriter("half", "down", "ok")
    consumer, metrics = make_consumer(writer)
    batch = make_batch(consumer, 10)
    await consumer._flush(batch)
    first, second, third = writer.calls
    half = len(first) // 2
    assert second == first[half:]
    assert third == second
    assert sample(metrics, "subbuzz_consumer_messages_requeued_total") == 0
    assert sample(metrics, "subbuzz_consumer_events_counted_total") == 10
    assert sample(metrics, "subbuzz_consumer_flushes_total", {"outcome": "retried"}) == 1


async def test_a_timed_out_row_is_counted_as_unknown_and_never_written_again() -> None:
    writer = ScriptedWriter("timeout")
    consumer, metrics = make_consumer(writer)
    batch = make_batch(consumer, 4)
    await consumer._flush(batch)
    assert len(writer.calls) == 1
    assert sample(metrics, "subbuzz_consumer_write_outcome_unknown_total") == 1
    assert sample(metrics, "subbuzz_consumer_events_counted_total") == 4


async def test_rows_the_store_refuses_are_dead_lettered() -> None:
    consumer, metrics = make_consumer(ScriptedWriter("refused"))
    batch = make_batch(consumer, 3)
    await consumer._flush(batch)
    for task in list(consumer._dead_letter_tasks):
        await task
    publisher = consumer._publisher
    assert isinstance(publisher, Publisher)
    assert len(publisher.published) == 3
    assert sample(metrics, "subbuzz_consumer_dead_letters_total", {"reason": "store_rejected"}) == 3
    assert all(message.has_responded() for message, _ in batch)


@pytest.mark.parametrize("outcome", ["down", "half"])
async def test_partial_retry_gives_up_only_when_stopping(outcome: str) -> None:
    writer = ScriptedWriter(outcome, *["down"] * 3)
    consumer, _metrics = make_consumer(writer)
    consumer.settings = ConsumerSettings(
        requeue_delay_s=0.0, max_requeue_delay_s=0.0, shutdown_timeout_s=0.001
    )
    consumer._stopping = True
    batch = make_batch(consumer, 6)
    await consumer._flush(batch)
    assert all(message.has_responded() for message, _ in batch)
    assert len(writer.calls) <= 4


async def test_held_messages_are_touched_while_they_wait() -> None:
    consumer, _metrics = make_consumer(ScriptedWriter())
    consumer.settings = ConsumerSettings(touch_interval_s=0.03)
    (waiting, _), (answered, _) = make_batch(consumer, 2)
    touches: list[nsq.Message] = []
    for message in (waiting, answered):
        message.on(nsq.event.TOUCH, lambda message, **_: touches.append(message))
    answered.finish()
    consumer._held[answered] = 0.0  # stale entry: must not be touched once answered
    task = asyncio.create_task(consumer._touch_loop())
    await asyncio.sleep(0.2)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert touches and set(touches) == {waiting}
