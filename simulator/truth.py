"""Ground truth from the events themselves, independent of any database."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from .model import Event


class ArticleTruth(NamedTuple):
    views: int
    time_ms: int


def article_totals(events: Iterable[Event]) -> dict[str, ArticleTruth]:
    """Per article: the sub-buzz views it received and the time spent on them.

    Every event counts once: the simulator never repeats an ``event_id``.
    """
    views: dict[str, int] = {}
    time_ms: dict[str, int] = {}
    for event in events:
        views[event.article_id] = views.get(event.article_id, 0) + 1
        time_ms[event.article_id] = time_ms.get(event.article_id, 0) + event.time_ms
    return {
        article_id: ArticleTruth(views[article_id], time_ms[article_id]) for article_id in views
    }
