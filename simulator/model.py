"""The traffic model: a seeded, pure stream of contract-v1 events. No I/O, no wall clock of its own.

Readers arrive in sessions. A session belongs to a returning user, a new user or nobody
(anonymous), opens a Zipf-popular article at its first sub-buzz and scrolls down, continuing to
the next position with a fixed probability (so views decay geometrically with position), then
may open another article or end. Many sessions are open at once and their events interleave.
Time in view is log-normal, clamped to the contract's range.

The same seed, shape and clock give the same events, ids included; every id carries a tag
(by default derived from the seed) so two runs with different seeds never share a key.
"""

from __future__ import annotations

import itertools
import math
import random
from bisect import bisect_left
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import msgspec

MAX_TIME_MS = 3_600_000
CONTRACT_VERSION = 1


class Event(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True):
    """One sub-buzz view as contract v1 sends it (``user_id`` is left out for anonymous readers)."""

    event_id: str
    ts: int
    article_id: str
    subbuzz_id: str
    position: int
    time_ms: int
    session_id: str | None = None
    user_id: str | None = None
    v: int


@dataclass(frozen=True)
class TrafficShape:
    """The knobs of the model; the defaults give a plausible mix for dashboards and benchmarks."""

    articles: int = 500
    zipf_exponent: float = 1.1
    min_subbuzzes: int = 5
    max_subbuzzes: int = 60
    # Chance that a reader who saw position k goes on to position k + 1.
    continue_probability: float = 0.85
    # Chance that a session opens another article after leaving one.
    next_article_probability: float = 0.35
    anonymous_share: float = 0.3
    # Chance that a signed-in session belongs to a user seen before (sessions per user ~ 1/(1-p)).
    returning_user_share: float = 0.7
    concurrent_sessions: int = 64
    time_in_view_median_ms: float = 4_000.0
    time_in_view_sigma: float = 1.2
    # Events reach us a little after they happen; ts is never in the future.
    mean_delivery_delay_ms: float = 250.0

    def __post_init__(self) -> None:
        if self.articles < 1:
            raise ValueError("articles must be at least 1")
        if not 1 <= self.min_subbuzzes <= self.max_subbuzzes <= 10_000:
            raise ValueError("need 1 <= min_subbuzzes <= max_subbuzzes <= 10000")
        for name in ("continue_probability", "next_article_probability", "returning_user_share"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1)")
        if not 0.0 <= self.anonymous_share <= 1.0:
            raise ValueError("anonymous_share must be in [0, 1]")
        if self.concurrent_sessions < 1:
            raise ValueError("concurrent_sessions must be at least 1")


@dataclass(frozen=True)
class Article:
    article_id: str
    subbuzz_ids: tuple[str, ...]


@dataclass
class _Session:
    session_id: str
    user_id: str | None
    article: Article
    position: int = 0


def tag_for_seed(seed: int) -> str:
    return format(seed & 0xFFFFFFFFFFFF, "x")


class TrafficModel:
    """``events(clock)`` yields an endless stream; take what you need with ``islice``."""

    def __init__(self, seed: int, shape: TrafficShape | None = None, *, tag: str | None = None):
        self.seed = seed
        self.shape = shape or TrafficShape()
        self.tag = tag_for_seed(seed) if tag is None else tag
        self._rng = random.Random(seed)
        self.articles = self._make_articles()
        weights = [
            1.0 / (rank**self.shape.zipf_exponent) for rank in range(1, len(self.articles) + 1)
        ]
        self._cumulative = list(itertools.accumulate(weights))
        self._users: list[str] = []
        self._session_numbers = itertools.count()
        self._event_numbers = itertools.count()
        self._mu = math.log(self.shape.time_in_view_median_ms)

    def _make_articles(self) -> list[Article]:
        rng = self._rng
        articles = []
        for rank in range(1, self.shape.articles + 1):
            article_id = f"art-{self.tag}-{rank:05d}"
            count = rng.randint(self.shape.min_subbuzzes, self.shape.max_subbuzzes)
            subbuzz_ids = tuple(f"sb-{rng.getrandbits(48):012x}" for _ in range(count))
            articles.append(Article(article_id, subbuzz_ids))
        return articles

    # -- the stream --------------------------------------------------------------------------

    def events(self, clock: Callable[[], int]) -> Iterator[Event]:
        """Events stamped with ``clock()`` (epoch ms) minus a small delivery delay."""
        rng = self._rng
        shape = self.shape
        active = [self._new_session() for _ in range(shape.concurrent_sessions)]
        while True:
            index = rng.randrange(len(active))
            session = active[index]
            article = session.article
            delay = self._delivery_delay()
            yield Event(
                event_id=f"ev-{self.tag}-{next(self._event_numbers):x}",
                ts=clock() - delay,
                article_id=article.article_id,
                subbuzz_id=article.subbuzz_ids[session.position],
                position=session.position,
                time_ms=self._time_in_view(),
                session_id=session.session_id,
                user_id=session.user_id,
                v=CONTRACT_VERSION,
            )
            if (
                session.position + 1 < len(article.subbuzz_ids)
                and rng.random() < shape.continue_probability
            ):
                session.position += 1
            elif rng.random() < shape.next_article_probability:
                session.article = self._pick_article()
                session.position = 0
            else:
                active[index] = self._new_session()

    # -- draws -------------------------------------------------------------------------------

    def _pick_article(self) -> Article:
        point = self._rng.random() * self._cumulative[-1]
        return self.articles[bisect_left(self._cumulative, point)]

    def _time_in_view(self) -> int:
        value = self._rng.lognormvariate(self._mu, self.shape.time_in_view_sigma)
        return min(MAX_TIME_MS, max(0, round(value)))

    def _delivery_delay(self) -> int:
        mean = self.shape.mean_delivery_delay_ms
        return min(int(self._rng.expovariate(1.0 / mean)), 60_000) if mean > 0 else 0

    def _pick_user(self) -> str | None:
        rng = self._rng
        if rng.random() < self.shape.anonymous_share:
            return None
        if self._users and rng.random() < self.shape.returning_user_share:
            return rng.choice(self._users)
        user_id = f"usr-{self.tag}-{len(self._users):x}"
        self._users.append(user_id)
        return user_id

    def _new_session(self) -> _Session:
        return _Session(
            session_id=f"ses-{self.tag}-{next(self._session_numbers):x}",
            user_id=self._pick_user(),
            article=self._pick_article(),
        )
