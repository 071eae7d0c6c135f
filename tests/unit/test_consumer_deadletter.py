"""Dead letters keep the original body, the reason and the time."""

from __future__ import annotations

import base64

from hypothesis import given
from hypothesis import strategies as st

from consumer.deadletter import MAX_BODY_KEPT, decode_dead_letter, encode_dead_letter


@given(st.binary(max_size=500))
def test_the_original_body_round_trips(body: bytes) -> None:
    letter = decode_dead_letter(
        encode_dead_letter(
            body,
            reason="bad_json",
            detail="x",
            attempts=2,
            message_id="m1",
            now_ms=1_796_256_000_000,
        )
    )
    assert letter.reason == "bad_json"
    assert letter.time == "2026-12-03T00:00:00.000+00:00"
    assert letter.body_bytes == len(body) and not letter.truncated
    if letter.body is not None:
        assert letter.body.encode("utf-8") == body
    else:
        assert letter.body_base64 is not None
        assert base64.b64decode(letter.body_base64) == body


def test_a_huge_body_keeps_its_start() -> None:
    body = b"y" * (MAX_BODY_KEPT + 10)
    letter = decode_dead_letter(
        encode_dead_letter(
            body,
            reason="too_large",
            detail="",
            attempts=1,
            message_id="m",
            now_ms=0,
        )
    )
    assert letter.truncated and letter.body_bytes == len(body)
    assert letter.body == "y" * MAX_BODY_KEPT
