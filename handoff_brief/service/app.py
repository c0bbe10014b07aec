"""The service's FastAPI app: `create_app(settings)`, served by `handoff-brief serve`.

Request handlers only read bodies, ask the worker pool and shape answers: parsing,
checking and rendering happen in the pool's processes, never in the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from .. import __version__
from ..choices import FORMATS, Format, PdfVariant
from ..errors import HandoffBriefError
from ..model import Handoff
from ..policy import Policy
from . import work
from .callback import BadCallback, CallbackHosts
from .jobs import JobRunner, job_document
from .metrics import CONTENT_TYPE_LATEST, Metrics
from .pool import Busy, Overran, WorkerDied, WorkerPool
from .review import review_router
from .settings import ServiceSettings
from .store import Store

MEDIA_TYPES: dict[Format, str] = {"pdf": "application/pdf",
                                  "md": "text/markdown; charset=utf-8",
                                  "html": "text/html; charset=utf-8"}
#: Content types of a handoff body -> the parser's suffix.
BODY_TYPES = {"application/json": ".json", "application/yaml": ".yaml",
              "application/x-yaml": ".yaml", "text/yaml": ".yaml", "text/x-yaml": ".yaml"}
_FILE_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*\.(pdf|md|html)")


class ApiError(Exception):
    """An answer other than success: status, one message, headers."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


# -- the API's documents (for OpenAPI and for readers of this file) -------------------------

class FindingOut(BaseModel):
    rule: str
    level: Literal["error", "warning"]
    path: str
    message: str
    fix: str = Field(description="How to fix what the rule found")


class CheckOut(BaseModel):
    id: str
    ready: bool
    findings: list[FindingOut]


class ProblemOut(BaseModel):
    path: str
    message: str
    line: int | None


class InvalidOut(BaseModel):
    problems: list[ProblemOut]


class ErrorOut(BaseModel):
    error: str


class JobIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    handoffs: list[Any] = Field(min_length=1, description="Handoffs as JSON objects; an "
                                "invalid one gets the status `invalid`, the others go on")
    formats: list[Format] = Field(default=["pdf"], min_length=1)
    draft: bool = Field(default=False, description="Render not-ready handoffs as drafts")
    callback_url: str | None = Field(default=None, description="POSTed the job document, "
                                     "signed, when the job is done (hosts the server allows)")
    policy: str | None = Field(default=None, description="The readiness policy, by the name "
                               "the server gives it (`serve --policy NAME=FILE`); default: "
                               "the server's first")


class JobAccepted(BaseModel):
    id: str
    status_url: str


