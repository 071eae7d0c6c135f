from __future__ import annotations

import pytest

from simulator.pacing import Pacer


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _drain(pacer: Pacer) -> list[int]:
    sizes = []
    sent = 0
    while size := pacer.next_batch(sent):
        sizes.append(size)
        sent += size
    return sizes


def test_as_fast_as_possible_sends_full_batches_up_to_the_count() -> None:
    time = FakeTime()
    pacer = Pacer(
        rate=None, count=1_234, duration_s=None, max_batch=500, clock=time.clock, sleep=time.sleep
    )
    assert _drain(pacer) == [500, 500, 234]
    assert time.slept == []


def test_a_fixed_rate_spreads_batches_over_time() -> None:
    time = FakeTime()
    pacer = Pacer(
        rate=1_000, count=2_000, duration_s=None, max_batch=500, clock=time.clock, sleep=time.sleep
    )
    sizes = _drain(pacer)
    assert sizes == [50] * 40  # one batch per 50 ms
    # the last batch starts at 1.95 s: 2,000 events in 2 s
    assert pacer.elapsed() == pytest.approx(1.95)


def test_a_duration_ends_the_run() -> None:
    time = FakeTime()
    pacer = Pacer(
        rate=200, count=None, duration_s=3.0, max_batch=500, clock=time.clock, sleep=time.sleep
    )
    assert sum(_drain(pacer)) == 600


def test_a_slow_sender_is_not_made_slower() -> None:
    time = FakeTime()
    pacer = Pacer(rate=100, count=100, duration_s=None, clock=time.clock, sleep=time.sleep)
    time.now += 10.0  # far behind schedule: no sleeping until caught up
    assert pacer.next_batch(0) == 5
    assert time.slept == []


def test_a_count_or_duration_is_required() -> None:
    with pytest.raises(ValueError):
        Pacer(rate=None, count=None, duration_s=None)
    with pytest.raises(ValueError):
        Pacer(rate=0, count=1, duration_s=None)
