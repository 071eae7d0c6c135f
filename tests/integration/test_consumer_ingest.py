"""`subbuzz consume` against real nsqd and Cassandra: exact counters, dead letters, shutdown.

Events are generated here from a seeded random (independent of the simulator), published
through nsqd's HTTP /mpub, counted by consumer subprocesses, and compared with a ground truth
computed in the test from ``cql.buckets``. Each test tags its ids with a unique run prefix, so
tests sharing the session keyspace only look at their own rows.
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import struct
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import nsq
from prometheus_client.parser import text_string_to_metric_families

from consumer.deadletter import decode_dead_letter
from cql.buckets import day_of, hour_start_ms, month_of, shard_of, to_ms
from cql.store import COUNTER_TABLES, Store
from subbuzz.config import NsqSettings, StackSettings

from .helpers import free_port

# Fast flushes and short backoffs keep the tests quick; the defaults are for production.
CONSUMER_ENV = {
    "SUBBUZZ_FLUSH_INTERVAL_S": "0.2",
    "SUBBUZZ_FLUSH_MAX_MESSAGES": "1000",
    "SUBBUZZ_MAX_IN_FLIGHT": "2000",
    "SUBBUZZ_REQUEUE_DELAY_S": "0.5",
    "SUBBUZZ_MAX_REQUEUE_DELAY_S": "2",
    "SUBBUZZ_MAX_BACKOFF_S": "2",
    "SUBBUZZ_WRITE_CONCURRENCY": "16",
}

Truth = dict[str, Counter[tuple[Any, ...]]]


# ---------------------------------------------------------------------------------------------
# Events and ground truth


def make_events(seed: int, count: int, prefix: str, now_ms: int) -> list[dict[str, Any]]:
    """Skewed article popularity, several sub-buzzes per article, sessions and users (some
    anonymous), event times over the last 3 days (hour, day and month boundaries), and a
    fifth of the timestamps as ISO-8601 strings with an offset."""
    rng = random.Random(seed)
    articles = [f"{prefix}a{i}" for i in range(60)]
    weights = [1 / (rank + 1) for rank in range(len(articles))]
    sessions = [f"{prefix}s{i}" for i in range(400)]
    users = [f"{prefix}u{i}" for i in range(120)]
    events = []
    for i in range(count):
        article = rng.choices(articles, weights)[0]
        position = min(int(rng.expovariate(0.15)), 40)
        ts_ms = now_ms - rng.randrange(0, 3 * 86_400_000)
        ts: int | str = ts_ms
        if rng.random() < 0.2:
            zone = timezone(timedelta(hours=rng.choice([-5, 0, 1, 9])))
            moment = datetime.fromtimestamp(ts_ms / 1000, tz=zone)
            ts = moment.isoformat(timespec="milliseconds")
        event: dict[str, Any] = {
            "event_id": f"{prefix}e{i}",
            "ts": ts,
            "article_id": article,
            "subbuzz_id": f"{article}-sb{position}",
            "position": position,
            "time_ms": min(int(rng.lognormvariate(8, 1.2)), 3_600_000),
        }
        if rng.random() < 0.9:
            event["session_id"] = rng.choice(sessions)
        if rng.random() < 0.7:
            event["user_id"] = rng.choice(users)
        if rng.random() < 0.1:
            event["v"] = 1
        events.append(event)
    return events


def event_ts_ms(event: dict[str, Any]) -> int:
    ts = event["ts"]
    return ts if isinstance(ts, int) else to_ms(datetime.fromisoformat(ts))


def ground_truth(events: list[dict[str, Any]]) -> tuple[Truth, Truth]:
    """(views, time_ms) per table and key, computed straight from the events."""
    views: Truth = {table.name: Counter() for table in COUNTER_TABLES}
    spent: Truth = {table.name: Counter() for table in COUNTER_TABLES}
    for event in events:
        ts = event_ts_ms(event)
        day = day_of(ts)
        article = event["article_id"]
        keys = {
            "article_totals": (article,),
            "article_hourly": (article, day, hour_start_ms(ts)),
            "article_daily": (article, month_of(day), day),
            "top_by_day": (day, shard_of(article), article),
            "subbuzz_by_position": (article, event["position"], event["subbuzz_id"]),
        }
        if "session_id" in event:
            keys["session_totals"] = (event["session_id"],)
        if "user_id" in event:
            keys["user_totals"] = (event["user_id"],)
        for table, key in keys.items():
            views[table][key] += 1
            spent[table][key] += event["time_ms"]
    return views, spent


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return to_ms(value)
    if hasattr(value, "date") and not isinstance(value, date):  # cassandra.util.Date
        return value.date()
    return value


def read_counters(store: Store, prefix: str) -> tuple[Truth, Truth]:
    """Every counter row of this test (its ids start with ``prefix``), per table."""
    views: Truth = {}
    spent: Truth = {}
    for table in COUNTER_TABLES:
        views[table.name], spent[table.name] = Counter(), Counter()
        columns = ", ".join(table.key_columns)
        id_column = next(c for c in table.key_columns if c.endswith("_id"))
        for row in store.execute_sync(f"SELECT {columns}, views, time_ms FROM {table.name}"):
            if not getattr(row, id_column).startswith(prefix):
                continue
            key = tuple(_plain(getattr(row, column)) for column in table.key_columns)
            views[table.name][key] = row.views
            spent[table.name][key] = row.time_ms
    return views, spent


def assert_counters_exact(store: Store, prefix: str, events: list[dict[str, Any]]) -> None:
    expected_views, expected_time = ground_truth(events)
    actual_views, actual_time = read_counters(store, prefix)
    for table in COUNTER_TABLES:
        name = table.name
        assert expected_views[name], f"the events feed {name}"
        assert actual_views[name] == expected_views[name], f"views differ in {name}"
        assert actual_time[name] == expected_time[name], f"time_ms differs in {name}"


# ---------------------------------------------------------------------------------------------
# NSQ


def encode(event: dict[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":")).encode()


def publish(nsq_settings: NsqSettings, topic: str, bodies: list[bytes]) -> None:
    """nsqd HTTP /mpub in binary mode (bodies may hold anything), in chunks of < 4 MiB."""
    url = f"http://{nsq_settings.nsqd_http_address}/mpub"
    with httpx.Client(timeout=30) as client:
        chunk: list[bytes] = []
        size = 0
        for body in [*bodies, None]:
            if body is None or len(chunk) >= 1000 or size + len(body) > 4_000_000:
                if chunk:
                    payload = struct.pack(">I", len(chunk)) + b"".join(
                        struct.pack(">I", len(part)) + part for part in chunk
                    )
                    response = client.post(
                        url, params={"topic": topic, "binary": "true"}, content=payload
                    )
                    assert response.text == "OK", response.text
                chunk, size = [], 0
            if body is not None:
                chunk.append(body)
                size += len(body)


def create_topic(nsq_settings: NsqSettings, topic: str, channel: str) -> None:
    base = f"http://{nsq_settings.nsqd_http_address}"
    httpx.post(f"{base}/topic/create", params={"topic": topic}).raise_for_status()
    httpx.post(
        f"{base}/channel/create", params={"topic": topic, "channel": channel}
    ).raise_for_status()


def channel_stats(nsq_settings: NsqSettings, topic: str, channel: str) -> dict[str, int]:
    """depth, in_flight, deferred and message_count of one channel."""
    response = httpx.get(
        f"http://{nsq_settings.nsqd_http_address}/stats",
        params={"format": "json", "topic": topic, "channel": channel},
    )
    response.raise_for_status()
    for found in response.json()["topics"]:
        for stats in found["channels"]:
            if found["topic_name"] == topic and stats["channel_name"] == channel:
                return {
                    k: stats[k]
                    for k in ("depth", "in_flight_count", "deferred_count", "message_count")
                }
    raise AssertionError(f"no channel {topic}/{channel} on nsqd")


def read_topic(nsq_settings: NsqSettings, topic: str, count: int, timeout: float) -> list[bytes]:
    """Read ``count`` messages from ``topic`` with a pynsq Reader (FINs them)."""

    async def collect() -> list[bytes]:
        bodies: list[bytes] = []
        done = asyncio.Event()

        def handler(message: nsq.Message) -> bool:
            bodies.append(message.body)
            if len(bodies) >= count:
                done.set()
            return True

        reader = nsq.Reader(
            topic=topic,
            channel="test_reader",
            message_handler=handler,
            nsqd_tcp_addresses=list(nsq_settings.nsqd_tcp_addresses),
            max_in_flight=100,
        )
        try:
            await asyncio.wait_for(done.wait(), timeout)
            await asyncio.sleep(0.5)  # anything beyond count would show up now
        finally:
            reader.close()
        return bodies

    return asyncio.run(collect())


# ---------------------------------------------------------------------------------------------
# Consumer processes


class ConsumerProcess:
    def __init__(self, exe: str, env: dict[str, str], log_path: Path, **extra: str) -> None:
        self.metrics_port = free_port()
        self.log_path = log_path
        full_env = {**env, **CONSUMER_ENV, **extra, "SUBBUZZ_METRICS_PORT": str(self.metrics_port)}
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            [exe, "consume"], env=full_env, stdout=self._log, stderr=subprocess.STDOUT
        )

    def metrics(self) -> dict[str, float]:
        """Samples by name (labels folded in as name{k=v}); empty until the endpoint is up."""
        try:
            text = httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=2).text
        except httpx.HTTPError:
            return {}
        samples: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
        return samples

    def metric(self, name: str) -> float:
        """A counter summed over its labels."""
        samples = self.metrics()
        return sum(v for k, v in samples.items() if k == name or k.startswith(name + "{"))

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        finally:
            self._log.close()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self._log.close()


@contextmanager
def consumers(
    exe: str, env: dict[str, str], tmp_path: Path, count: int = 1, **extra: str
) -> Iterator[list[ConsumerProcess]]:
    started = [
        ConsumerProcess(exe, env, tmp_path / f"consumer{i}.log", **extra) for i in range(count)
    ]
    try:
        # Ready once the metrics endpoint answers: Cassandra connected, signals handled.
        wait_until(lambda: all(p.metrics() for p in started), 60, "consumers up", started)
        yield started
    finally:
        for process in started:
            process.kill()


def wait_until(
    condition: Callable[[], bool],
    timeout: float,
    what: str,
    processes: Sequence[ConsumerProcess] = (),
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        for process in processes:
            assert process.process.poll() is None, f"consumer exited early:\n{process.log()}"
        time.sleep(0.2)
    logs = "\n".join(process.log()[-3000:] for process in processes)
    raise AssertionError(f"timed out waiting for {what}\n{logs}")


def drained(nsq_settings: NsqSettings, topic: str, channel: str, published: int) -> bool:
    stats = channel_stats(nsq_settings, topic, channel)
    return (
        stats["message_count"] >= published
        and stats["depth"] == 0
        and stats["in_flight_count"] == 0
        and stats["deferred_count"] == 0
    )


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def run_prefix() -> str:
    return f"t{uuid.uuid4().hex[:8]}-"


# ---------------------------------------------------------------------------------------------
# Tests


def test_ten_thousand_events_match_ground_truth_in_every_table(
    subbuzz_exe: str,
    subprocess_env: dict[str, str],
    nsq_settings: NsqSettings,
    store: Store,
    tmp_path: Path,
) -> None:
    prefix = run_prefix()
    events = make_events(seed=11, count=10_000, prefix=prefix, now_ms=now_ms())
    topic, channel = nsq_settings.topic, nsq_settings.channel
    create_topic(nsq_settings, topic, channel)
    publish(nsq_settings, topic, [encode(event) for event in events])
    started = time.monotonic()
    with consumers(subbuzz_exe, subprocess_env, tmp_path) as (consumer,):
        wait_until(
            lambda: consumer.metric("subbuzz_consumer_events_counted_total") >= 10_000,
            120,
            "10,000 events counted",
            [consumer],
        )
        elapsed = time.monotonic() - started
        wait_until(
            lambda: drained(nsq_settings, topic, channel, 10_000), 30, "channel drained", [consumer]
        )
        metrics = consumer.metrics()
        assert consumer.stop() == 0, consumer.log()
    assert_counters_exact(store, prefix, events)
    assert metrics["subbuzz_consumer_events_counted_total"] == 10_000
    assert metrics["subbuzz_consumer_duplicates_total"] == 0
    assert metrics["subbuzz_consumer_write_outcome_unknown_total"] == 0
    # Coalescing: far fewer counter statements than the 10,000 x 7 a naive writer sends.
    writes = metrics["subbuzz_consumer_counter_writes_total"]
    assert 0 < writes < 10_000 * 7 / 2
    print(f"10,000 events counted in {elapsed:.1f}s with {writes:.0f} counter statements")


def poison_set(now: int) -> list[tuple[bytes, str]]:
    good = {
        "event_id": "p",
        "ts": now,
        "article_id": "pa",
        "subbuzz_id": "ps",
        "position": 1,
        "time_ms": 10,
    }

    def variant(**change: Any) -> bytes:
        document = {**good, **change}
        return encode({k: v for k, v in document.items() if v is not ...})

    return [
        (b"{not json", "bad_json"),
        # (nsqd itself refuses an empty body)
        (
            b'{"event_id":"p","ts":1,"article_id":"a","subbuzz_id":"s","position":1,"time_ms":NaN}',
            "bad_json",
        ),
        (b'{"event_id":"p","time_ms":Infinity}', "bad_json"),
        (b"[1,2,3]", "not_object"),
        (variant(position="3"), "wrong_type:position"),
        (variant(time_ms=True), "wrong_type:time_ms"),
        (variant(article_id=12), "wrong_type:article_id"),
        (variant(time_ms=-5), "out_of_range:time_ms"),
        (variant(time_ms=10**12), "out_of_range:time_ms"),
        (variant(ts=now + 3_600_000), "future_ts"),
        (variant(ts=now - 8 * 86_400_000), "too_late"),
        (variant(ts="2026-01-01T00:00:00"), "missing_offset:ts"),
        (variant(v=2), "unknown_version"),
        (variant(ts=...), "missing_field:ts"),
        (variant(event_id=...), "missing_field:event_id"),
        (variant(subbuzz_id=...), "missing_field:subbuzz_id"),
        (variant(pad="x" * 200 * 1024), "too_large"),
    ]


def test_poison_messages_go_to_the_dead_letter_topic_with_their_reason(
    subbuzz_exe: str,
    subprocess_env: dict[str, str],
    nsq_settings: NsqSettings,
    store: Store,
    tmp_path: Path,
) -> None:
    prefix = run_prefix()
    now = now_ms()
    events = make_events(seed=12, count=600, prefix=prefix, now_ms=now)
    poison = poison_set(now)
    bodies = [encode(event) for event in events]
    # Poison scattered between valid events, so they share flushes.
    for index, (body, _reason) in enumerate(poison):
        bodies.insert(index * 30 + 5, body)
    topic, channel = nsq_settings.topic, nsq_settings.channel
    create_topic(nsq_settings, topic, channel)
    publish(nsq_settings, topic, bodies)
    with consumers(subbuzz_exe, subprocess_env, tmp_path) as (consumer,):
        wait_until(
            lambda: drained(nsq_settings, topic, channel, len(bodies)),
            60,
            "every message answered",
            [consumer],
        )
        metrics = consumer.metrics()
        assert consumer.stop() == 0, consumer.log()
    letters = [
        decode_dead_letter(raw)
        for raw in read_topic(nsq_settings, nsq_settings.dead_letter_topic, len(poison), 30)
    ]
    assert sorted((letter.body or "", letter.reason) for letter in letters) == sorted(
        (body.decode(), reason) for body, reason in poison
    )
    for letter in letters:
        assert abs(to_ms(datetime.fromisoformat(letter.time)) - now) < 120_000
        assert not letter.truncated
    assert metrics["subbuzz_consumer_events_counted_total"] == len(events)
    assert metrics["subbuzz_consumer_dead_letters_total{reason=too_large}"] == 1
    assert sum(
        v for k, v in metrics.items() if k.startswith("subbuzz_consumer_dead_letters_total")
    ) == len(poison)
    assert_counters_exact(store, prefix, events)


def test_duplicates_are_counted_once(
    subbuzz_exe: str,
    subprocess_env: dict[str, str],
    nsq_settings: NsqSettings,
    store: Store,
    tmp_path: Path,
) -> None:
    prefix = run_prefix()
    events = make_events(seed=13, count=2_000, prefix=prefix, now_ms=now_ms())
    rng = random.Random(13)
    repeats = rng.sample(events, 500)
    # Some repeats in the same flush as their original, some far later; ISO vs epoch ts of
    # the same event_id is still the same event.
    bodies = [encode(event) for event in events] + [encode(event) for event in repeats]
    bodies[10:10] = [encode(events[0])] * 3
    topic, channel = nsq_settings.topic, nsq_settings.channel
    create_topic(nsq_settings, topic, channel)
    publish(nsq_settings, topic, bodies)
    with consumers(subbuzz_exe, subprocess_env, tmp_path) as (consumer,):
        wait_until(
            lambda: drained(nsq_settings, topic, channel, len(bodies)),
            60,
            "every message answered",
            [consumer],
        )
        metrics = consumer.metrics()
        assert consumer.stop() == 0, consumer.log()
    assert metrics["subbuzz_consumer_duplicates_total"] == 503
    assert metrics["subbuzz_consumer_events_counted_total"] == 2_000
    assert_counters_exact(store, prefix, events)


def test_sigterm_mid_stream_loses_nothing(
    subbuzz_exe: str,
    subprocess_env: dict[str, str],
    nsq_settings: NsqSettings,
    store: Store,
    tmp_path: Path,
) -> None:
    prefix = run_prefix()
    events = make_events(seed=14, count=10_000, prefix=prefix, now_ms=now_ms())
    topic, channel = nsq_settings.topic, nsq_settings.channel
    create_topic(nsq_settings, topic, channel)
    publish(nsq_settings, topic, [encode(event) for event in events])
    with consumers(subbuzz_exe, subprocess_env, tmp_path) as (first,):
        wait_until(
            lambda: first.metric("subbuzz_consumer_events_counted_total") >= 1_500,
            60,
            "the first consumer under way",
            [first],
        )
        assert first.stop() == 0, first.log()
    assert "stopped" in first.log()
    stats = channel_stats(nsq_settings, topic, channel)
    assert stats["in_flight_count"] == 0, "every message held at SIGTERM was answered"
    assert 0 < stats["depth"] + stats["deferred_count"] < 10_000 - 1_500
    second_dir = tmp_path / "second"
    second_dir.mkdir()
    with consumers(subbuzz_exe, subprocess_env, second_dir) as (second,):
        wait_until(
            lambda: drained(nsq_settings, topic, channel, 10_000),
            120,
            "the rest counted by a second consumer",
            [second],
        )
        assert second.stop() == 0, second.log()
    assert_counters_exact(store, prefix, events)


def test_two_consumers_on_one_channel_are_exact(
    subbuzz_exe: str,
    subprocess_env: dict[str, str],
    nsq_settings: NsqSettings,
    store: Store,
    tmp_path: Path,
) -> None:
    prefix = run_prefix()
    events = make_events(seed=15, count=10_000, prefix=prefix, now_ms=now_ms())
    topic, channel = nsq_settings.topic, nsq_settings.channel
    create_topic(nsq_settings, topic, channel)
    with consumers(subbuzz_exe, subprocess_env, tmp_path, count=2) as pair:
        # Both connected before publishing, so nsqd spreads the stream over them.
        time.sleep(1.0)
        publish(nsq_settings, topic, [encode(event) for event in events])
        wait_until(
            lambda: sum(p.metric("subbuzz_consumer_events_counted_total") for p in pair) >= 10_000,
            120,
            "10,000 events counted",
            pair,
        )
        shares = [p.metric("subbuzz_consumer_events_counted_total") for p in pair]
        wait_until(
            lambda: drained(nsq_settings, topic, channel, 10_000), 30, "channel drained", pair
        )
        for process in pair:
            assert process.stop() == 0, process.log()
    assert sum(shares) == 10_000
    assert all(share > 0 for share in shares), shares
    assert_counters_exact(store, prefix, events)


def deliver_and_requeue(
    nsq_settings: NsqSettings, topic: str, channel: str, count: int, deliveries: int
) -> None:
    """Take each of ``count`` messages ``deliveries`` times on ``channel``, requeueing it each
    time, as a consumer that keeps failing would."""

    async def churn() -> None:
        finished: set[bytes] = set()
        done = asyncio.Event()

        def handler(message: nsq.Message) -> None:
            message.enable_async()
            if message.attempts < deliveries:
                message.requeue(backoff=False, time_ms=0)
                return
            # Deferred past this reader's life, so the next delivery goes to the consumer.
            message.requeue(backoff=False, time_ms=1500)
            finished.add(message.id)
            if len(finished) >= count:
                done.set()

        reader = nsq.Reader(
            topic=topic,
            channel=channel,
            message_handler=handler,
            max_tries=0,
            nsqd_tcp_addresses=list(nsq_settings.nsqd_tcp_addresses),
            max_in_flight=count,
        )
        try:
            await asyncio.wait_for(done.wait(), 30)
            await asyncio.sleep(0.5)  # let the last REQs leave before closing
        finally:
            reader.close()

    asyncio.run(churn())


def test_messages_delivered_too_often_are_dead_lettered_not_dropped(
    subbuzz_exe: str,
    subprocess_env: dict[str, str],
    nsq_settings: NsqSettings,
    store: Store,
    tmp_path: Path,
) -> None:
    prefix = run_prefix()
    events = make_events(seed=16, count=5, prefix=prefix, now_ms=now_ms())
    bodies = [encode(event) for event in events]
    topic, channel = nsq_settings.topic, nsq_settings.channel
    create_topic(nsq_settings, topic, channel)
    publish(nsq_settings, topic, bodies)
    deliver_and_requeue(nsq_settings, topic, channel, count=5, deliveries=3)
    with consumers(subbuzz_exe, subprocess_env, tmp_path, SUBBUZZ_MAX_TRIES="3") as (consumer,):
        wait_until(
            lambda: drained(nsq_settings, topic, channel, len(bodies)),
            60,
            "every message answered",
            [consumer],
        )
        metrics = consumer.metrics()
        assert consumer.stop() == 0, consumer.log()
    letters = [
        decode_dead_letter(raw)
        for raw in read_topic(nsq_settings, nsq_settings.dead_letter_topic, 5, 30)
    ]
    assert sorted((letter.body or "", letter.reason, letter.attempts) for letter in letters) == (
        sorted((body.decode(), "giving_up", 4) for body in bodies)
    )
    assert metrics["subbuzz_consumer_dead_letters_total{reason=giving_up}"] == 5
    assert metrics["subbuzz_consumer_events_counted_total"] == 0
    views, _ = read_counters(store, prefix)
    assert not any(views.values())


def test_a_consumer_finds_nsqd_through_nsqlookupd(
    subbuzz_exe: str,
    subprocess_env: dict[str, str],
    nsq_settings: NsqSettings,
    store: Store,
    tmp_path: Path,
) -> None:
    """As compose.yaml runs it: nsqd nodes discovered through nsqlookupd's HTTP API."""
    prefix = run_prefix()
    events = make_events(seed=17, count=2_000, prefix=prefix, now_ms=now_ms())
    topic, channel = nsq_settings.topic, nsq_settings.channel
    # Creating the topic registers it with nsqlookupd, which the consumer then asks.
    create_topic(nsq_settings, topic, channel)
    lookupd = f"127.0.0.1:{StackSettings.from_env(subprocess_env).nsqlookupd_http_port}"
    wait_until(
        lambda: topic in httpx.get(f"http://{lookupd}/topics", timeout=2).text,
        10,
        "nsqlookupd to know the topic",
    )
    with consumers(
        subbuzz_exe, subprocess_env, tmp_path, count=1, SUBBUZZ_LOOKUPD_HTTP_ADDRESSES=lookupd
    ) as (consumer,):
        publish(nsq_settings, topic, [encode(event) for event in events])
        wait_until(
            lambda: drained(nsq_settings, topic, channel, 2_000), 60, "channel drained", [consumer]
        )
        assert consumer.metric("subbuzz_consumer_events_counted_total") == 2_000
        assert consumer.stop() == 0, consumer.log()
    assert_counters_exact(store, prefix, events)
