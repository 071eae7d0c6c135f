"""What a run did: distinct keys seen, a progress line on stderr, a summary at the end."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TextIO

from .model import Event


@dataclass
class Tally:
    events: int = 0
    anonymous: int = 0
    articles: set[str] = field(default_factory=set)
    sessions: set[str] = field(default_factory=set)
    users: set[str] = field(default_factory=set)

    def observe(self, events: Iterable[Event]) -> None:
        for event in events:
            self.events += 1
            self.articles.add(event.article_id)
            if event.session_id is not None:
                self.sessions.add(event.session_id)
            if event.user_id is None:
                self.anonymous += 1
            else:
                self.users.add(event.user_id)

    def summary(self, elapsed_s: float) -> str:
        rate = self.events / elapsed_s if elapsed_s > 0 else 0.0
        anonymous = 100.0 * self.anonymous / self.events if self.events else 0.0
        return (
            f"{self.events:,} events, {len(self.articles):,} articles, "
            f"{len(self.sessions):,} sessions, {len(self.users):,} users "
            f"({anonymous:.1f}% anonymous events) in {elapsed_s:.1f} s: {rate:,.0f} events/s"
        )


class ProgressLine:
    """Rewrites one line on a terminal every second; prints a line every 5 s otherwise."""

    def __init__(self, total: int | None, *, stream: TextIO | None = None) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self._tty = self.stream.isatty()
        self._interval_s = 1.0 if self._tty else 5.0
        self._last_s = 0.0

    def update(self, events: int, elapsed_s: float, *, final: bool = False) -> None:
        if not final and elapsed_s - self._last_s < self._interval_s:
            return
        self._last_s = elapsed_s
        rate = events / elapsed_s if elapsed_s > 0 else 0.0
        done = f"{events:,}"
        if self.total:
            done += f"/{self.total:,} ({100.0 * events / self.total:.0f}%)"
        line = f"simulate: {done} events, {elapsed_s:.0f} s, {rate:,.0f} events/s"
        if self._tty:
            self.stream.write("\r" + line.ljust(72) + ("\n" if final else ""))
        elif not final:
            self.stream.write(line + "\n")
        self.stream.flush()
