from __future__ import annotations

import itertools
import json
from collections import Counter

import pytest

from simulator.jsonlines import encode
from simulator.model import MAX_TIME_MS, Event, TrafficModel, TrafficShape

NOW_MS = 1_790_000_000_000
_FIXED_CLOCK = lambda: NOW_MS  # noqa: E731


def _events(seed: int, count: int, shape: TrafficShape | None = None) -> list[Event]:
    model = TrafficModel(seed, shape)
    return list(itertools.islice(model.events(_FIXED_CLOCK), count))


@pytest.fixture(scope="module")
def sample() -> list[Event]:
    return _events(seed=20240501, count=30_000)


def _contract_problems(body: bytes, now_ms: int) -> list[str]:
    """Contract v1 as architecture.md states it, checked field by field on the wire form."""
    problems = []
    if len(body) > 64 * 1024:
        problems.append("too_big")
    event = json.loads(body)

    def text(name: str, longest: int, *, required: bool = True) -> None:
        if name not in event:
            if required:
                problems.append(f"missing:{name}")
            return
        value = event[name]
        if not isinstance(value, str) or not 1 <= len(value) <= longest:
            problems.append(f"bad:{name}")

    def integer(name: str, low: int, high: int) -> None:
        value = event.get(name)
        if type(value) is not int or not low <= value <= high:
            problems.append(f"bad:{name}")

    text("event_id", 64)
    text("article_id", 128)
    text("subbuzz_id", 128)
    text("session_id", 128, required=False)
    text("user_id", 128, required=False)
    integer("position", 0, 9999)
    integer("time_ms", 0, MAX_TIME_MS)
    integer("ts", now_ms - 7 * 86_400_000, now_ms + 5 * 60_000)
    if event.get("v", 1) != 1:
        problems.append("bad:v")
    return problems


def test_the_same_seed_gives_the_same_events() -> None:
    assert _events(seed=5, count=2_000) == _events(seed=5, count=2_000)


def test_different_seeds_give_different_traffic_and_disjoint_keys() -> None:
    first, second = _events(seed=5, count=2_000), _events(seed=6, count=2_000)
    assert [e.time_ms for e in first] != [e.time_ms for e in second]
    assert not {e.article_id for e in first} & {e.article_id for e in second}
    assert not {e.event_id for e in first} & {e.event_id for e in second}


def test_every_event_is_valid_contract_v1(sample: list[Event]) -> None:
    invalid = {}
    for event in sample:
        problems = _contract_problems(encode(event), NOW_MS)
        if problems:
            invalid[event.event_id] = problems
    assert invalid == {}


def test_wire_form_is_one_line_with_v_and_without_empty_user(sample: list[Event]) -> None:
    anonymous = next(event for event in sample if event.user_id is None)
    body = encode(anonymous)
    assert b"\n" not in body
    decoded = json.loads(body)
    assert "user_id" not in decoded
    assert decoded["v"] == 1


def test_event_ids_are_unique(sample: list[Event]) -> None:
    assert len({event.event_id for event in sample}) == len(sample)


def test_ts_is_near_the_clock_and_never_in_the_future(sample: list[Event]) -> None:
    lags = sorted(NOW_MS - event.ts for event in sample)
    assert lags[0] >= 0
    assert lags[len(lags) // 2] < 1_000
    assert lags[-1] <= 60_000


def test_articles_have_5_to_60_subbuzzes() -> None:
    model = TrafficModel(11, TrafficShape(articles=400))
    sizes = [len(article.subbuzz_ids) for article in model.articles]
    assert min(sizes) >= 5 and max(sizes) <= 60
    # uniform over 5..60: both ends are reached with 400 articles
    assert min(sizes) <= 7 and max(sizes) >= 58


def test_article_popularity_is_zipf_like(sample: list[Event]) -> None:
    views = Counter(event.article_id for event in sample)
    ranked = [count for _, count in views.most_common()]
    # Zipf(1.1): rank 1 vs rank 10, and rank 10 vs rank 100, differ by ~10^1.1 ~ 12.6
    # (noisy, since articles differ in length).
    assert ranked[0] > 5 * ranked[9]
    assert ranked[9] > 4 * ranked[99]
    top_ten_share = sum(ranked[:10]) / len(sample)
    assert 0.25 < top_ten_share < 0.6


def test_views_decay_with_position(sample: list[Event]) -> None:
    by_position = Counter(event.position for event in sample)
    first_positions = [by_position[position] for position in range(12)]
    assert first_positions == sorted(first_positions, reverse=True)
    assert by_position[10] < 0.35 * by_position[0]
    assert max(by_position) >= 40  # long articles are still read deep by a few


def test_position_matches_the_articles_subbuzz() -> None:
    model = TrafficModel(3)
    subbuzzes = {article.article_id: article.subbuzz_ids for article in model.articles}
    for event in itertools.islice(model.events(_FIXED_CLOCK), 5_000):
        assert subbuzzes[event.article_id][event.position] == event.subbuzz_id


def test_time_in_view_is_log_normal_and_clamped(sample: list[Event]) -> None:
    times = sorted(event.time_ms for event in sample)
    median = times[len(times) // 2]
    assert 3_000 < median < 5_300  # configured median 4 s
    assert times[int(0.99 * len(times))] > 5 * median  # a long right tail
    assert times[0] >= 0 and times[-1] <= MAX_TIME_MS


def test_time_in_view_is_clamped_to_the_contract() -> None:
    shape = TrafficShape(time_in_view_median_ms=3_000_000, time_in_view_sigma=2.0)
    times = [e.time_ms for e in _events(seed=1, count=2_000, shape=shape)]
    assert max(times) == MAX_TIME_MS


def test_anonymous_share_is_as_configured(sample: list[Event]) -> None:
    anonymous = sum(event.user_id is None for event in sample) / len(sample)
    assert 0.25 < anonymous < 0.35
    assert all(event.session_id for event in sample)

    everyone_anonymous = _events(seed=2, count=1_000, shape=TrafficShape(anonymous_share=1.0))
    assert all(event.user_id is None for event in everyone_anonymous)


def test_sessions_view_several_subbuzzes_and_users_have_several_sessions(
    sample: list[Event],
) -> None:
    views_per_session = Counter(event.session_id for event in sample)
    assert sum(views_per_session.values()) / len(views_per_session) > 4
    sessions_of_user: dict[str, set[str]] = {}
    for event in sample:
        if event.user_id is not None and event.session_id is not None:
            sessions_of_user.setdefault(event.user_id, set()).add(event.session_id)
    assert len(sessions_of_user) > 100
    assert sum(map(len, sessions_of_user.values())) / len(sessions_of_user) > 2
    # a session belongs to one user
    user_of_session = {(e.session_id, e.user_id) for e in sample if e.user_id is not None}
    assert len(user_of_session) == len({session for session, _ in user_of_session})


def test_sessions_interleave(sample: list[Event]) -> None:
    switches = sum(a.session_id != b.session_id for a, b in itertools.pairwise(sample[:1_000]))
    assert switches > 900


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(ValueError):
        TrafficShape(articles=0)
    with pytest.raises(ValueError):
        TrafficShape(min_subbuzzes=10, max_subbuzzes=5)
    with pytest.raises(ValueError):
        TrafficShape(continue_probability=1.0)