def create_app(settings: ServiceSettings,
               on_ready: Callable[[], None] | None = None) -> FastAPI:
    """The service's app; its lifespan starts the worker pool and the job runner."""
    hosts = CallbackHosts(settings.callback_hosts)
    state: dict[str, Any] = {}
    versions: dict[str, int] = {}  # job id -> changes seen (progress, done)
    waiters: dict[str, asyncio.Event] = {}

    def changed(job_id: str) -> None:
        versions[job_id] = versions.get(job_id, 0) + 1
        event = waiters.pop(job_id, None)
        if event is not None:
            event.set()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = Store(settings.data_dir)
        workers = settings.jobs or os.cpu_count() or 1
        pool = await asyncio.to_thread(
            WorkerPool, workers, work.setup, (settings.look,),
            deadline=settings.render_deadline, max_waiting=settings.max_queue)
        metrics = Metrics(lambda: pool.waiting, lambda: pool.replaced)

        def rendered(result: dict[str, Any]) -> None:
            for entry in result["handoffs"]:
                for name in entry["outputs"]:
                    metrics.briefs.labels(name.rsplit(".", 1)[-1], "job").inc()

        loop = asyncio.get_running_loop()

        def from_thread(job_id: str) -> None:
            loop.call_soon_threadsafe(changed, job_id)

        runner = JobRunner(store, pool, settings, on_rendered=rendered, on_change=from_thread)
        state.update(store=store, pool=pool, metrics=metrics, runner=runner)
        runner.start()
        if on_ready:
            on_ready()
        try:
            yield
        finally:
            runner.stop()
            pool.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="handoff-brief", version=__version__, lifespan=lifespan,
                  description="Seller-ready briefs from qualified handoffs, or the reasons a "
                              "handoff is not ready.")

    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> JSONResponse:
        return JSONResponse({"error": error.message}, status_code=error.status,
                            headers=error.headers)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, error: RequestValidationError) -> JSONResponse:
        # A bad query parameter: one message, as every other refusal, not FastAPI's `detail`.
        item = error.errors()[0]
        where = ".".join(str(part) for part in item["loc"])
        return JSONResponse({"error": f"{where}: {item['msg']}"}, status_code=422)

    @app.exception_handler(HTTPException)
    async def no_route(request: Request, error: HTTPException) -> JSONResponse:
        messages = {404: f"no route {request.url.path!r} on this server; /docs lists them",
                    405: f"{request.method} is not allowed on {request.url.path!r}"}
        return JSONResponse({"error": messages.get(error.status_code, str(error.detail))},
                            status_code=error.status_code, headers=error.headers)

    @app.middleware("http")
    async def count(request: Request,
                    call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        if "metrics" in state:
            state["metrics"].requests.labels(path, request.method,
                                             str(response.status_code)).inc()
        return response

    async def authorised(request: Request) -> None:
        if settings.token is None:
            return
        given = request.headers.get("authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
                token.strip().encode(), settings.token.encode()):
            raise ApiError(401, "this server needs `Authorization: Bearer <token>` with its "
                           "HANDOFF_API_TOKEN", {"WWW-Authenticate": "Bearer"})

    Auth = Depends(authorised)

    @app.get("/healthz", tags=["service"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", tags=["service"], response_class=Response)
    async def metrics() -> Response:
        return Response(state["metrics"].text(), media_type=CONTENT_TYPE_LATEST)

    handoff_body = _handoff_body_docs()

    @app.post("/v1/check", tags=["briefs"], dependencies=[Auth], openapi_extra=handoff_body,
              responses={200: {"model": CheckOut}, 422: {"model": InvalidOut}})
    async def check(request: Request, policy: PolicyName = None) -> JSONResponse:
        """The readiness findings for one handoff (JSON or YAML body)."""
        chosen = _policy(settings, policy)
        raw, suffix = await _body(request, settings.max_body)
        result = await _in_pool(state["pool"], settings, work.check_body, raw, suffix, chosen)
        if result["kind"] == "invalid":
            return JSONResponse({"problems": result["problems"]}, status_code=422)
        return JSONResponse({k: result[k] for k in ("id", "ready", "findings")})

    @app.post("/v1/briefs", tags=["briefs"], dependencies=[Auth], openapi_extra=handoff_body,
              response_class=Response,
              responses={200: {"content": {t: {} for t in MEDIA_TYPES.values()},
                               "description": "The brief"},
                         422: {"description": "Invalid (`problems`) or not ready "
                                              "(`ready: false` and `findings`)"}})
    async def briefs(request: Request, format: Format = "pdf",  # noqa: A002
                     pdf_variant: PdfVariant | None = None, draft: bool = False,
                     policy: PolicyName = None) -> Response:
        """One handoff's brief; a handoff that is not ready is refused with its findings,
        unless `draft`."""
        chosen = _policy(settings, policy)
        raw, suffix = await _body(request, settings.max_body)
        pool: WorkerPool = state["pool"]
        started = asyncio.get_running_loop().time()
        result = await _in_pool(pool, settings, work.render_body, raw, suffix, format,
                                pdf_variant, draft, chosen)
        if result["kind"] == "invalid":
            return JSONResponse({"problems": result["problems"]}, status_code=422)
        if result["kind"] == "not_ready":
            return JSONResponse({"id": result["id"], "ready": False,
                                 "findings": result["findings"]}, status_code=422)
        metrics: Metrics = state["metrics"]
        metrics.render_seconds.labels(format).observe(
            asyncio.get_running_loop().time() - started)
        metrics.briefs.labels(format, "request").inc()
        etag = f'"{result["etag"]}"'
        headers = {"ETag": etag, "X-Handoff-Id": result["id"],
                   "X-Handoff-Ready": "true" if result["ready"] else "false",
                   "Content-Disposition": f'inline; filename="{result["id"]}'
                                          f'{"" if result["ready"] else "-draft"}.{format}"'}
        if result["pages"] is not None:
            headers["X-Handoff-Pages"] = str(result["pages"])
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(result["data"], media_type=MEDIA_TYPES[format], headers=headers)

    @app.post("/v1/jobs", tags=["jobs"], dependencies=[Auth], status_code=202,
              response_model=JobAccepted, openapi_extra={"requestBody": {
                  "required": True, "content": {"application/json": {
                      "schema": {"$ref": "#/components/schemas/JobIn"}}}}})
    async def submit(request: Request) -> JSONResponse:
        """Many handoffs at once, classified and rendered as `handoff-brief batch` does."""
        raw, _ = await _body(request, settings.max_body)
        job_in = await asyncio.to_thread(_job_in, raw)
        if job_in.callback_url is not None:
            try:
                job_in.callback_url = hosts.check(job_in.callback_url)
            except BadCallback as error:
                raise ApiError(422, error.message) from None
        _policy(settings, job_in.policy)
        store: Store = state["store"]
        job = await asyncio.to_thread(store.add, job_in.handoffs, {
            "formats": sorted(set(job_in.formats), key=FORMATS.index),
            "draft": job_in.draft, "callback_url": job_in.callback_url,
            "policy": job_in.policy})
        state["runner"].wake()
        url = f"/v1/jobs/{job.id}"
        return JSONResponse({"id": job.id, "status_url": url}, status_code=202,
                            headers={"Location": url})

    @app.get("/v1/jobs/{job_id}", tags=["jobs"], dependencies=[Auth],
             responses={404: {"model": ErrorOut}})
    async def job_status(job_id: str, wait: Annotated[float, Query(
            ge=0, le=60, description="Seconds to wait for the job to change (progress, done, "
                                     "its callback made) before answering, if it is not done "
                                     "or its callback not yet made")] = 0,
    ) -> JSONResponse:
        """The job: queued, running (with progress) or done (every handoff's status)."""
        seen = versions.get(job_id, 0)
        job = await asyncio.to_thread(state["store"].get, job_id)
        if job is None:
            raise ApiError(404, f"no job {job_id!r} on this server")
        if wait and (job.status != "done" or job.callback == "pending"):
            if versions.get(job_id, 0) == seen:
                event = waiters.setdefault(job_id, asyncio.Event())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), wait)
            job = await asyncio.to_thread(state["store"].get, job_id) or job
        document = job_document(job, state["runner"].progress.get(job_id))
        # Encoded off the event loop: the document of a large job runs to megabytes.
        return await asyncio.to_thread(JSONResponse, document)

    @app.get("/v1/jobs/{job_id}/files/{name}", tags=["jobs"], dependencies=[Auth],
             response_class=FileResponse, responses={404: {"model": ErrorOut}})
    async def job_file(job_id: str, name: str) -> FileResponse:
        """A brief the job wrote, by the name its document lists."""
        store: Store = state["store"]
        job = await asyncio.to_thread(store.get, job_id)
        listed = job is not None and job.result is not None and any(
            name in entry["outputs"] for entry in job.result["handoffs"])
        if not listed or not _FILE_NAME.fullmatch(name):
            raise ApiError(404, f"job {job_id!r} has no file {name!r}")
        fmt: Format = name.rsplit(".", 1)[1]  # type: ignore[assignment]
        return FileResponse(store.outputs(job_id) / name, media_type=MEDIA_TYPES[fmt])

    app.include_router(review_router(token_required=settings.token is not None))

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version,
                                 description=app.description, routes=app.routes)
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            handoff = Handoff.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(handoff.pop("$defs", {}))
            components["Handoff"] = handoff
            components["JobIn"] = JobIn.model_json_schema(
                ref_template="#/components/schemas/{model}")
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


