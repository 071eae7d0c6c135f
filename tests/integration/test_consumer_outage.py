"""Cassandra stopped mid-stream and started again: the consumer keeps running, requeues, and
the final counters are exact.

This test stops and starts Cassandra, so it needs a stack it controls (the ``local_stack``
fixture): run it without SUBBUZZ_* port settings and the session starts its own stack.

Cassandra is stopped between two flushes (after the first half of the stream is counted) and
the second half is published while it is down. Stopping it during a flush would leave the
writes in flight with an unknown outcome, which no counter writer can make exact (see
architecture.md, "Delivery semantics"); the consumer counts those in
subbuzz_consumer_write_outcome_unknown_total instead.
"""

from __future__ import annotations

import time
from pathlib import Path

from cql.store import Store, StoreError
from devstack.stack import LocalStack
from subbuzz.config import NsqSettings

from .test_consumer_ingest import (
    assert_counters_exact,
    consumers,
    create_topic,
    drained,
    encode,
    make_events,
    now_ms,
    publish,
    run_prefix,
    wait_until,
)


def _store_answers(store: Store) -> bool:
    try:
        store.execute_sync("SELECT release_version FROM system.local")
    except StoreError:
        return False
    return True


def test_cassandra_stopped_and_restarted_mid_stream_counts_exactly(
    local_stack: LocalStack,
    subbuzz_exe: str,
    subprocess_env: dict[str, str],
    nsq_settings: NsqSettings,
    store: Store,
    tmp_path: Path,
) -> None:
    prefix = run_prefix()
    events = make_events(seed=21, count=6_000, prefix=prefix, now_ms=now_ms())
    before, during = events[:3_000], events[3_000:]
    topic, channel = nsq_settings.topic, nsq_settings.channel
    create_topic(nsq_settings, topic, channel)
    publish(nsq_settings, topic, [encode(event) for event in before])
    # Deliveries pile up while Cassandra is down: dead-lettering them (giving_up) is for
    # messages that never succeed, not for an outage this short.
    with consumers(
        subbuzz_exe,
        subprocess_env,
        tmp_path,
        SUBBUZZ_MAX_TRIES="1000",
        SUBBUZZ_MAX_REQUEUE_DELAY_S="3",
    ) as (consumer,):
        wait_until(
            lambda: drained(nsq_settings, topic, channel, len(before)),
            120,
            "the first half counted",
            [consumer],
        )
        local_stack.stop_service("cassandra")
        publish(nsq_settings, topic, [encode(event) for event in during])
        wait_until(
            lambda: consumer.metric("subbuzz_consumer_messages_requeued_total") > 0,
            60,
            "flushes failing and requeued",
            [consumer],
        )
        time.sleep(5)  # several failed rounds, the consumer still up
        assert consumer.process.poll() is None, consumer.log()
        failed_rounds = consumer.metrics().get("subbuzz_consumer_flushes_total{outcome=requeued}")
        local_stack.start_service("cassandra")
        wait_until(
            lambda: drained(nsq_settings, topic, channel, len(events)),
            300,
            "every message counted after the restart",
            [consumer],
        )
        metrics = consumer.metrics()
        assert consumer.stop() == 0, consumer.log()
    assert failed_rounds and failed_rounds >= 2
    assert metrics["subbuzz_consumer_events_counted_total"] == len(events)
    assert metrics["subbuzz_consumer_write_outcome_unknown_total"] == 0
    assert not [name for name in metrics if name.startswith("subbuzz_consumer_dead_letters")]
    wait_until(lambda: _store_answers(store), 120, "the test's own session reconnected")
    assert_counters_exact(store, prefix, events)
    print(
        f"{failed_rounds:.0f} flushes requeued during the outage, "
        f"{metrics['subbuzz_consumer_messages_requeued_total']:.0f} messages requeued"
    )
