"""DataLoaders, created per request: every key a request asks for in one tick becomes one
batched store call (a bounded set of single-partition reads), and a key is read once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from strawberry.dataloader import DataLoader

from cql.store import Store, SubbuzzRow, Totals

PartitionKey = tuple[str, date]


class Loaders:
    def __init__(self, store: Store) -> None:
        self._store = store
        self.article_totals = DataLoader[str, Totals | None](load_fn=self._article_totals)
        self.session_totals = DataLoader[str, Totals | None](load_fn=self._session_totals)
        self.user_totals = DataLoader[str, Totals | None](load_fn=self._user_totals)
        self.subbuzzes = DataLoader[str, list[SubbuzzRow]](load_fn=self._subbuzzes)
        self.hourly = DataLoader[PartitionKey, dict[int, Totals]](load_fn=self._hourly)
        self.daily = DataLoader[PartitionKey, dict[date, Totals]](load_fn=self._daily)

    async def _article_totals(self, keys: Sequence[str]) -> list[Totals | None]:
        found = await self._store.article_totals(keys)
        return [found[key] for key in keys]

    async def _session_totals(self, keys: Sequence[str]) -> list[Totals | None]:
        found = await self._store.session_totals(keys)
        return [found[key] for key in keys]

    async def _user_totals(self, keys: Sequence[str]) -> list[Totals | None]:
        found = await self._store.user_totals(keys)
        return [found[key] for key in keys]

    async def _subbuzzes(self, keys: Sequence[str]) -> list[list[SubbuzzRow]]:
        found = await self._store.subbuzz_stats(keys)
        return [found[key] for key in keys]

    async def _hourly(self, keys: Sequence[PartitionKey]) -> list[dict[int, Totals]]:
        found = await self._store.hourly_buckets(keys)
        return [found[key] for key in keys]

    async def _daily(self, keys: Sequence[PartitionKey]) -> list[dict[date, Totals]]:
        found = await self._store.daily_buckets(keys)
        return [found[key] for key in keys]
