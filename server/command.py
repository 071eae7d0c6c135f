"""``subbuzz serve``: the GraphQL API over HTTP (uvicorn)."""

from __future__ import annotations

import argparse

from subbuzz.config import CassandraSettings

from .settings import ServerSettings


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
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import create_app

    settings = ServerSettings.from_env(
        server_host=args.host,
        server_port=args.port,
        production=args.production,
        graphiql=args.graphiql,
    )
    cassandra = CassandraSettings.from_env(keyspace=args.keyspace)
    uvicorn.run(
        create_app(settings, cassandra),
        host=settings.server_host,
        port=settings.server_port,
        log_config=None,  # the entry point configured logging
        access_log=False,
        lifespan="on",
    )
    return 0
