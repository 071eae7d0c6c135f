"""The ASGI app: /graphql (HTTP, and subscriptions over a WebSocket), /healthz, /readyz, /metrics,
/panel. Its lifespan owns the Cassandra session.

Protection beyond the schema's own limits (depth, tokens, aliases, list caps, masked errors):
a body size cap, a per-request deadline, optional bearer tokens and a CORS allowlist.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hmac
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
from cross_web import HTTPException
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UnsetType

from cql.store import Store, StoreError
from schema.context import Context
from schema.ranking import AllTimeBoard, WindowRankings
from schema.schema import Limits, build_schema
from subbuzz.config import CassandraSettings

from .graphiql import local_urls
from .metrics import Metrics
from .panel import PanelFiles, panel_directory
from .settings import ServerSettings

log = logging.getLogger(__name__)

_encode_json = msgspec.json.Encoder().encode
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_ROUTES = ("/graphql", "/healthz", "/readyz", "/metrics")


@dataclass
class _SocketContext(Context):
    """A WebSocket connection's context: strawberry fills in the connection_init payload."""

    connection_params: Any = None


class _GraphQLView(GraphQL[Context, None]):
    def __init__(
        self, schema: Any, *, auth_tokens: tuple[str, ...], panel_dir: Path, **options: Any
    ) -> None:
        super().__init__(schema, **options)
        self._auth_tokens = auth_tokens
        self._panel_dir = panel_dir

    @property
    def graphql_ide_html(self) -> str:
        # Looked up per page view, like the panel: a build after startup takes effect.
        return local_urls(super().graphql_ide_html, self._panel_dir)

    async def get_context(self, request: Any, response: Any) -> Context:
        state = request.app.state
        request_id = getattr(request.state, "request_id", None)
        if request_id is None:  # a WebSocket: one context for the whole connection
            return _SocketContext(
                store=state.store,
                window_rankings=state.window_rankings,
                all_time=state.board,
                request_id=uuid.uuid4().hex[:16],
            )
        context = Context(
            store=state.store,
            window_rankings=state.window_rankings,
            all_time=state.board,
            request_id=request_id,
        )
        request.state.graphql_context = context
        return context

    def encode_json(self, data: object) -> str:
        # msgspec encodes a dashboard's response ~10x faster than json.dumps. A str, not
        # bytes: strawberry would send bytes over a WebSocket as binary frames.
        return _encode_json(data).decode()

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        # Browsers cannot send headers on a WebSocket: the token comes in connection_init,
        # as {"authorization": "Bearer <token>"}.
        tokens = self._auth_tokens
        if tokens:
            params = getattr(context, "connection_params", None)
            given = params.get("authorization", "") if isinstance(params, dict) else ""
            if not _token_matches(str(given), tokens):
                raise ConnectionRejectionError
        return await super().on_ws_connect(context)


def _error_body(message: str, code: str, request_id: str) -> dict[str, Any]:
    return {
        "data": None,
        "errors": [{"message": message, "extensions": {"code": code, "requestId": request_id}}],
    }


def _authorized(request: Request, tokens: tuple[str, ...]) -> bool:
    return _token_matches(request.headers.get("authorization", ""), tokens)


def _token_matches(authorization: str, tokens: tuple[str, ...]) -> bool:
    scheme, _, given = authorization.partition(" ")
    if scheme.lower() != "bearer" or not given:
        return False
    # Compare against every token, so timing does not tell which one nearly matched.
    matches = [hmac.compare_digest(given.strip().encode(), token.encode()) for token in tokens]
    return any(matches)


