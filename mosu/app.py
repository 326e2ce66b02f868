"""The ASGI application: API under ``/api/v1``, server-rendered pages, static assets."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from mosu import __version__, i18n
from mosu.accounts.routes import router as accounts_router
from mosu.arena.routes import router as arena_router
from mosu.board.routes import router as board_router
from mosu.challenges.routes import router as challenges_router
from mosu.core.credentials import CredentialBox
from mosu.core.db import make_engine, make_sessionmaker
from mosu.core.errors import (
    DATABASE_BUSY,
    HTTP_ERROR,
    INTERNAL,
    INVALID_REQUEST,
    METHOD_NOT_ALLOWED,
    OUT_OF_RANGE,
    PAGE_NOT_FOUND,
    MosuError,
    TooManyRequests,
    Unauthenticated,
)
from mosu.core.gate import DatabaseGate
from mosu.core.metrics import instrument_pool
from mosu.core.settings import Settings
from mosu.corpus.routes import router as corpus_router
from mosu.deps import api_language
from mosu.matching.tokens import default_tokenizer
from mosu.notifications.routes import router as notifications_router
from mosu.ops.middleware import RequestObserver
from mosu.ops.routes import router as ops_router
from mosu.public_cache import PublicCache
from mosu.race.routes import router as races_router
from mosu.registry.io_routes import router as registry_io_router
from mosu.registry.routes import router as registry_router
from mosu.review.decision_routes import router as review_decision_router
from mosu.review.grading_routes import router as grading_router
from mosu.review.panel_routes import router as review_panel_router
from mosu.review.pool_routes import router as review_pool_router
from mosu.scenarios.routes import router as scenarios_router
from mosu.startup import load_registrations
from mosu.supply.routes import router as supply_router
from mosu.uploads import BodyLimit
from mosu.web import pages
from mosu.web.assets import StaticAssets, assets
from mosu.web.compression import Compression
from mosu.web.flash import FlashMiddleware
from mosu.web.headers import SecurityHeaders
from mosu.web.render import language

API_PREFIX = "/api/v1"


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX)


def _error(status: int, code: str, message: str, details: object = None) -> JSONResponse:
    body: dict[str, object] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=status)


def _answer(request: Request, exc: MosuError) -> Response:
    """``exc`` as the API's JSON error or as an error page, in the reader's language."""
    if _is_api(request):
        message = i18n.render(exc.text, api_language(request))
        response: Response = _error(exc.status, exc.code, message, exc.details)
    else:
        response = pages.error_page(request, exc.status, exc.text)
    if isinstance(exc, TooManyRequests):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(MosuError)
    async def mosu_error(request: Request, exc: MosuError) -> Response:
        if isinstance(exc, Unauthenticated) and not _is_api(request):
            return pages.login_redirect(request)
        return _answer(request, exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        lang = api_language(request) if _is_api(request) else language(request)
        details = [
            {
                "loc": list(e.get("loc", ())),
                "msg": i18n.validation_message(
                    str(e.get("type")), str(e.get("msg", "")), lang, e.get("ctx")
                ),
                "type": e.get("type"),
            }
            for e in exc.errors()
        ]
        if _is_api(request):
            return _answer(request, INVALID_REQUEST(details=details))
        return pages.error_page(request, 422, "; ".join(str(d["msg"]) for d in details))

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def out_of_range(request: Request, exc: Exception) -> Response:
        """A number too large for the database's integers (SQLite raises OverflowError,
        PostgreSQL a DataError): no row can match it, and no row can hold it."""
        return _answer(request, OUT_OF_RANGE())

    @app.exception_handler(OperationalError)
    @app.exception_handler(PoolTimeout)
    async def database_busy(request: Request, exc: Exception) -> Response:
        """The last resort when the database does not answer in time (SQLite's write lock
        waited for past its limit, no connection free, the server gone): try again soon."""
        response = _answer(request, DATABASE_BUSY())
        response.headers["Retry-After"] = "1"
        return response

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        """Anything else: a 500 that names the request's id (its lines are in the log)."""
        response = _answer(request, INTERNAL())
        response.headers["X-Request-ID"] = str(request.state._state.get("request_id", ""))
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        known = {404: PAGE_NOT_FOUND, 405: METHOD_NOT_ALLOWED}.get(exc.status_code)
        error = known() if known else HTTP_ERROR(status=exc.status_code)
        error.status = exc.status_code
        return _answer(request, error)


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {},
            },
        }
    },
}


