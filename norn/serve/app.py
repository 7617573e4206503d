"""The routes: thin. Each checks the token, runs the blocking work in a thread, and answers JSON.

Every error is {"error": ...} (422 adds "problems"); a traceback never reaches a client.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from typing import Any, Callable, Optional

from fastapi import Body, FastAPI, Query, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from norn.cli.exits import as_norn_error
from norn.errors import NornError
from norn.serve import bus as events_bus
from norn.serve import work
from norn.serve.auth import authorized
from norn.serve.models import (
    Accepted, Error, ForgeRequest, Health, Invalid, NothingToDo, RunDocument, TeardownRequest,
)
from norn.serve.work import ApiError, Service

log = logging.getLogger("norn.serve")

DESCRIPTION = """norn's forge and teardown over HTTP, and their events over a WebSocket.

Every endpoint but `GET /healthz` needs `Authorization: Bearer <token>` (401 otherwise).
`WebSocket /v1/events[?app=APP]` (same header, else the handshake is refused with 403) sends every
event from the moment of connection as one JSON text message, the objects `norn forge -o json`
prints: `{type, app, time, payload}`. A client that falls 1000 events behind is dropped with close
code 1008 (policy violation); at shutdown clients get close code 1001 (going away).

A run that fails before its first step (the cluster unreachable, say) ends with `forge.failed` or
`teardown.failed` whose `step` is null. At most NORN_SERVE_WORKERS runs (default 4) are at work; the
others wait in the order accepted. The newest 1000 finished runs are kept for `GET /v1/runs/{run}`.
"""

UNAUTHORIZED = {401: {"model": Error, "description": "No or a wrong bearer token"}}
INVALID = {422: {"model": Invalid, "description": "Bad input: the problems, as norn validate reports them"}}
UPSTREAM = {502: {"model": Error, "description": "The cluster refused or failed a request"},
            500: {"model": Error, "description": "norn failed"}}
NOT_FOUND = {404: {"model": Error, "description": "No such app, or no infraspec for it"}}
RUN_CODES = {**UNAUTHORIZED, **INVALID, **UPSTREAM, **NOT_FOUND,
             200: {"model": NothingToDo, "description": "Nothing to do"},
             409: {"model": Error, "description": "Another run (of this server or a CLI) holds the app"},
             503: {"model": Error, "description": "The server is stopping: no new run"}}


def create_app(service: Service, token: str, bus: events_bus.Bus) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI):
        bus.bind(asyncio.get_running_loop())  # runs publish from their threads onto this loop
        yield

    app = FastAPI(title="norn serve", version="1", description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url=None)

    app.add_middleware(TokenGate, token=token)

    async def blocking(call: Callable[..., Any], *args: Any) -> Any:
        try:
            return await run_in_threadpool(call, *args)
        except (NornError, OSError) as exc:
            error = as_norn_error(exc)  # as the CLI maps it: a user's file the system refuses is bad input
            if error is None:
                raise
            raise work.as_api_error(error) from None

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [_problem(error) for error in exc.errors()]
        if "json" not in request.headers.get("content-type", "json"):
            problems = [{"file": "request body", "line": None, "key": None,
                         "message": "not JSON: send it with Content-Type: application/json"}]
        first = problems[0] if problems else {"key": None, "message": "invalid request"}
        where = f"{first['key']}: " if first["key"] else ""
        return JSONResponse({"error": f"{first['file']}: {where}{first['message']}", "problems": problems},
                            status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"error": "norn serve failed; its log has the details"}, status_code=500)

    @app.get("/healthz", response_model=Health, tags=["server"])
    def healthz() -> dict:
        return {"status": "stopping" if service.runs.stopping else "ok"}

    @app.get("/v1/openapi.json", include_in_schema=False)
    def openapi() -> dict:
        return app.openapi()

    @app.get("/v1/apps", response_model=list[dict[str, Any]], tags=["apps"],
             responses={**UNAUTHORIZED, **UPSTREAM, 422: {"model": Invalid, "description": "Bad settings"}})
    async def list_apps() -> Any:
        """Every app's state: the document of `norn status -o json`."""
        return await blocking(work.apps, service)

    @app.get("/v1/apps/{app}", response_model=dict[str, Any], tags=["apps"],
             responses={**UNAUTHORIZED, **INVALID, **UPSTREAM, **NOT_FOUND})
    async def one_app(app: str) -> Any:
        """One app's state: the document of `norn status APP -o json`."""
        return await blocking(work.app, service, app)

    @app.get("/v1/apps/{app}/plan", response_model=dict[str, Any], tags=["apps"],
             responses={**UNAUTHORIZED, **INVALID, **UPSTREAM, **NOT_FOUND})
    async def plan(app: str, force: bool = Query(False, description="Plan a teardown, then a fresh forge.")) -> Any:
        """What a forge would do: the document of `norn plan APP -o json`."""
        return await blocking(work.plan, service, app, force)

    @app.post("/v1/apps/{app}/forge", status_code=202, response_model=Accepted,
              tags=["runs"], responses=RUN_CODES)
    async def forge(app: str, body: Optional[ForgeRequest] = Body(None)) -> Any:
        """Forge the app (resume, update, or with force tear down and forge afresh): a run, queued."""
        body = body or ForgeRequest()
        waiting = await blocking(_seconds, body.timeout)
        return await _answer(blocking(work.forge, service, app, body.force, waiting if body.wait else None))

    @app.delete("/v1/apps/{app}/forge", status_code=202, response_model=Accepted,
                tags=["runs"], responses=RUN_CODES)
    async def teardown(app: str, body: Optional[TeardownRequest] = Body(None)) -> Any:
        """Tear the app down: a run, queued."""
        body = body or TeardownRequest()
        return await _answer(blocking(work.teardown, service, app, body.delete_volumes))

    @app.get("/v1/runs/{run}", response_model=RunDocument, tags=["runs"],
             responses={**UNAUTHORIZED, **INVALID, 404: {"model": Error, "description": "No such run (or forgotten)"}})
    def get_run(run: str) -> Any:
        """A run and every event it emitted so far."""
        found = service.runs.get(run)
        if found is None:
            raise ApiError(404, "no such run: unknown, or one of the oldest finished runs, forgotten")
        return found

    @app.websocket("/v1/events")
    async def events(websocket: WebSocket, app: Optional[str] = None) -> None:
        if not authorized(websocket.headers.get("authorization"), token):
            await websocket.close(code=1008)  # before accept: the handshake is answered 403
            return
        await bus.serve(websocket, app)

    return app


