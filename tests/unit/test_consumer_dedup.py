"""The duplicate window: bounded, oldest forgotten first, ids can be taken back."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consumer.dedup import DuplicateWindow


def test_a_repeat_inside_the_window_is_a_duplicate() -> None:
    window = DuplicateWindow(3)
    assert window.admit("a")
    assert not window.admit("a")
    assert window.admit("b") and window.admit("c")
    assert not window.admit("a")


def test_the_oldest_id_leaves_first() -> None:
    window = DuplicateWindow(2)
    assert window.admit("a") and window.admit("b") and window.admit("c")
    assert len(window) == 2
    assert "a" not in window
    assert window.admit("a")  # forgotten, so counted again
    assert "b" not in window and "c" in window


def test_forget_takes_an_id_back() -> None:
    window = DuplicateWindow(5)
    window.admit("a")
    window.forget("a")
    window.forget("never-seen")
    assert window.admit("a")


def test_size_must_be_positive() -> None:
    with pytest.raises(ValueError):
        DuplicateWindow(0)


@given(
    st.lists(st.integers(min_value=0, max_value=30).map(str), max_size=200),
    st.integers(min_value=1, max_value=40),
)
def test_matches_a_reference_model(ids: list[str], size: int) -> None:
    window = DuplicateWindow(size)
    recent: list[str] = []
    for event_id in ids:
        expected = event_id not in recent
        assert window.admit(event_id) is expected
        if expected:
            recent.append(event_id)
            recent = recent[-size:]
        assert len(window) == len(recent) <= size
