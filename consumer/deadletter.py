"""Dead letters: the JSON document published to the dead-letter topic (pure)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import msgspec

GIVING_UP = "giving_up"
# nsqd refuses messages over --max-msg-size (1 MiB by default): a letter must fit in it.
MAX_BODY_KEPT = 512 * 1024


class DeadLetter(msgspec.Struct, frozen=True):
    """``body`` is the original message as text when it is UTF-8, else ``body_base64``;
    bodies over ``MAX_BODY_KEPT`` bytes keep their start only (``truncated``)."""

    reason: str
    detail: str
    time: str
    attempts: int
    message_id: str
    body_bytes: int
    truncated: bool = False
    body: str | None = None
    body_base64: str | None = None


def encode_dead_letter(
    body: bytes, *, reason: str, detail: str, attempts: int, message_id: str, now_ms: int
) -> bytes:
    moment = datetime.fromtimestamp(now_ms / 1000, tz=UTC).isoformat(timespec="milliseconds")
    kept = body[:MAX_BODY_KEPT]
    try:
        text: str | None = kept.decode("utf-8")
        raw = None
    except UnicodeDecodeError:
        text, raw = None, base64.b64encode(kept).decode("ascii")
    letter = DeadLetter(
        reason=reason,
        detail=detail[:500],
        time=moment,
        attempts=attempts,
        message_id=message_id,
        body_bytes=len(body),
        truncated=len(kept) < len(body),
        body=text,
        body_base64=raw,
    )
    return msgspec.json.encode(letter)


decode_dead_letter = msgspec.json.Decoder(DeadLetter).decode