class TokenGate:
    """Every HTTP request but GET /healthz needs the token, checked before anything else is read (a
    body that does not parse included), so an unauthorized client learns nothing but 401."""

    def __init__(self, app: Any, token: str) -> None:
        self.app, self.token = app, token

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] != "/healthz":
            header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
            if not authorized(header, self.token):
                answer = JSONResponse({"error": "unauthorized: send Authorization: Bearer <token>"}, status_code=401,
                                      headers={"WWW-Authenticate": "Bearer"})
                return await answer(scope, receive, send)
        await self.app(scope, receive, send)


async def _answer(started) -> Any:
    status, body = await started
    return JSONResponse(body, status_code=status)


def _seconds(timeout: str) -> float:
    """``timeout`` as norn forge --timeout takes it."""
    from norn.errors import UsageError
    from norn.kube.rollout import parse_duration

    try:
        return parse_duration(timeout)
    except UsageError as exc:
        message = exc.message.replace("--timeout ", "", 1)
        raise ApiError(422, f"request body: timeout: {message}",
                       problems=[{"file": "request body", "line": None, "key": "timeout", "message": message}]) from None


def _problem(error: dict) -> dict:
    """A request validation error as a problem: where (body, query), the key, pydantic's words."""
    where, *key = [str(part) for part in error.get("loc", ())] or ["request"]
    return {"file": f"request {where}", "line": None, "key": ".".join(key) or None, "message": error.get("msg", "")}