PolicyName = Annotated[str | None, Query(description="The readiness policy, by the name the "
                                          "server gives it (`serve --policy NAME=FILE`); "
                                          "default: the server's first")]


def _policy(settings: ServiceSettings, name: str | None) -> Policy:
    """The policy a request names, else the server's first; 422 for a name it does not have."""
    if name is None:
        return settings.policies[0][1]
    for known, policy in settings.policies:
        if known == name:
            return policy
    raise ApiError(422, f"policy: this server has no policy {name!r}; it has "
                        f"{', '.join(repr(n) for n in settings.policy_names)}")


def _handoff_body_docs() -> dict[str, Any]:
    ref = {"schema": {"$ref": "#/components/schemas/Handoff"}}
    return {"requestBody": {"required": True, "description": "One handoff",
                            "content": {"application/json": ref, "application/yaml": ref}}}


async def _body(request: Request, limit: int) -> tuple[bytes, str]:
    """The body, refused (413) as soon as it is known to pass `limit`; its parser suffix."""
    declared = request.headers.get("content-length", "")
    too_large = ApiError(413, f"the body is larger than {limit // (1024 * 1024)} MiB, the "
                              "limit for one request (a handoff is a few kilobytes)")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
    except ClientDisconnect:  # nobody to answer; said so for the log, without a traceback
        raise ApiError(400, "the client closed the connection before the end of its "
                            "body") from None
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media and media not in BODY_TYPES:
        raise ApiError(415, f"cannot read a body of type {media!r}; send application/json "
                            "or application/yaml")
    return b"".join(chunks), BODY_TYPES.get(media, "")


