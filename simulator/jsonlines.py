"""Contract-v1 JSON for the wire and for the ``--output`` file (one event per line)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec

from .model import Event

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Event)


def encode(event: Event) -> bytes:
    """Compact JSON without newlines, as nsqd's ``/mpub`` needs."""
    return _encoder.encode(event)


def decode(line: bytes) -> Event:
    return _decoder.decode(line)


def read_events(path: Path) -> Iterator[Event]:
    """The events a ``subbuzz simulate --output`` run wrote, in order."""
    with path.open("rb") as lines:
        for line in lines:
            if line.strip():
                yield decode(line)
