"""``subbuzz serve``: the GraphQL API over HTTP (uvicorn)."""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
from typing import TYPE_CHECKING, Any

from subbuzz.config import CassandraSettings, env_name

from .metrics import MULTIPROCESS_DIR_VARIABLE
from .settings import ServerSettings

if TYPE_CHECKING:
    from starlette.applications import Starlette


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="serve the GraphQL API (/graphql, /healthz, /readyz, /metrics)",
        description=(
            "Serve the GraphQL API with uvicorn: /graphql (GraphiQL in a browser unless "
            "production), /healthz (process alive), /readyz (Cassandra reachable), /metrics "
            "(Prometheus). Settings come from SUBBUZZ_* variables, e.g. SUBBUZZ_AUTH_TOKENS "
            "(comma-separated bearer tokens; unset: no auth), SUBBUZZ_CORS_ORIGINS, "
            "SUBBUZZ_GRAPHQL_TIMEOUT_S, SUBBUZZ_MAX_DEPTH, SUBBUZZ_MAX_TOKENS, "
            "SUBBUZZ_MAX_ALIASES, SUBBUZZ_MAX_BATCH_OPERATIONS (0: batching off), "
            "SUBBUZZ_TOP_CACHE_TTL_S, SUBBUZZ_RANKING_REFRESH_S, SUBBUZZ_KEYSPACE and the "
            "Cassandra ones. Flags win over the environment."
        ),
    )
    parser.add_argument(
        "--host", help="listen address (env SUBBUZZ_SERVER_HOST, default 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=int, help="listen port (env SUBBUZZ_SERVER_PORT, default 8000)"
    )
    parser.add_argument("--keyspace", help="keyspace (env SUBBUZZ_KEYSPACE, default subbuzz)")
    parser.add_argument(
        "--production",
        action="store_true",
        default=None,
        help="turn introspection and GraphiQL off (env SUBBUZZ_PRODUCTION)",
    )
    parser.add_argument(
        "--no-graphiql",
        dest="graphiql",
        action="store_false",
        default=None,
        help="do not serve GraphiQL to browsers (env SUBBUZZ_GRAPHIQL=false)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        help="server processes sharing the port, one core each; /metrics adds them up "
        "(env SUBBUZZ_SERVER_WORKERS, default 1)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import create_app

    settings = ServerSettings.from_env(
        server_host=args.host,
        server_port=args.port,
        production=args.production,
        graphiql=args.graphiql,
        server_workers=args.workers,
    )
    cassandra = CassandraSettings.from_env(keyspace=args.keyspace)
    options: dict[str, Any] = {
        "host": settings.server_host,
        "port": settings.server_port,
        "log_config": None,  # the entry point configured logging
        "access_log": False,
        "lifespan": "on",
    }
    if settings.server_workers == 1:
        uvicorn.run(create_app(settings, cassandra), **options)
        return 0
    # uvicorn starts the workers as fresh processes that build their app from the
    # environment: the flags go there, and Prometheus keeps every worker's metrics in one
    # directory so that /metrics, answered by any worker, adds them all up.
    os.environ.update(
        {
            env_name("server_host"): settings.server_host,
            env_name("server_port"): str(settings.server_port),
            env_name("production"): str(settings.production).lower(),
            env_name("graphiql"): str(settings.graphiql).lower(),
            env_name("keyspace"): cassandra.keyspace,
            env_name("log_level"): logging.getLevelName(logging.getLogger().level),
        }
    )
    with tempfile.TemporaryDirectory(prefix="subbuzz-metrics-") as metrics_dir:
        os.environ[MULTIPROCESS_DIR_VARIABLE] = metrics_dir
        uvicorn.run(
            "server.command:worker_app",
            factory=True,
            workers=settings.server_workers,
            **options,
        )
    return 0


def worker_app() -> Starlette:
    """The app of one of ``--workers`` processes (uvicorn calls it in each)."""
    from subbuzz.cli import configure_logging

    from .app import create_app

    configure_logging(os.environ.get(env_name("log_level"), "INFO"))
    return create_app()
