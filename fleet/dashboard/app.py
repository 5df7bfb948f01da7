"""The dashboard's web side: :func:`create_app`, a Starlette application on a :class:`Feed`.

Routes (docs/dashboard.md has the details):

=====================================  ===============================================
``GET /``                              the page (``?token=...`` once: sets the cookie)
``GET /static/...``                    its script and style sheet
``GET /api/state``                     the whole merged state (JSON)
``GET /api/stream``                    server-sent events: ``state``, ``delta``,
                                       ``event``, ``status``
``GET /api/sites``                     the site maps (the manager's ``sites`` answer)
``GET /api/trend?point=&sensor=&window=``  a point's readings over ``shift`` (8 h),
                                       ``day`` or ``week``, with its limits
``POST /api/anomalies/{id}/ack``       body ``{"note"}``: acknowledge as the supervisor
``POST /api/anomalies/{id}/resolve``   (same)
=====================================  ===============================================

Errors are one line of plain text: 400 invalid input, 403 not a supervisor, 404 no such
anomaly or point, 409 the manager refuses (already acknowledged, ...), 503 the manager is
not reachable. Nothing else escapes: no traceback reaches a page.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fleet.dashboard.access import COOKIE, Access
from fleet.dashboard.feed import Feed
from fleet.errors import FleetError, NotReachable

logger = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
"""The page's files (package data)."""

WINDOWS = {"shift": timedelta(hours=8), "day": timedelta(days=1), "week": timedelta(weeks=1)}
"""Trend windows the page offers."""

KEEPALIVE_S = 15.0
"""Seconds of quiet after which the stream sends a comment (keeps proxies from closing)."""

SITES_KEPT_S = 30.0
"""Seconds the manager's site maps are kept before they are asked again."""

MAX_NOTE = 2000
"""Longest note accepted from the page (characters)."""

_TEXT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")

Handler = Callable[[Request], Awaitable[Response]]


