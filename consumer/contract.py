"""Event contract v1: bytes in, an ``Event`` or a ``Rejection`` out. Pure, no I/O, never raises.

The rules are architecture.md's table. A rejection carries a machine-readable ``reason``
(``bad_json``, ``missing_field:ts``, ``wrong_type:position``, ``out_of_range:time_ms``,
``future_ts``, ``too_late``, ``unknown_version``, ``too_large``, …) that becomes a metric label
and the dead letter's ``reason``; the set of reasons is small and bounded.

Choices the table leaves open, made here on purpose:
- an optional string field sent as JSON ``null`` counts as absent (browsers send ``null``);
- ``NaN``/``Infinity`` are not JSON, so they are ``bad_json``; a number literal too large
  for a float (``1e999``, which would become infinity) is ``non_finite_number``;
- integers must be JSON integers: ``true``, ``1.0`` and ``"1"`` are ``wrong_type``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

CONTRACT_VERSION = 1
MAX_MESSAGE_BYTES = 64 * 1024
FUTURE_LIMIT_MS = 5 * 60 * 1000
DEFAULT_LATE_HORIZON_MS = 7 * 24 * 3600 * 1000
MAX_POSITION = 9999
MAX_TIME_MS = 3_600_000
_MAX_TS_TEXT = 64
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# (field, max length) for the required and optional string fields, in checking order.
_REQUIRED_STRINGS = (("event_id", 64), ("article_id", 128), ("subbuzz_id", 128))
_OPTIONAL_STRINGS = (("session_id", 128), ("user_id", 128))
_REQUIRED_INTS = (("position", MAX_POSITION), ("time_ms", MAX_TIME_MS))


class Event(msgspec.Struct, frozen=True, gc=False):
    """A valid v1 event; ``ts_ms`` is the event time in UTC epoch milliseconds."""

    event_id: str
    ts_ms: int
    article_id: str
    subbuzz_id: str
    position: int
    time_ms: int
    session_id: str | None = None
    user_id: str | None = None


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ContractLimits:
    late_horizon_ms: int = DEFAULT_LATE_HORIZON_MS
    future_limit_ms: int = FUTURE_LIMIT_MS
    max_bytes: int = MAX_MESSAGE_BYTES


_DEFAULT_LIMITS = ContractLimits()
_decode = msgspec.json.Decoder().decode


class _Invalid(Exception):
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def validate(
    body: bytes, *, now_ms: int, limits: ContractLimits = _DEFAULT_LIMITS
) -> Event | Rejection:
    """Check one message body against contract v1 at wall-clock time ``now_ms``."""
    if len(body) > limits.max_bytes:
        return Rejection("too_large", f"{len(body)} bytes > {limits.max_bytes}")
    try:
        document = _decode(body)
    except msgspec.ValidationError as exc:
        # Untyped decoding only fails validation on numbers a float cannot hold.
        return Rejection("non_finite_number", str(exc))
    except msgspec.DecodeError as exc:
        return Rejection("bad_json", str(exc))
    try:
        return _check(document, now_ms, limits)
    except _Invalid as invalid:
        return Rejection(invalid.reason, invalid.detail)


def _check(document: Any, now_ms: int, limits: ContractLimits) -> Event:
    if type(document) is not dict:
        raise _Invalid("not_object", f"top level is {type(document).__name__}")
    version = document.get("v", CONTRACT_VERSION)
    if type(version) is not int:
        raise _Invalid("wrong_type:v", f"expected an integer, got {_json_type(version)}")
    if version != CONTRACT_VERSION:
        raise _Invalid("unknown_version", f"v={version}")

    strings = {name: _string(document, name, limit, True) for name, limit in _REQUIRED_STRINGS}
    if "ts" not in document:
        raise _Invalid("missing_field:ts")
    ts_ms = _timestamp(document["ts"])
    ints = {name: _integer(document, name, limit) for name, limit in _REQUIRED_INTS}
    optional = {name: _string(document, name, limit, False) for name, limit in _OPTIONAL_STRINGS}

    if ts_ms > now_ms + limits.future_limit_ms:
        raise _Invalid("future_ts", f"ts is {ts_ms - now_ms} ms ahead of the consumer clock")
    if ts_ms < now_ms - limits.late_horizon_ms:
        raise _Invalid("too_late", f"ts is {now_ms - ts_ms} ms old")
    return Event(
        event_id=strings["event_id"],
        ts_ms=ts_ms,
        article_id=strings["article_id"],
        subbuzz_id=strings["subbuzz_id"],
        position=ints["position"],
        time_ms=ints["time_ms"],
        session_id=optional["session_id"],
        user_id=optional["user_id"],
    )


def _json_type(value: Any) -> str:
    return {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "array",
        dict: "object",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def _string(document: dict[str, Any], name: str, limit: int, required: bool) -> Any:
    value = document.get(name)
    if value is None:
        if required:
            raise _Invalid(f"missing_field:{name}")
        return None
    if type(value) is not str:
        raise _Invalid(f"wrong_type:{name}", f"expected a string, got {_json_type(value)}")
    if not 1 <= len(value) <= limit:
        raise _Invalid(f"bad_length:{name}", f"{len(value)} characters, allowed 1-{limit}")
    return value


def _integer(document: dict[str, Any], name: str, limit: int) -> int:
    if name not in document:
        raise _Invalid(f"missing_field:{name}")
    value = document[name]
    if type(value) is not int:
        raise _Invalid(f"wrong_type:{name}", f"expected an integer, got {_json_type(value)}")
    if not 0 <= value <= limit:
        raise _Invalid(f"out_of_range:{name}", f"{value} not in 0-{limit}")
    return value


def _timestamp(value: Any) -> int:
    if type(value) is int:
        return value
    if type(value) is not str:
        raise _Invalid(
            "wrong_type:ts", f"expected epoch ms or an ISO-8601 string, got {_json_type(value)}"
        )
    if len(value) > _MAX_TS_TEXT:
        raise _Invalid("bad_format:ts", "longer than an ISO-8601 timestamp")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _Invalid("bad_format:ts", f"not ISO-8601: {value!r}") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise _Invalid("missing_offset:ts", f"no UTC offset in {value!r}")
    try:
        # timedelta arithmetic is exact, unlike datetime.timestamp()'s float.
        delta = moment - _EPOCH
    except OverflowError:
        raise _Invalid("bad_format:ts", f"out of the datetime range: {value!r}") from None
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
