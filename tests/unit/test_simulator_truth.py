from __future__ import annotations

import itertools
from pathlib import Path

from simulator.jsonlines import decode, encode, read_events
from simulator.model import Event, TrafficModel
from simulator.truth import ArticleTruth, article_totals


def _event(event_id: str, article_id: str, time_ms: int) -> Event:
    return Event(
        event_id=event_id,
        ts=1_790_000_000_000,
        article_id=article_id,
        subbuzz_id="sb",
        position=0,
        time_ms=time_ms,
        v=1,
    )


def test_article_totals_count_views_and_sum_time() -> None:
    events = [_event("1", "a", 100), _event("2", "b", 7), _event("3", "a", 0), _event("4", "a", 5)]
    assert article_totals(events) == {"a": ArticleTruth(3, 105), "b": ArticleTruth(1, 7)}
    assert article_totals([]) == {}


def test_article_totals_add_up_to_the_whole_stream() -> None:
    events = list(itertools.islice(TrafficModel(9).events(lambda: 1_790_000_000_000), 5_000))
    totals = article_totals(events)
    assert sum(t.views for t in totals.values()) == 5_000
    assert sum(t.time_ms for t in totals.values()) == sum(e.time_ms for e in events)


def test_events_round_trip_through_the_jsonlines_file(tmp_path: Path) -> None:
    events = list(itertools.islice(TrafficModel(4).events(lambda: 1_790_000_000_000), 300))
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"".join(encode(event) + b"\n" for event in events))
    assert list(read_events(path)) == events
    assert decode(encode(events[0])) == events[0]
