"""The ASGI application of `desk serve`: Support Center pages at /, the JSON API at /api/v1.

Services are synchronous; FastAPI runs the plain `def` endpoints in its thread pool, so a slow query holds one
thread, never the event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from desk import __version__
from desk.domain.errors import Conflict, DeskError, Invalid, NotFound, PermissionDenied
from desk.storage.db import Database
from desk.web import api, gate, pages
from desk.web.security import MAX_FILES, CurrentAttachmentRules, RateLimits, Refused, Unauthenticated

HERE = Path(__file__).parent
NO_SUCH_PAGE = "This page does not exist. Check the address, or start again."

ERROR_STATUS: dict[type[DeskError], tuple[int, str]] = {
    NotFound: (404, "not_found"),
    PermissionDenied: (403, "forbidden"),
    Invalid: (422, "invalid"),
    Conflict: (409, "conflict"),
}


def error_status(error: DeskError) -> tuple[int, str]:
    for kind, status in ERROR_STATUS.items():
        if isinstance(error, kind):
            return status
    return 400, "error"


def _is_gate(request: Request) -> bool:
    """Whether a request is an agent's Desk's (desk.web.gate), whose errors it raises again as the same types."""
    return request.url.path.startswith(gate.PREFIX + "/")


def _is_api(request: Request) -> bool:
    """Whether a request is a program's (JSON errors), not a browser's (error pages)."""
    return _is_api_path(request.url.path)


def _is_api_path(path: str) -> bool:
    return path.startswith(("/api/", gate.PREFIX + "/"))


def api_error(
    status: int,
    kind: str,
    message: str,
    fields: dict[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, object] = {"error": {"type": kind, "message": message}}
    if fields:
        body["error"] = {"type": kind, "message": message, "fields": fields}
    return JSONResponse(body, status_code=status, headers=headers)


API_PREFIX = "/api/v1"
ROUTERS = ((API_PREFIX, api.router), (gate.PREFIX, gate.router), ("", pages.router))


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route takes at this address."""
    methods: set[str] = set()
    for prefix, router in ROUTERS:
        if request.url.path.startswith(prefix + "/"):
            scope = {"type": "http", "method": request.method, "path": request.url.path.removeprefix(prefix)}
            for route in router.routes:
                if isinstance(route, APIRoute) and route.matches(scope)[0] != Match.NONE:
                    methods |= route.methods or set()
    return sorted(methods)