def _dumps(data: Any) -> str:
    return orjson.dumps(data, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


def _line(status: int, text: str) -> PlainTextResponse:
    return PlainTextResponse(text.splitlines()[0] if text else "error", status_code=status)


def _cert(request: Request) -> dict[str, Any]:
    """The client certificate's common name and serial number, as the server put them in
    the scope (``cert_cn``, ``cert_serial``; None without a certificate)."""
    tls = request.scope.get("extensions", {}).get("tls", {})
    tls = tls if isinstance(tls, dict) else {}
    cn, serial = tls.get("client_cn"), tls.get("client_serial")
    return {"cert_cn": cn if isinstance(cn, str) else None,
            "cert_serial": serial if isinstance(serial, int) else None}


def _token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    if request.url.path == "/" and request.query_params.get("token"):
        # only the page takes a token in its address, once, to turn it into the cookie
        return request.query_params["token"]
    return request.cookies.get(COOKIE) or None


def create_app(feed: Feed, access: Access, *, secure_cookie: bool = False) -> ASGIApp:
    """The application serving ``feed`` to the supervisors ``access`` admits. The caller
    starts and closes the feed (see :mod:`fleet.dashboard.server`)."""
    sites_cache: dict[str, Any] = {}

    def guarded(handler: Callable[[Request, str], Awaitable[Response]]) -> Handler:
        async def endpoint(request: Request) -> Response:
            cert, token = _cert(request), _token(request)
            name = access.supervisor(token=token, **cert)
            if name is None and access.authenticated:
                return _line(403, access.refusal(token=token, **cert))
            return await handler(request, name or "")
        return endpoint

    async def page(request: Request, _who: str) -> Response:
        token = request.query_params.get("token")
        if token and access.tokens:
            # the token leaves the address bar (and the history) for a cookie
            response: Response = RedirectResponse("/", status_code=303)
            response.set_cookie(COOKIE, token, httponly=True, samesite="strict",
                                secure=secure_cookie)
            return response
        return FileResponse(STATIC / "index.html", headers={"cache-control": "no-store"})

    async def state(_request: Request, _who: str) -> Response:
        return JSONResponse(feed.state())

    async def ask(verb: str, body: Any) -> Any:
        return await run_in_threadpool(feed.ask, verb, body)

    async def sites(_request: Request, _who: str) -> Response:
        # maps change rarely but do change (a mission on a new site): kept a little while
        cached = sites_cache.get("sites")
        if cached is None or time.monotonic() - cached[0] > SITES_KEPT_S:
            try:
                answer = await ask("sites", None)
            except NotReachable as exc:
                return _line(503, str(exc))
            except FleetError as exc:
                return _line(502, f"the manager refused the site maps: {exc}")
            cached = (time.monotonic(), answer)
            if answer:
                sites_cache["sites"] = cached
        return JSONResponse(cached[1])

    async def stream(request: Request, _who: str) -> Response:
        listener = feed.listen(asyncio.get_running_loop())

        async def events() -> AsyncIterator[str]:
            try:
                yield "retry: 2000\n\n"
                while True:
                    try:
                        kind, data = await asyncio.wait_for(listener.queue.get(), KEEPALIVE_S)
                    except TimeoutError:
                        yield ": keep-alive\n\n"
                        continue
                    if kind == "closed":  # fell behind: the page reconnects, starts afresh
                        return
                    # orjson: a thousand robots' records, twice a second, per page
                    yield f"event: {kind}\ndata: {_dumps(data)}\n\n"
            finally:
                feed.unlisten(listener)

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"cache-control": "no-store",
                                          "x-accel-buffering": "no"})

    async def change(request: Request, who: str) -> Response:
        verb = request.path_params["verb"]
        anomaly = str(request.path_params["anomaly"]).lstrip("#")
        if not anomaly.isdigit():
            return _line(400, f"an anomaly id is a number, not {anomaly!r}")
        if "json" not in request.headers.get("content-type", ""):
            return _line(400, "send the note as JSON: {\"note\": \"...\"}")
        try:
            body = await request.json()
        except ValueError:
            return _line(400, "the body is not JSON")
        note = body.get("note") if isinstance(body, dict) else None
        if not isinstance(note, str) or not note.strip():
            return _line(400, "a note is required")
        if len(note) > MAX_NOTE:
            return _line(400, f"a note has at most {MAX_NOTE} characters")
        if not who:
            return _line(403, "cannot tell who you are: start the dashboard with --by NAME")
        try:
            answer = await ask(f"anomalies/{verb}",
                               {"id": int(anomaly), "by": who, "note": note.strip()})
        except NotReachable as exc:
            return _line(503, str(exc))
        except FleetError as exc:
            status = 404 if str(exc).startswith("no anomaly") else 409
            return _line(status, str(exc))
        logger.info("%s %s anomaly %s", who, verb, anomaly)
        return JSONResponse(answer)

    async def trend(request: Request, _who: str) -> Response:
        params = request.query_params
        point, sensor = params.get("point", ""), params.get("sensor", "")
        window = params.get("window", "shift")
        if not _TEXT.match(point) or not _TEXT.match(sensor):
            return _line(400, "a trend needs a point and a sensor (letters, digits, ._:/-)")
        if window not in WINDOWS:
            return _line(400, f"window is one of {', '.join(WINDOWS)}, not {window!r}")
        since = _now(feed) - WINDOWS[window]
        try:
            answer = await ask("trend", {"point": point, "sensor": sensor,
                                         "since": since.isoformat()})
        except NotReachable as exc:
            return _line(503, str(exc))
        except FleetError as exc:
            return _line(404, str(exc))
        return JSONResponse(answer)

    async def whoami(_request: Request, who: str) -> Response:
        return JSONResponse({"supervisor": who or None})

    routes = [
        Route("/", guarded(page)),
        Route("/api/state", guarded(state)),
        Route("/api/whoami", guarded(whoami)),
        Route("/api/sites", guarded(sites)),
        Route("/api/stream", guarded(stream)),
        Route("/api/trend", guarded(trend)),
        Route("/api/anomalies/{anomaly}/{verb:str}", guarded(change), methods=["POST"]),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
    return _Guard(Starlette(routes=routes), access)


HEADERS = [(b"content-security-policy",
            b"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"),
           (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
"""Sent with every response: the page runs only its own files, is never framed (no
clickjacking of the action buttons) and leaks no address to other sites."""


class _Guard:
    """Checks what the routes cannot: the static files' access, and unknown actions; adds
    :data:`HEADERS` to every response."""

    def __init__(self, app: ASGIApp, access: Access) -> None:
        self.app = app
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = str(scope.get("path", ""))
            if path.startswith("/api/anomalies/") and not path.endswith(("/ack", "/resolve")):
                await _line(404, "no such action (ack or resolve)")(scope, receive, send)
                return
            if path.startswith("/static/") and self.access.authenticated:
                request = Request(scope)
                cert, token = _cert(request), _token(request)
                if self.access.supervisor(token=token, **cert) is None:
                    await _line(403, self.access.refusal(token=token, **cert))(
                        scope, receive, send)
                    return
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *HEADERS]}
            await send(message)

        await self.app(scope, receive, with_headers)


def _now(feed: Feed) -> datetime:
    """The manager's time when known (a simulated site runs on its own clock), else now."""
    at = feed.at
    if isinstance(at, str):
        try:
            moment = datetime.fromisoformat(at)
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        except ValueError:
            pass
    return datetime.now(UTC)