async def _graphql(request: Request) -> Response:
    state = request.app.state
    settings: ServerSettings = state.settings
    metrics: Metrics = state.metrics
    supplied = request.headers.get("x-request-id", "")
    request_id = supplied if _REQUEST_ID.match(supplied) else uuid.uuid4().hex[:16]
    request.state.request_id = request_id
    response = await _answer(request, settings, request_id)
    response.headers["x-request-id"] = request_id
    context: Context | None = getattr(request.state, "graphql_context", None)
    if context is not None:
        outcome = "timeout" if response.status_code == 504 else "ok"
        if context.error_codes and outcome == "ok":
            outcome = "error"
        metrics.graphql_requests.labels(context.operation, outcome).inc()
        metrics.graphql_latency.labels(context.operation).observe(
            time.perf_counter() - request.state.started
        )
        for code in context.error_codes:
            metrics.graphql_errors.labels(context.operation, code).inc()
    return response


async def _answer(request: Request, settings: ServerSettings, request_id: str) -> Response:
    request.state.started = time.perf_counter()
    if request.method == "POST":
        if settings.auth_tokens and not _authorized(request, settings.auth_tokens):
            return JSONResponse(
                _error_body("Missing or invalid bearer token.", "UNAUTHENTICATED", request_id),
                status_code=401,
                headers={"www-authenticate": 'Bearer realm="subbuzz"'},
            )
        declared = request.headers.get("content-length")
        too_big = (
            int(declared) > settings.max_body_bytes
            if declared and declared.isdigit()
            else len(await request.body()) > settings.max_body_bytes
        )
        if too_big:
            return JSONResponse(
                _error_body(
                    f"The request body is larger than {settings.max_body_bytes} bytes.",
                    "PAYLOAD_TOO_LARGE",
                    request_id,
                ),
                status_code=413,
            )
    view: _GraphQLView = request.app.state.view
    try:
        async with asyncio.timeout(settings.graphql_timeout_s):
            return await view.run(request)
    except HTTPException as exc:
        return PlainTextResponse(exc.reason, status_code=exc.status_code)
    except TimeoutError:
        log.warning("request %s: cancelled after %s s", request_id, settings.graphql_timeout_s)
        return JSONResponse(
            _error_body(
                f"The request took longer than {settings.graphql_timeout_s:g} s and was "
                f"cancelled; request id {request_id}.",
                "TIMEOUT",
                request_id,
            ),
            status_code=504,
        )
    except Exception:
        log.exception("request %s: unexpected failure outside GraphQL execution", request_id)
        return JSONResponse(
            _error_body(
                f"Internal error; quote request id {request_id} when reporting it.",
                "INTERNAL_SERVER_ERROR",
                request_id,
            ),
            status_code=500,
        )


async def _healthz(request: Request) -> Response:
    return JSONResponse({"alive": True})


async def _readyz(request: Request) -> Response:
    state = request.app.state
    settings: ServerSettings = state.settings
    store: Store = state.store
    try:
        async with asyncio.timeout(settings.readiness_timeout_s):
            await store.execute("SELECT release_version FROM system.local")
    except (StoreError, TimeoutError) as exc:
        state.metrics.ready.set(0)
        reason = str(exc) or "no answer within the readiness timeout"
        return JSONResponse({"ready": False, "cassandra": reason[:300]}, status_code=503)
    state.metrics.ready.set(1)
    return JSONResponse({"ready": True})


async def _metrics(request: Request) -> Response:
    metrics: Metrics = request.app.state.metrics
    board: AllTimeBoard = request.app.state.board
    if board.refreshed_at is not None:
        metrics.ranking_age.set((datetime.now(UTC) - board.refreshed_at).total_seconds())
    return Response(metrics.render(), media_type=metrics.content_type)