async def _in_pool(pool: WorkerPool, settings: ServiceSettings,
                   fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """`fn(*args)` on a worker; 429 when too many wait, 503 when it overran or died."""
    try:
        future = pool.submit_now(fn, *args)
    except Busy as busy:
        raise ApiError(429, f"busy: {busy.message}",
                       {"Retry-After": str(busy.retry_after)}) from None
    try:
        return await asyncio.wrap_future(future)
    except Overran as error:
        raise ApiError(503, f"the render {error.message}; the worker was replaced; a brief "
                            "this slow is unusual: try again, or report the handoff",
                       {"Retry-After": "1"}) from None
    except WorkerDied as error:
        raise ApiError(503, f"{error.message}; try again", {"Retry-After": "1"}) from None
    except HandoffBriefError as error:  # e.g. a template override that fails on this handoff
        raise ApiError(500, error.message) from None


def _job_in(raw: bytes) -> JobIn:
    """The job's request (read off the event loop: up to 2 MiB of JSON), or a 422."""
    try:
        job_in = JobIn.model_validate_json(raw)
    except ValueError as error:
        raise ApiError(422, _first_error(error)) from None
    for index, handoff in enumerate(job_in.handoffs):
        try:  # the parser takes them; the job's JSON file would not be JSON with them
            json.dumps(handoff, allow_nan=False)
        except ValueError:
            raise ApiError(422, f"handoffs.{index}: NaN and Infinity are not JSON numbers; "
                                "send a number, or the text as a string") from None
    # A key given twice would be lost without a word (the last one wins); /v1/check refuses
    # it, and so does a job.
    repeated = _repeated_key(raw.decode("utf-8", "replace"))
    if repeated is not None:
        raise ApiError(422, f"the key {repeated!r} appears twice in one object of the body; "
                            "keep one")
    return job_in


def _repeated_key(text: str) -> str | None:
    """A key that some JSON object of `text` has twice, or None."""
    found: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        for key, _ in items:
            if key in seen and not found:
                found.append(key)
            seen.add(key)
        return dict(items)

    json.loads(text, object_pairs_hook=pairs)
    return found[0] if found else None


def _first_error(error: ValueError) -> str:
    from pydantic import ValidationError

    if isinstance(error, ValidationError):
        item = error.errors(include_url=False)[0]
        where = ".".join(str(part) for part in item["loc"]) or "body"
        return f"{where}: {item['msg']}"
    return str(error)
