"""The typed context every resolver receives (``strawberry.Info[Context]``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cql.store import Store

from .loaders import Loaders
from .ranking import AllTimeBoard, WindowRankings


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Context:
    store: Store
    window_rankings: WindowRankings
    all_time: AllTimeBoard
    request_id: str
    loaders: Loaders = field(init=False)
    now: Callable[[], datetime] = _utc_now
    # Filled while the operation runs, read by the HTTP layer for metrics and logs.
    operation: str = "unknown"
    error_codes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.store)
