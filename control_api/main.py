"""App factory: routers, middleware, error handlers, and the lifespan.

The lifespan applies migrations (unless disabled), opens the database and
the gRPC pool, creates the first admin, and starts the node sync tasks; all
of it is undone in reverse on shutdown. `create_app(settings)` lets tests
build apps with their own database and nodes.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from sqlmodel import col, func, select

from control_api import errors, logs, migrate, node_security, node_sync
from control_api.api import failure_map, health, web
from control_api.api import v2 as api_v2
from control_api.api.v1 import ws as api_v1
from control_api.auth import TokenCodec, ensure_first_admin
from control_api.config import InsecureSettings, Settings, check_secrets, get_settings
from control_api.context import AppContext
from control_api.db import DbLimits, create_engine, make_session_factory
from control_api.hot_path import HotPath
from control_api.metrics import ApiMetrics
from control_api.middleware import AuthGate, BodyLimit, MetricsMiddleware
from control_api.models import Consumer, Desired, Stream, StreamStatus
from control_api.node_client import NodePool
from control_api.placement import selector_named

log = logging.getLogger(__name__)

DESCRIPTION = """\
Control plane of VAS-MS: streams, viewers (REST V2 and the V1 WebSocket at
`/api/v1/ws`), users and media nodes. Every error body is
`{"detail": str, "code": str}`. Authenticate with `POST /api/v2/auth/token`
and send `Authorization: Bearer <access_token>`.
"""


def _collectors(ctx: AppContext) -> None:
    """Scrape-time gauges: shared state read from the DB and the node pool."""
    m = ctx.metrics

    async def streams() -> None:
        async with ctx.sessions() as session:
            rows = await session.exec(
                select(Stream.status, func.count())
                .where(col(Stream.desired) != Desired.deleted.value)  # tombstones
                .group_by(Stream.status)
            )
            counts = dict(rows.all())
            m.streams.replace({(s.value,): counts.get(s.value, 0) for s in StreamStatus})
            rows2 = await session.exec(
                select(Consumer.state, func.count())
                .where(col(Consumer.owner_id).is_not(None))
                .group_by(Consumer.state)
            )
            m.consumers.replace({(state,): n for state, n in rows2.all()})

    async def nodes() -> None:
        stale = ctx.settings.node_stale_after_s
        up, draining, cpu, consumers = {}, {}, {}, {}
        for h in ctx.nodes.handles:
            key = (h.node_id or h.address,)
            up[key] = 1.0 if h.fresh(stale) else 0.0
            draining[key] = 1.0 if h.draining else 0.0
            if h.load is not None:
                workers = list(h.load.workers)
                cpu[key] = sum(w.cpu_percent for w in workers) / len(workers) if workers else 0.0
                consumers[key] = float(h.load.consumers)
        m.node_up.replace(up)
        m.node_draining.replace(draining)
        m.node_cpu.replace(cpu)
        m.node_consumers.replace(consumers)

    m.registry.collectors[:] = [streams, nodes]


def _openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """The OpenAPI document without FastAPI's default 422 (a list-shaped body we never send).

    Routes whose only parameters are string path ids can't fail validation, so
    the default entry goes; routes with a body declare their own 422 (ErrorBody).
    """

    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        for ops in spec.get("paths", {}).values():
            for op in ops.values():
                default = op.get("responses", {}).get("422", {})
                if "HTTPValidationError" in str(default):
                    del op["responses"]["422"]
        schemas = spec.get("components", {}).get("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        app.openapi_schema = spec
        return spec

    return build


def create_app(settings: Settings | None = None, *, sync: bool = True) -> FastAPI:
    """The ASGI app. `sync=False` skips the node sync tasks (unit tests drive them)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.auto_migrate:
            await migrate.upgrade(settings.database_url)
        engine = create_engine(settings.database_url, DbLimits.of(settings))
        sessions = make_session_factory(engine)
        metrics = ApiMetrics()
        token = settings.node_token.get_secret_value() if settings.node_token else None
        nodes = NodePool(
            settings.media_nodes,
            token,
            settings.grpc_timeout_s,
            metrics,
            credentials=node_security.channel_credentials(settings),
            cluster_id=node_security.cluster_id(settings),
        )
        ctx = AppContext(
            settings=settings,
            engine=engine,
            sessions=sessions,
            tokens=TokenCodec(settings),
            nodes=nodes,
            metrics=metrics,
            selector=selector_named(settings.placement, settings.placement_cpu_limit),
            hot=HotPath(engine, settings.database_url, settings.db_statement_timeout_s),
        )
        app.state.ctx = ctx
        _collectors(ctx)
        async with sessions() as session:
            await ensure_first_admin(session, settings)
        if not settings.media_nodes:
            log.warning("VASMS_MEDIA_NODES is empty: streams cannot start")
        if sync:
            node_sync.start(ctx)
        log.info("control API ready (%d media nodes configured)", len(settings.media_nodes))
        try:
            yield
        finally:
            await ctx.stop_tasks()
            await nodes.close()
            if ctx.hot is not None:
                await ctx.hot.close()
            await engine.dispose()
            log.info("control API stopped")

    app = FastAPI(
        title="VAS-MS control API",
        version="2.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.openapi = _openapi(app)  # type: ignore[method-assign]
    errors.install(app)
    failure_map.install(app)
    app.include_router(health.router)
    app.include_router(api_v2.router(media=settings.enable_v2))
    if settings.enable_v1:
        app.include_router(api_v1.router)
    web.mount(app)  # last: the demo page at / (routes above match first)
    # Added innermost first: requests pass Metrics → AuthGate → BodyLimit → routes.
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(AuthGate)
    app.add_middleware(MetricsMiddleware)
    return app


def app_from_env() -> FastAPI:
    """`uvicorn control_api.main:app_from_env --factory`."""
    settings = get_settings()
    logs.configure(settings.log_format, settings.log_level)
    try:
        check_secrets(settings)
    except InsecureSettings as exc:
        raise SystemExit(f"vasms-control-api: {exc}") from None
    return create_app(settings)
