"""A bounded window of recently seen ``event_id`` values (oldest forgotten first)."""

from __future__ import annotations


class DuplicateWindow:
    """Remembers the last ``size`` distinct event ids this process accepted.

    ``forget`` takes an id back out, for events whose flush was requeued: their redelivery
    must be counted, not dropped as a duplicate. The window is per process and in memory;
    duplicates that straddle a restart or two consumers are not caught (architecture.md).
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("the duplicate window needs room for at least one event id")
        self.size = size
        # dict keeps insertion order: the first key is the oldest.
        self._seen: dict[str, None] = {}

    def __len__(self) -> int:
        return len(self._seen)

    def __contains__(self, event_id: str) -> bool:
        return event_id in self._seen

    def admit(self, event_id: str) -> bool:
        """True the first time an id is seen inside the window, False for a duplicate."""
        if event_id in self._seen:
            return False
        self._seen[event_id] = None
        if len(self._seen) > self.size:
            del self._seen[next(iter(self._seen))]
        return True

    def forget(self, event_id: str) -> None:
        self._seen.pop(event_id, None)
