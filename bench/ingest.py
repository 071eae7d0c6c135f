"""Ingest benchmark (`make bench-ingest`): how fast events become correct counters.

One run publishes the same simulated events (same seed and traffic; each consumer run gets its
own ids, so runs never add to each other's counters) to a fresh nsqd topic per consumer run,
with one fresh, migrated keyspace for the whole benchmark, and measures three consumers:

  (a) a pynsq reader that only FINs (bench/null_reader.py): the ceiling of any pynsq consumer;
  (b) the simplest design, one UPDATE per table per event (bench/naive_consumer.py);
  (c) subbuzz's consumer (`subbuzz consume`).

End-to-end rate = events / (first publish -> every article's counters equal ground truth from
the events themselves; for (a): every message FINed). Then the visibility lag of (c): publish at
half its median rate, with a probe event for a probe-only article every 100 ms, and time how long
each probe takes to show in `article_totals`. Peak RSS is the consumer's VmHWM. Every phase has
a timeout; topics and the keyspace are deleted at the end. Results go to the ingest section of
docs/BENCHMARKS.md. Services come from the SUBBUZZ_* environment (default: `subbuzz stack up`).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import queue
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import machine
import nsqd_admin
import report
from processes import ConsumerProcess, cpu_seconds

from cql import migrations
from cql.store import Store
from simulator.jsonlines import encode
from simulator.model import Event, TrafficModel
from simulator.pacing import Pacer
from simulator.publisher import NsqdHttpPublisher
from simulator.run import epoch_ms
from simulator.truth import ArticleTruth, article_totals
from subbuzz.config import CassandraSettings, NsqSettings, env_name

BENCH_DIR = Path(__file__).resolve().parent
DOCS = BENCH_DIR.parent / "docs" / "BENCHMARKS.md"
CONSUMERS = {
    "a": "(a) null pynsq reader, FIN only",
    "b": "(b) naive: one UPDATE per table per event",
    "c": "(c) `subbuzz consume`",
}
PUBLISH_BATCH = 1_000
PROBE_PERIOD_S = 0.1


def say(message: str) -> None:
    print(f"[bench-ingest {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class RunFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class Measurement:
    kind: str
    events: int
    seconds: float
    peak_rss_mb: float
    cpu_s: float
    load: float  # 1-minute load average at the end: how busy the shared machine was

    @property
    def rate(self) -> float:
        return self.events / self.seconds


@dataclass(frozen=True)
class LagResult:
    target_rate: float
    achieved_rate: float
    seconds: float
    lags_s: list[float]
    missing: int
    peak_rss_mb: float
    load: float

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.lags_s)
        return ordered[min(len(ordered) - 1, max(0, int(fraction * len(ordered) + 0.5) - 1))]


def _simulated(seed: int, tag: str, count: int) -> list[Event]:
    return list(itertools.islice(TrafficModel(seed, tag=tag).events(epoch_ms), count))


class IngestBench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.run_id = uuid.uuid4().hex[:6]
        self.cassandra = CassandraSettings.from_env(keyspace=f"bench_{self.run_id}")
        self.nsq = NsqSettings.from_env()
        self.workdir = Path(tempfile.mkdtemp(prefix=f"bench-ingest-{self.run_id}-"))
        self.store: Store | None = None
        self._topics: list[str] = []

    # -- setup and teardown ------------------------------------------------------------------

    async def open(self) -> Store:
        say(f"keyspace {self.cassandra.keyspace}: migrating")
        store = await Store.open(self.cassandra, keyspace=False)
        await asyncio.to_thread(migrations.apply, store, progress=lambda _: None)
        store.session.set_keyspace(self.cassandra.keyspace)
        self.store = store
        return store

    def close(self) -> None:
        for topic in self._topics:
            try:
                nsqd_admin.delete_topic(self.nsq.nsqd_http_address, topic)
            except OSError as exc:
                say(f"could not delete topic {topic}: {exc}")
        if self.store is not None:
            say(f"dropping keyspace {self.cassandra.keyspace}")
            self.store.execute_sync(f"DROP KEYSPACE IF EXISTS {self.cassandra.keyspace}")
            self.store.close()

    # -- consumers -----------------------------------------------------------------------------

    def _start(self, kind: str, topic: str) -> ConsumerProcess:
        dead_topic = f"{topic}_dead"
        self._topics += [topic, dead_topic]
        env = dict(os.environ)
        env.update(
            {
                env_name("keyspace"): self.cassandra.keyspace,
                env_name("topic"): topic,
                env_name("dead_letter_topic"): dead_topic,
                env_name("channel"): self.nsq.channel,
                env_name("nsqd_tcp_addresses"): ",".join(self.nsq.nsqd_tcp_addresses),
                env_name("lookupd_http_addresses"): "",
                env_name("metrics_port"): "0",  # any free port: other consumers may run here
            }
        )
        python = sys.executable
        argv = {
            "a": [python, str(BENCH_DIR / "null_reader.py")],
            "b": [python, str(BENCH_DIR / "naive_consumer.py")],
            "c": [str(Path(python).parent / "subbuzz"), "consume", *self.args.consumer_arg],
        }[kind]
        return ConsumerProcess(argv, env, self.workdir / f"{topic}.log")

    async def _subscribed(self, consumer: ConsumerProcess, topic: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if not consumer.alive():
                raise RunFailed(f"consumer exited early:\n{consumer.log_tail()}")
            progress = await asyncio.to_thread(
                nsqd_admin.channel_progress, self.nsq.nsqd_http_address, topic, self.nsq.channel
            )
            if progress is not None and progress.clients > 0:
                await asyncio.sleep(0.5)  # let it send RDY
                return
            await asyncio.sleep(0.2)
        raise RunFailed(f"consumer did not subscribe within 60 s:\n{consumer.log_tail()}")

    # -- end-to-end throughput ------------------------------------------------------------

    def _publish_all(self, topic: str, bodies: Sequence[bytes]) -> float:
        started = time.monotonic()
        with NsqdHttpPublisher(self.nsq.nsqd_http_address, topic) as publisher:
            for offset in range(0, len(bodies), PUBLISH_BATCH):
                publisher.publish(bodies[offset : offset + PUBLISH_BATCH])
        return time.monotonic() - started

    async def _counters_match(self, truth: dict[str, ArticleTruth]) -> bool:
        assert self.store is not None
        found = await self.store.article_totals(list(truth))
        over = []
        for article_id, expected in truth.items():
            totals = found[article_id]
            views, time_ms = (totals.views, totals.time_ms) if totals else (0, 0)
            if views > expected.views or time_ms > expected.time_ms:
                over.append(article_id)
            elif (views, time_ms) != expected:
                return False
        if over:
            raise RunFailed(f"{len(over)} articles counted more than ground truth, e.g. {over[0]}")
        return True

    async def throughput(self, kind: str, count: int, number: int) -> Measurement:
        tag = f"{self.run_id}-{kind}{number}"
        events = _simulated(self.args.seed, tag, count)
        bodies = [encode(event) for event in events]
        truth = article_totals(events)
        topic = f"bench_{tag}"
        consumer = self._start(kind, topic)
        try:
            await self._subscribed(consumer, topic)
            started = time.monotonic()
            cpu_before = cpu_seconds(consumer.pid)
            publishing = asyncio.ensure_future(asyncio.to_thread(self._publish_all, topic, bodies))
            deadline = started + self.args.timeout
            last_check = last_report = started
            while True:
                now = time.monotonic()
                if now > deadline:
                    raise RunFailed(f"not done after {self.args.timeout:.0f} s (--timeout)")
                if not consumer.alive():
                    raise RunFailed(f"consumer died:\n{consumer.log_tail()}")
                progress = await asyncio.to_thread(
                    nsqd_admin.channel_progress,
                    self.nsq.nsqd_http_address,
                    topic,
                    self.nsq.channel,
                )
                finished = progress.finished if progress else 0
                if kind == "a":
                    if finished >= count:
                        break
                elif finished >= count or now - last_check >= 3.0:
                    last_check = now
                    if await self._counters_match(truth):
                        break
                if now - last_report >= 5.0:
                    last_report = now
                    say(f"  {kind}{number}: {finished:,}/{count:,} FINed, {now - started:.0f} s")
                await asyncio.sleep(0.1 if kind == "a" else 0.25)
            seconds = time.monotonic() - started
            publish_s = await publishing
            measurement = Measurement(
                kind=kind,
                events=count,
                seconds=seconds,
                peak_rss_mb=consumer.peak_rss_mb(),
                cpu_s=cpu_seconds(consumer.pid) - cpu_before,
                load=os.getloadavg()[0],
            )
        finally:
            code = consumer.stop()
        say(
            f"  {kind}{number}: {count:,} events in {seconds:.2f} s = {measurement.rate:,.0f}/s "
            f"(publishing took {publish_s:.2f} s), peak RSS {measurement.peak_rss_mb:.0f} MB, "
            f"consumer CPU {measurement.cpu_s:.1f} s, load {measurement.load:.1f}, exit {code}"
        )
        return measurement

    # -- visibility lag ------------------------------------------------------------------

    def _publish_paced(
        self, topic: str, rate: float, probes: queue.SimpleQueue[tuple[str, float]]
    ) -> float:
        tag = f"{self.run_id}-lag"
        stream = TrafficModel(self.args.seed, tag=tag).events(epoch_ms)
        pacer = Pacer(rate=rate, count=None, duration_s=self.args.lag_seconds, max_batch=5_000)
        sent = 0
        next_probe = 0.0
        with NsqdHttpPublisher(self.nsq.nsqd_http_address, topic) as publisher:
            while size := pacer.next_batch(sent):
                bodies = [encode(event) for event in itertools.islice(stream, size)]
                probe_id = None
                if pacer.elapsed() >= next_probe:
                    next_probe += PROBE_PERIOD_S
                    probe_id = f"probe-{tag}-{sent}"
                    bodies.append(encode(_probe(probe_id)))
                sent_at = time.monotonic()
                publisher.publish(bodies)
                if probe_id is not None:
                    probes.put((probe_id, sent_at))
                sent += len(bodies)
        return sent / pacer.elapsed()

    async def lag(self, kind: str, rate: float) -> LagResult:
        assert self.store is not None
        topic = f"bench_{self.run_id}-lag"
        consumer = self._start(kind, topic)
        probes: queue.SimpleQueue[tuple[str, float]] = queue.SimpleQueue()
        pending: dict[str, float] = {}
        lags: list[float] = []
        try:
            await self._subscribed(consumer, topic)
            started = time.monotonic()
            publishing = asyncio.ensure_future(
                asyncio.to_thread(self._publish_paced, topic, rate, probes)
            )
            last_report = started
            while not publishing.done() or (pending or not probes.empty()):
                if time.monotonic() > started + self.args.lag_seconds + 30:
                    break  # the rest count as missing
                if not consumer.alive():
                    raise RunFailed(f"consumer died:\n{consumer.log_tail()}")
                while not probes.empty():
                    probe_id, sent_at = probes.get()
                    pending[probe_id] = sent_at
                if pending:
                    found = await self.store.article_totals(list(pending))
                    seen_at = time.monotonic()
                    for probe_id, totals in found.items():
                        if totals is not None and totals.views >= 1:
                            lags.append(seen_at - pending.pop(probe_id))
                if time.monotonic() - last_report >= 5.0:
                    last_report = time.monotonic()
                    worst = max(lags[-50:], default=0.0)
                    say(f"  lag: {len(lags)} probes seen, recent max {worst:.2f} s")
                await asyncio.sleep(0.05)
            achieved = await publishing
            peak = consumer.peak_rss_mb()
        finally:
            consumer.stop()
        return LagResult(
            target_rate=rate,
            achieved_rate=achieved,
            seconds=self.args.lag_seconds,
            lags_s=lags,
            missing=len(pending) + probes.qsize(),
            peak_rss_mb=peak,
            load=os.getloadavg()[0],
        )


def _probe(probe_id: str) -> Event:
    return Event(
        event_id=probe_id,
        ts=epoch_ms(),
        article_id=probe_id,
        subbuzz_id="probe",
        position=0,
        time_ms=1,
        session_id=probe_id,
        v=1,
    )


# -- the run and its report ------------------------------------------------------------------


@dataclass
class Results:
    measurements: dict[str, list[Measurement]]
    failures: dict[str, list[str]]
    lag: LagResult | None = None
    lag_failure: str | None = None

    def median_rate(self, kind: str) -> float | None:
        runs = self.measurements.get(kind)
        return statistics.median(m.rate for m in runs) if runs else None


async def run_bench(args: argparse.Namespace) -> tuple[Results, IngestBench, list[str]]:
    bench = IngestBench(args)
    results = Results({kind: [] for kind in args.only}, {kind: [] for kind in args.only})
    services: list[str] = []
    try:
        store = await bench.open()
        release = store.execute_sync("SELECT release_version FROM system.local").one()
        services = [
            f"Cassandra {release.release_version}",
            f"nsqd {nsqd_admin.version(bench.nsq.nsqd_http_address)}",
        ]
        for number in range(1, args.repeats + 1):
            for kind in args.only:
                if kind == "b" and number > args.naive_repeats:
                    continue
                count = args.naive_events if kind == "b" else args.events
                say(f"{CONSUMERS[kind]}: run {number}, {count:,} events")
                try:
                    results.measurements[kind].append(await bench.throughput(kind, count, number))
                except RunFailed as exc:
                    say(f"  {kind}{number} FAILED: {exc}")
                    results.failures[kind].append(str(exc).splitlines()[0])
        kind = args.lag_consumer
        max_rate = results.median_rate(kind)
        rate = args.lag_rate or (max_rate / 2 if max_rate else None)
        if kind in args.only and rate and args.lag_seconds > 0:
            say(f"visibility lag of ({kind}): {rate:,.0f} events/s for {args.lag_seconds:.0f} s")
            try:
                results.lag = await bench.lag(kind, rate)
            except RunFailed as exc:
                say(f"  lag FAILED: {exc}")
                results.lag_failure = str(exc).splitlines()[0]
    finally:
        bench.close()
    return results, bench, services


def _mb(value: float) -> str:
    return f"{value:,.0f}"


def render(args: argparse.Namespace, results: Results, services: list[str]) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "## Ingest",
        "",
        f"Measured {when} by `make bench-ingest` (`bench/ingest.py`; method in its docstring). "
        f"Simulated events (seed {args.seed}, default traffic shape: 500 Zipf-popular articles); "
        "each consumer run reads a fresh topic with the same traffic under its own ids, into "
        "one fresh keyspace. End-to-end = first publish until every article's `article_totals` "
        "counters equal the ground truth computed from the events (polled every 0.25 s; "
        "(a): until nsqd reports every message FINed). Runs are interleaved a, b, c, a, c, …; "
        "rates are medians with (min-max). The machine is shared and noisy: read the ratios.",
        "",
        "| consumer | events per run | runs | end-to-end events/s, median (min-max) "
        "| consumer CPU µs/event, median | peak RSS MB, max | load avg at end |",
        "|---|---:|---:|---|---:|---:|---|",
    ]
    for kind, runs in results.measurements.items():
        failed = results.failures[kind]
        if runs:
            rates = [m.rate for m in runs]
            events = runs[0].events
            size = f"{events:,}" + (" (a slice)" if events < args.events else "")
            cpu = statistics.median(1e6 * m.cpu_s / m.events for m in runs)
            cell = f"{statistics.median(rates):,.0f} ({min(rates):,.0f}-{max(rates):,.0f})"
            if failed:
                cell += f"; {len(failed)} failed: {failed[0]}"
            lines.append(
                f"| {CONSUMERS[kind]} | {size} | {len(runs)} | {cell} | {cpu:,.0f} "
                f"| {_mb(max(m.peak_rss_mb for m in runs))} "
                f"| {', '.join(f'{m.load:.1f}' for m in runs)} |"
            )
        else:
            reason = failed[0] if failed else "not run"
            lines.append(f"| {CONSUMERS[kind]} | - | 0 | failed: {reason} | - | - | - |")
    lines.append("")
    lag = results.lag
    if lag is not None and lag.lags_s:
        lines.append(
            f"Visibility lag of ({args.lag_consumer}) at {lag.target_rate:,.0f} events/s "
            f"({'as requested' if args.lag_rate else 'half its median rate'}; "
            f"{lag.achieved_rate:,.0f}/s achieved) for {lag.seconds:.0f} s, a probe event every "
            f"{PROBE_PERIOD_S * 1000:.0f} ms, timed from publish until `article_totals` shows it "
            f"(polled every 50 ms): {len(lag.lags_s)} probes, p50 {lag.percentile(0.5):.2f} s, "
            f"p99 {lag.percentile(0.99):.2f} s, max {max(lag.lags_s):.2f} s, "
            f"{lag.missing} never seen; peak RSS {_mb(lag.peak_rss_mb)} MB; load average at the "
            f"end {lag.load:.1f}."
        )
    else:
        lines.append(
            f"Visibility lag of ({args.lag_consumer}): not measured "
            f"({results.lag_failure or 'no rate'})."
        )
    lines += ["", "| target | measured | met |", "|---|---|---|"]
    a, b, c = (results.median_rate(kind) for kind in "abc")
    peak_c = max((m.peak_rss_mb for m in results.measurements.get("c", [])), default=None)
    if lag is not None and lag.lags_s:
        peak_c = max(peak_c or 0.0, lag.peak_rss_mb)
    p99 = lag.percentile(0.99) if lag is not None and lag.lags_s and not lag.missing else None
    lines += [
        _target("(c)/(a) ≥ 0.7", c / a if a and c else None, lambda v: v >= 0.7, "{:.2f}"),
        _target("(c)/(b) ≥ 10", c / b if b and c else None, lambda v: v >= 10, "{:.1f}"),
        _target("visibility lag p99 ≤ 2 s", p99, lambda v: v <= 2.0, "{:.2f} s"),
        _target("consumer peak RSS ≤ 250 MB", peak_c, lambda v: v <= 250, "{:.0f} MB"),
    ]
    lines += ["", "Machine:", *machine.describe(*services)]
    return "\n".join(lines) + "\n"


def _target(name: str, value: float | None, ok: Callable[[float], bool], fmt: str) -> str:
    if value is None:
        return f"| {name} | not measured | - |"
    met = "yes" if ok(value) else "**no**"
    return f"| {name} | {fmt.format(value)} | {met} |"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=200_000, help="events per run (200000)")
    parser.add_argument(
        "--naive-events",
        type=int,
        default=20_000,
        help="events per run of (b), the naive consumer: a slice, since it is slow (20000)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs of (a) and (c) (3)")
    parser.add_argument("--naive-repeats", type=int, default=1, help="runs of (b) (1)")
    parser.add_argument("--only", default="abc", help="consumers to run, e.g. 'ac' (abc)")
    parser.add_argument("--seed", type=int, default=20260501)
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="seconds one run may take (300)"
    )
    parser.add_argument("--lag-seconds", type=float, default=30.0, help="lag phase length (30)")
    parser.add_argument(
        "--lag-rate", type=float, help="publish rate of the lag phase (default: half of (c))"
    )
    parser.add_argument(
        "--lag-consumer", choices=["b", "c"], default="c", help="whose lag to measure (c)"
    )
    parser.add_argument(
        "--consumer-arg",
        action="append",
        default=[],
        help="extra argument for `subbuzz consume` (repeatable)",
    )
    parser.add_argument(
        "--no-report", action="store_true", help="print the section, do not edit BENCHMARKS.md"
    )
    args = parser.parse_args(argv)
    args.only = [kind for kind in "abc" if kind in args.only]
    args.naive_events = min(args.naive_events, args.events)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    results, bench, services = asyncio.run(run_bench(args))
    section = render(args, results, services)
    print(section)
    if args.no_report:
        say(f"not written (--no-report); consumer logs in {bench.workdir}")
    else:
        report.replace_section(DOCS, "ingest", section)
        say(f"wrote the ingest section of {DOCS}; consumer logs in {bench.workdir}")
    failed = any(results.failures.values()) or results.lag_failure
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