class _CountRequests:
    """Counts every HTTP response by route (a bounded label) and status code."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        route = path if path in _ROUTES else "/panel" if path.startswith("/panel") else "other"

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.metrics.http_requests.labels(route, str(message["status"])).inc()
            await send(message)

        await self.app(scope, receive, counting_send)


class _CapWebSockets:
    """Refuses a WebSocket (before accepting it: the client sees 403) while ``limit`` are
    open. Each open socket can hold subscriptions that re-read Cassandra twice a second."""

    def __init__(self, app: ASGIApp, limit: int, metrics: Metrics) -> None:
        self.app = app
        self.limit = limit
        self.metrics = metrics
        self.open = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        if self.open >= self.limit:
            self.metrics.websockets_refused.inc()
            await send({"type": "websocket.close", "code": 1013, "reason": "too many sockets"})
            return
        self.open += 1
        self.metrics.websockets.set(self.open)
        try:
            await self.app(scope, receive, send)
        finally:
            self.open -= 1
            self.metrics.websockets.set(self.open)


async def _warm_up(store: Store) -> None:
    """Prepare every read statement now, not on the first request (preparing blocks)."""
    await store.article_totals(["-"])
    await store.session_totals(["-"])
    await store.user_totals(["-"])
    await store.subbuzz_stats(["-"])
    today = datetime.now(UTC).date()
    await store.hourly_buckets([("-", today)])
    await store.daily_buckets([("-", today.replace(day=1))])
    await store.execute("SELECT release_version FROM system.local")


def create_app(
    settings: ServerSettings | None = None, cassandra: CassandraSettings | None = None
) -> Starlette:
    settings = settings or ServerSettings.from_env()
    cassandra = cassandra or CassandraSettings.from_env()
    metrics = Metrics()
    schema = build_schema(
        Limits(
            max_depth=settings.max_depth,
            max_tokens=settings.max_tokens,
            max_aliases=settings.max_aliases,
            max_batch_operations=settings.max_batch_operations,
            introspection=settings.introspection,
        )
    )
    panel_dir = panel_directory(settings.panel_dir)
    view = _GraphQLView(
        schema,
        auth_tokens=settings.auth_tokens,
        panel_dir=panel_dir,
        graphql_ide="graphiql" if settings.graphiql_enabled else None,
        allow_queries_via_get=False,
        subscription_protocols=("graphql-transport-ws",),
        # Same-origin pages (the panel) may always connect; other origins as for CORS.
        allowed_origins=settings.cors_origins,
        max_subscriptions_per_connection=10,
        connection_init_wait_timeout=timedelta(seconds=10),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # The store reconnects within 5 s of Cassandra coming back, so /readyz turns true
        # again quickly (cql/store.py sets the policy for every process).
        store = await Store.open(cassandra)
        board = AllTimeBoard(
            store,
            size=settings.ranking_board_size,
            late_horizon=timedelta(seconds=settings.late_horizon_s),
        )
        app.state.store = store
        app.state.board = board
        app.state.window_rankings = WindowRankings(store, ttl_s=settings.top_cache_ttl_s)
        refresher: asyncio.Task[None] | None = None
        try:
            await _warm_up(store)
            refresher = asyncio.create_task(board.run(settings.ranking_refresh_s))
            if not await board.wait_ready(settings.ranking_startup_wait_s):
                log.warning("serving before the first all-time ranking is ready")
            # Everything made so far (driver metadata, schema, statements, the first
            # ranking) lives as long as the process: out of the collector's sight, a full
            # collection no longer walks it. Measured: full collections of 50-120 ms every
            # second or two under load were the p99 of topArticles at 16 clients (61 -> 42 ms).
            gc.collect()
            gc.freeze()
            log.info("serving GraphQL on keyspace %s", cassandra.keyspace)
            yield
        finally:
            if refresher is not None:
                refresher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await refresher
            await asyncio.to_thread(store.close)

    middleware = [
        Middleware(_CountRequests, metrics=metrics),
        Middleware(_CapWebSockets, limit=settings.max_websockets, metrics=metrics),
    ]
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["authorization", "content-type", "x-request-id"],
                expose_headers=["x-request-id"],
                max_age=600,
            )
        )
    app = Starlette(
        routes=[
            Route("/graphql", _graphql, methods=["GET", "POST"]),
            Route("/healthz", _healthz, methods=["GET"]),
            Route("/readyz", _readyz, methods=["GET"]),
            Route("/metrics", _metrics, methods=["GET"]),
            WebSocketRoute("/graphql", view),
            Mount("/panel", app=PanelFiles(panel_dir)),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.view = view
    return app
