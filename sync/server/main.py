"""The FastAPI application factory."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sync import logs
from sync.protocol import PROTOCOL_VERSION, ErrorBody, ErrorResponse, PushRequest
from sync.server import accounts
from sync.server.config import Settings
from sync.server.db import make_engine, migrate
from sync.server.errors import DomainError, TooManyAttempts
from sync.server.guard import Guard
from sync.server.routes import (
    areas,
    auth,
    campaigns,
    devices,
    fhir,
    fhir_tasks,
    health,
    landing,
    matches,
    oauth,
    persons,
    sync,
)
from sync.server.storage import storage_for


def _error(status: int, code: str, message: str,
           headers: dict[str, str] | None = None) -> JSONResponse:
    body = ErrorResponse(error=ErrorBody(code=code, message=message))
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def create_app(settings: Settings) -> FastAPI:
    """Build the server for these settings; the schema is created on start."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        migrate(engine)
        app.state.engine = engine
        app.state.storage = storage_for(settings.database_url)
        accounts.warm_up()
        # What start-up made lives as long as the process: out of the collector's way, and
        # fewer young-generation passes under load (a profile gave GC 27 % of a push).
        gc.collect()
        gc.freeze()
        gc.set_threshold(20_000, 20, 20)
        yield
        engine.dispose()

    app = FastAPI(title="HSSK central server", version=f"{PROTOCOL_VERSION}.0",
                  lifespan=lifespan)
    app.state.settings = settings

    app.add_middleware(Guard, max_body_bytes=settings.max_body_bytes)

    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        headers = ({"Retry-After": str(exc.retry_after)}
                   if isinstance(exc, TooManyAttempts) else None)
        return _error(exc.status, exc.code, str(exc), headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {401: "unauthorized", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed", 413: "too_large"}.get(
            exc.status_code, "http_error")
        return _error(exc.status_code, code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return _error(422, "invalid_request", f"{where}: {first.get('msg', 'invalid')}")

    for router in (health.router, auth.router, devices.router, campaigns.router, sync.router,
                   persons.router, areas.router, oauth.router, matches.router):
        app.include_router(router, prefix="/v1")
    app.include_router(fhir.router)
    app.include_router(fhir_tasks.router)
    app.include_router(landing.router)
    app.openapi = partial(_openapi, app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, with the models of bodies a route reads itself (``sync.wire``)."""
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(title=app.title, version=app.version, routes=app.routes)
    components = document.setdefault("components", {}).setdefault("schemas", {})
    for model in (PushRequest,):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, nested in schema.pop("$defs", {}).items():
            components.setdefault(name, nested)
        components.setdefault(model.__name__, schema)
    app.openapi_schema = document
    return document


def app_from_env() -> FastAPI:
    """The app for a worker process of ``hssk-server serve --workers N`` (settings from the
    environment the command set)."""
    logs.install(logs.SERVER_LOGGERS)
    return create_app(Settings.from_env())