def _document_errors(app: FastAPI) -> None:
    """Every API operation answers errors as ``{"error": {code, message, details}}``: say so
    in the OpenAPI document (instead of FastAPI's ``{"detail": …}`` for 422), so that
    clients and the fuzzer check error bodies too."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = build()
        components = document.setdefault("components", {}).setdefault("schemas", {})
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        components["Error"] = ERROR_SCHEMA
        error = {
            "description": "错误 / error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for operations in document.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                responses.pop("422", None)
                responses["4XX"] = error
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(settings: Settings) -> FastAPI:
    """A mosu application bound to ``settings``' database."""
    load_registrations()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        gate: DatabaseGate = app.state.database_gate
        anyio.to_thread.current_default_thread_limiter().total_tokens = gate.threads
        yield

    app = FastAPI(
        title="mosu 模速",
        version=__version__,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    bind(app, settings)

    api = APIRouter(prefix=API_PREFIX)
    api.include_router(accounts_router)
    api.include_router(registry_router)
    api.include_router(registry_io_router)
    api.include_router(corpus_router)
    api.include_router(scenarios_router)
    api.include_router(challenges_router)
    api.include_router(races_router)
    api.include_router(supply_router)
    api.include_router(arena_router)
    api.include_router(board_router)
    api.include_router(notifications_router)
    api.include_router(review_pool_router)
    api.include_router(review_panel_router)
    api.include_router(review_decision_router)
    api.include_router(grading_router)
    # pages first: a router tries its routes one by one, and no page's path can match an
    # API route's (all under /api/v1) or the reverse, so a page skips the 254 API routes;
    # the pages' routes join the application's own list (an included router is scanned
    # twice per request, see mosu.web.pages)
    app.router.routes.extend(pages.router.routes)
    app.router.routes.extend(ops_router.routes)
    app.include_router(api)

    _install_error_handlers(app)
    _document_errors(app)
    # the last added is the outermost: a 413 from BodyLimit still gets the security headers
    app.add_middleware(FlashMiddleware)
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(Compression)  # inside the micro-cache: it keeps the gzipped body
    app.add_middleware(
        PublicCache,
        seconds=settings.public_cache_seconds,
        default_language=settings.default_language,
    )
    app.add_middleware(StaticAssets, files=assets())  # files first: no routing, no layers
    app.add_middleware(RequestObserver, access_log=settings.access_log)
    return app


def bind(app: FastAPI, settings: Settings) -> None:
    """Point ``app`` at ``settings`` and their database: all the state its requests read.
    The tests build one app per worker (its routes cost more than many tests take) and bind
    it to each test's database."""
    gate = DatabaseGate(settings.db_pool_size)
    engine = make_engine(settings.database_url, pool_size=gate.connections)
    instrument_pool(engine, gate.connections)
    app.state.settings = settings
    app.state.database_gate = gate
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.credential_box = CredentialBox(settings.secret_key)


def settle() -> None:
    """Finish start-up before the first request. Load the process-wide tokenizer of the
    search and the matcher (jieba's dictionary and ours), which the first page with a
    search or a recommendation would otherwise wait for: an organisation's page took 0.82 s
    the first time after start-up and 16 ms after. Then take what start-up made (modules,
    routes, mappers, the tokenizer: some 250,000 objects that live as long as the process)
    out of the cyclic garbage collector's view, so that its full collections walk only what
    requests made: serving pages, a full collection took about 160 ms (0.15 ms a page on
    average, and a pause of the event loop) and takes about 20 ms now. Called by ``mosu
    serve`` once the application is built, not by the tests, which build and drop
    applications."""
    default_tokenizer()
    gc.collect()
    gc.freeze()


def from_env() -> FastAPI:
    """The application configured from ``MOSU_*`` variables: the factory each web process
    of ``mosu serve --workers N`` (or ``uvicorn --factory mosu.app:from_env``) builds."""
    app = create_app(Settings())
    settle()
    return app
