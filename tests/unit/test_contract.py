"""Contract v1 validation: every input gives an Event or a Rejection with a reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consumer.contract import (
    DEFAULT_LATE_HORIZON_MS,
    FUTURE_LIMIT_MS,
    MAX_MESSAGE_BYTES,
    ContractLimits,
    Event,
    Rejection,
    validate,
)

NOW_MS = 1_796_256_000_000  # 2026-12-03T00:00:00Z

VALID = {
    "event_id": "e-1",
    "ts": NOW_MS - 1_000,
    "article_id": "article-1",
    "subbuzz_id": "sb-1",
    "position": 3,
    "time_ms": 1_500,
    "session_id": "s-1",
    "user_id": "u-1",
}


def check(document: object, now_ms: int = NOW_MS, **limits: int) -> Event | Rejection:
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    return validate(body, now_ms=now_ms, limits=ContractLimits(**limits))


def reason_of(document: object, **limits: int) -> str:
    result = check(document, **limits)
    assert isinstance(result, Rejection), result
    return result.reason


def test_a_valid_event_keeps_every_field() -> None:
    assert check(VALID) == Event(
        event_id="e-1",
        ts_ms=NOW_MS - 1_000,
        article_id="article-1",
        subbuzz_id="sb-1",
        position=3,
        time_ms=1_500,
        session_id="s-1",
        user_id="u-1",
    )


def test_optional_fields_may_be_absent_or_null_and_extra_fields_are_ignored() -> None:
    document = {k: v for k, v in VALID.items() if k not in {"session_id", "user_id"}}
    event = check({**document, "v": 1, "referrer": {"x": [1, 2]}, "user_id": None})
    assert isinstance(event, Event)
    assert (event.session_id, event.user_id) == (None, None)


@pytest.mark.parametrize(
    ("ts", "expected_ms"),
    [
        ("2026-12-02T23:59:59.250Z", NOW_MS - 750),
        ("2026-12-03T00:59:00+01:00", NOW_MS - 60_000),
        ("2026-12-02T19:00:00.999-05:00", NOW_MS + 999),
    ],
)
def test_iso_timestamps_with_an_offset_become_utc_milliseconds(ts: str, expected_ms: int) -> None:
    event = check({**VALID, "ts": ts})
    assert isinstance(event, Event)
    assert event.ts_ms == expected_ms


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"ts": "2026-12-02T23:00:00"}, "missing_offset:ts"),
        ({"ts": "yesterday"}, "bad_format:ts"),
        ({"ts": 1.5e12}, "wrong_type:ts"),
        ({"ts": True}, "wrong_type:ts"),
        ({"ts": NOW_MS + FUTURE_LIMIT_MS + 1}, "future_ts"),
        ({"ts": NOW_MS - DEFAULT_LATE_HORIZON_MS - 1}, "too_late"),
        ({"ts": -5}, "too_late"),
        ({"position": True}, "wrong_type:position"),
        ({"position": 2.0}, "wrong_type:position"),
        ({"position": "2"}, "wrong_type:position"),
        ({"position": 10_000}, "out_of_range:position"),
        ({"position": -1}, "out_of_range:position"),
        ({"time_ms": -1}, "out_of_range:time_ms"),
        ({"time_ms": 3_600_001}, "out_of_range:time_ms"),
        ({"time_ms": 10**30}, "out_of_range:time_ms"),
        ({"time_ms": False}, "wrong_type:time_ms"),
        ({"time_ms": None}, "wrong_type:time_ms"),
        ({"event_id": ""}, "bad_length:event_id"),
        ({"event_id": "x" * 65}, "bad_length:event_id"),
        ({"article_id": 7}, "wrong_type:article_id"),
        ({"subbuzz_id": "y" * 129}, "bad_length:subbuzz_id"),
        ({"session_id": ["s"]}, "wrong_type:session_id"),
        ({"user_id": ""}, "bad_length:user_id"),
        ({"v": 2}, "unknown_version"),
        ({"v": True}, "wrong_type:v"),
        ({"v": "1"}, "wrong_type:v"),
    ],
)
def test_each_rule_has_its_reason(change: dict[str, object], reason: str) -> None:
    assert reason_of({**VALID, **change}) == reason


@pytest.mark.parametrize(
    "name", ["event_id", "ts", "article_id", "subbuzz_id", "position", "time_ms"]
)
def test_missing_required_fields(name: str) -> None:
    assert reason_of({k: v for k, v in VALID.items() if k != name}) == f"missing_field:{name}"


def test_an_unknown_version_wins_over_the_fields_of_that_version() -> None:
    assert reason_of({"v": 2, "event_id": "e", "anything": "else"}) == "unknown_version"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "bad_json"),
        (b"{", "bad_json"),
        (b'{"event_id": "e", "time_ms": NaN}', "bad_json"),
        (b'{"time_ms": Infinity}', "bad_json"),
        (b'{"time_ms": 1e999}', "non_finite_number"),
        (b'{"event_id": "\xff"}', "bad_json"),
        (b"[1, 2]", "not_object"),
        (b'"text"', "not_object"),
        (b"null", "not_object"),
    ],
)
def test_bodies_that_are_not_a_json_object(body: bytes, reason: str) -> None:
    assert reason_of(body) == reason


def test_size_limit_is_checked_before_parsing() -> None:
    padded = {**VALID, "pad": "x" * MAX_MESSAGE_BYTES}
    assert reason_of(padded) == "too_large"
    small = json.dumps(VALID).encode()
    assert isinstance(check(small), Event)
    assert reason_of(small, max_bytes=len(small) - 1) == "too_large"


def test_the_late_horizon_is_configurable() -> None:
    two_days_ago = NOW_MS - 2 * 86_400_000
    assert isinstance(check({**VALID, "ts": two_days_ago}), Event)
    assert reason_of({**VALID, "ts": two_days_ago}, late_horizon_ms=86_400_000) == "too_late"


def test_the_boundaries_are_inclusive() -> None:
    assert isinstance(check({**VALID, "ts": NOW_MS + FUTURE_LIMIT_MS}), Event)
    assert isinstance(check({**VALID, "ts": NOW_MS - DEFAULT_LATE_HORIZON_MS}), Event)
    assert isinstance(check({**VALID, "position": 9_999, "time_ms": 3_600_000}), Event)
    assert isinstance(check({**VALID, "position": 0, "time_ms": 0}), Event)


@settings(max_examples=500)
@given(st.binary(max_size=300))
def test_any_bytes_give_an_event_or_a_reason(body: bytes) -> None:
    result = validate(body, now_ms=NOW_MS)
    assert isinstance(result, Event | Rejection)
    if isinstance(result, Rejection):
        assert result.reason and " " not in result.reason


_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
_json_values = _scalars | st.lists(_scalars, max_size=3)
_field_values = st.one_of(
    _json_values,
    st.integers(min_value=-10, max_value=4_000_000),
    st.integers(min_value=NOW_MS - 10**10, max_value=NOW_MS + 10**9),
    st.datetimes(timezones=st.just(UTC)).map(lambda moment: moment.isoformat()),
)


@settings(max_examples=500)
@given(
    st.dictionaries(
        st.sampled_from([*VALID, "v", "other"]), _field_values, max_size=len(VALID) + 2
    ).map(lambda changes: {**VALID, **changes}),
)
def test_near_valid_documents_give_an_event_or_a_reason(document: dict[str, object]) -> None:
    result = check(document)
    if isinstance(result, Event):
        # Accepted means every rule held.
        assert type(result.position) is int and 0 <= result.position <= 9_999
        assert type(result.time_ms) is int and 0 <= result.time_ms <= 3_600_000
        assert NOW_MS - DEFAULT_LATE_HORIZON_MS <= result.ts_ms <= NOW_MS + FUTURE_LIMIT_MS
        assert 1 <= len(result.event_id) <= 64
        assert document.get("v", 1) == 1 and document.get("v", 1) is not True
    else:
        assert isinstance(result, Rejection)
        assert result.reason


@given(
    st.datetimes(
        min_value=datetime(2026, 11, 27),
        max_value=datetime(2026, 12, 2),
        timezones=st.sampled_from([timezone(timedelta(hours=h)) for h in (-8, -3, 0, 2, 5)]),
    )
)
def test_iso_and_epoch_forms_agree(moment: datetime) -> None:
    moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    epoch_ms = (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
    from_iso = check({**VALID, "ts": moment.isoformat()})
    from_epoch = check({**VALID, "ts": epoch_ms})
    assert isinstance(from_iso, Event) and isinstance(from_epoch, Event)
    assert from_iso.ts_ms == from_epoch.ts_ms == epoch_ms