def create_app(
    db: Database, *, public_url: str, limits: RateLimits | None = None, setup_code: str | None = None
) -> FastAPI:
    """The application on one database; `public_url` is where people reach it (the links in mails); `setup_code`
    lets the first administrator of a new help desk be created through the agents' gate."""
    app = FastAPI(
        title="Desk API",
        version=__version__,
        description="Tickets, users and help topics of a Desk help desk. Authenticate with an agent's API token "
        "(`Authorization: Bearer desk_…`, made in Desk or with `desk token create`); calls act with that "
        "agent's permissions.",
        docs_url="/api/v1/docs",
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
        lifespan=gate.lifespan,
    )
    app.state.db = db
    app.state.public_url = public_url.rstrip("/")
    app.state.limits = limits or RateLimits()
    app.state.setup_code = setup_code
    for prefix, router in ROUTERS:
        # The agents' gate is Desk's own transport, not part of the documented API for integrations.
        app.include_router(router, prefix=prefix, include_in_schema=router is not gate.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.exception_handler(DeskError)
    def on_desk_error(request: Request, error: DeskError) -> Response:
        if _is_gate(request):
            return gate.answer(error)
        status, kind = error_status(error)
        if _is_api(request):
            fields = dict(error.fields) if isinstance(error, Invalid) else None
            return api_error(status, kind, str(error), fields)
        return pages.error_page(request, status, str(error))

    @app.exception_handler(Refused)
    def on_refused(request: Request, error: Refused) -> Response:
        if _is_gate(request):
            response = gate.answer(DeskError(str(error)), error.status)
        elif _is_api(request):
            response = api_error(error.status, "too_many_requests" if error.status == 429 else "refused", str(error))
        else:
            response = pages.error_page(request, error.status, str(error))
        if error.retry_after is not None:
            response.headers["Retry-After"] = str(error.retry_after)
        return response

    @app.exception_handler(StarletteHTTPException)
    def on_http_error(request: Request, error: StarletteHTTPException) -> Response:
        """No such address (404) or method (405): our page, or our JSON error, rather than Starlette's own."""
        message = NO_SUCH_PAGE if error.status_code == 404 else str(error.detail)
        headers = error.headers
        if error.status_code == 405:  # Starlette names only the first route's methods
            headers = {**(headers or {}), "Allow": ", ".join(_allowed_methods(request))}
        if _is_gate(request):
            refusal = NotFound(message) if error.status_code == 404 else DeskError(message)
            return gate.answer(refusal, error.status_code, headers)
        if _is_api(request):
            kind = "not_found" if error.status_code == 404 else "error"
            return api_error(error.status_code, kind, message, headers=headers)
        page = pages.error_page(request, error.status_code, message)
        page.headers.update(headers or {})
        return page

    @app.exception_handler(RequestValidationError)
    def on_bad_address(request: Request, error: RequestValidationError) -> Response:
        # The API answers its own validation errors (desk.web.api); on a page, an id out of range or a bad
        # parameter is an address that leads nowhere.
        return pages.error_page(request, 404, NO_SUCH_PAGE)

    @app.exception_handler(Unauthenticated)
    def on_unauthenticated(request: Request, error: Unauthenticated) -> Response:
        if _is_api(request):
            response = api_error(401, "unauthenticated", str(error))
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
        return RedirectResponse(pages.sign_in_url(request), status_code=303)

    app.state.attachment_rules = CurrentAttachmentRules(db)
    app.add_middleware(BoundedBody, rules=app.state.attachment_rules, refuse=on_refused)
    app.add_middleware(SecurityHeaders)  # outermost: refusals get the headers too
    return app


# Both middlewares are plain ASGI: Starlette's @app.middleware("http") runs each request through a task and a
# stream of its own, which cost about a millisecond per call through the agents' gate.


class BoundedBody:
    """Bodies are bounded before anything reads them (Starlette spools file parts to disk without a limit): room
    for the most files a form takes, base64 in the API's JSON, and the text around them."""

    def __init__(
        self, app: ASGIApp, *, rules: CurrentAttachmentRules, refuse: Callable[[Request, Refused], Response]
    ) -> None:
        self._app, self._rules, self._refuse = app, rules, refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("POST", "PUT", "PATCH"):
            rules = self._rules.cached()
            if rules is None:  # read from the database once a minute, off the event loop
                rules = await run_in_threadpool(self._rules.__call__)
            most = rules.max_bytes * MAX_FILES * 4 // 3 + 1024 * 1024
            length = Headers(scope=scope).get("content-length")
            refusal = None
            # ASCII digits only: str.isdigit() also takes "²" and "٣", and int() refuses 4,300 digits and more.
            if length is None or not (length.isascii() and length.isdigit()):
                refusal = Refused(411, "Send the request with its Content-Length.")
            elif len(length.lstrip("0")) > len(str(most)) or int(length) > most:
                refusal = Refused(413, f"The request is too large: at most {most // (1024 * 1024)} MB in all.")
            if refusal is not None:
                await self._refuse(Request(scope), refusal)(scope, receive, send)
                return
        await self._app(scope, receive, send)


class SecurityHeaders:
    """What every answer says about itself: no sniffing, HTTPS only once seen, no framing, no script."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        path: str = scope["path"]
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                if https:
                    headers.setdefault("Strict-Transport-Security", "max-age=15552000")
                headers.setdefault("Referrer-Policy", "same-origin")
                if not _is_api_path(path) or path.startswith("/api/v1/docs"):
                    headers.setdefault("X-Frame-Options", "DENY")
                if not path.startswith("/api/v1/docs"):
                    # Pages use only our own style sheet: no script, no remote content, no framing.
                    headers.setdefault(
                        "Content-Security-Policy",
                        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
                        "frame-ancestors 'none'; base-uri 'none'",
                    )
            await send(message)

        await self._app(scope, receive, send_with_headers)
