"""The server's settings (``SUBBUZZ_*``), beside the shared Cassandra ones; read once, failing
fast on a bad value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from subbuzz.config import _load, env_name


@dataclass(frozen=True)
class ServerSettings:
    server_host: str = "127.0.0.1"
    server_port: int = 8000
    # Server processes sharing the port (uvicorn workers); each uses one core.
    server_workers: int = 1
    # Production turns introspection and GraphiQL off whatever the other switches say.
    production: bool = False
    graphiql: bool = True
    # Bearer tokens accepted on /graphql (comma-separated); empty: no authentication.
    auth_tokens: tuple[str, ...] = ()
    # Origins a browser may call /graphql from (comma-separated); empty: no CORS headers.
    cors_origins: tuple[str, ...] = ()
    # Whole-request deadline; the client gets a TIMEOUT error with its request id.
    graphql_timeout_s: float = 5.0
    max_body_bytes: int = 64 * 1024
    max_depth: int = 6
    max_tokens: int = 2000
    max_aliases: int = 15
    # Operations in one batched request; 0 turns batching off.
    max_batch_operations: int = 0
    # topArticles windows are cached this long (0 to 5 s; 0 turns the cache off).
    top_cache_ttl_s: float = 2.0
    # The all-time ranking: refresh period, articles kept per metric, and how late an event
    # may arrive (must be at least the consumers' SUBBUZZ_LATE_HORIZON_S: the same variable).
    ranking_refresh_s: float = 30.0
    ranking_board_size: int = 1000
    late_horizon_s: int = 7 * 24 * 3600
    # How long startup waits for the first all-time ranking before serving without it.
    ranking_startup_wait_s: float = 10.0
    readiness_timeout_s: float = 2.0
    # Open WebSockets (live panels, subscriptions) at most; each subscription re-reads
    # Cassandra every 0.5 s. A socket over the limit is refused (the panel then polls).
    max_websockets: int = 200
    # The built panel (index.html and assets/); empty: panel/dist beside the source tree.
    panel_dir: str = ""

    def __post_init__(self) -> None:
        if not 1 <= self.server_port <= 65535:
            raise ValueError(f"{env_name('server_port')}={self.server_port} is not a TCP port")
        positive = (
            "graphql_timeout_s",
            "max_body_bytes",
            "max_depth",
            "max_tokens",
            "max_aliases",
            "ranking_refresh_s",
            "late_horizon_s",
            "readiness_timeout_s",
            "max_websockets",
            "server_workers",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"{env_name(name)} must be positive, got {getattr(self, name)}")
        if not 0 <= self.top_cache_ttl_s <= 5:
            raise ValueError(f"{env_name('top_cache_ttl_s')} must be between 0 and 5 seconds")
        if not 0 <= self.max_batch_operations <= 20:
            raise ValueError(f"{env_name('max_batch_operations')} must be between 0 and 20")
        if self.ranking_board_size < 100:
            raise ValueError(f"{env_name('ranking_board_size')} must be at least 100")
        if self.ranking_startup_wait_s < 0:
            raise ValueError(f"{env_name('ranking_startup_wait_s')} must be >= 0")
        if self.production:
            weak = [token for token in self.auth_tokens if len(token) < 16]
            if weak:
                raise ValueError(
                    f"{env_name('auth_tokens')}: in production every token needs at least "
                    "16 characters"
                )
            if "*" in self.cors_origins:
                raise ValueError(f"{env_name('cors_origins')}: '*' is refused in production")

    @property
    def introspection(self) -> bool:
        return not self.production

    @property
    def graphiql_enabled(self) -> bool:
        return self.graphiql and not self.production

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> ServerSettings:
        return _load(cls, environ, **overrides)
