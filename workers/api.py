"""`feedworkers serve`: the HTTP API, the status page and the Prometheus metrics of one deployment.

The API process does no pipeline work: it reads what the workers leave in Redis and the store, and its
write endpoints only enqueue polls or change feed rows, so it can run anywhere that reaches both. Every
handler is a plain `def`: the report functions block on Redis and SQL, and FastAPI runs such handlers in
its thread pool instead of stalling the event loop.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST

from workers.api_common import app_settings, parse_time
from workers.api_models import Health, StatusReport, Story, StoryDetail
from workers.broker import redis_client
from workers.settings import Settings

__all__ = ["create_app"]

WEB = Path(__file__).resolve().parent / "web"

_DESCRIPTION = """\
Read the pipeline's state (queues, workers, feed health, published stories with their dedup decisions
and stage trace), trigger refetches and manage API-added feeds.

GET endpoints are open. POST and DELETE need `Authorization: Bearer <FEEDWORKERS_API_TOKEN>`; with no
token configured they answer 403. Errors are `{"detail": "<one sentence naming the problem and the fix>"}`.
"""
_TAGS = [
    {"name": "status", "description": "Health, queues, workers, feed health and metrics."},
    {"name": "stories", "description": "Published stories, newest first, and why each one looks as it does."},
    {"name": "feeds", "description": "Feeds, manual refetches and their results; writes need the token."},
]

router = APIRouter()


def _version() -> str:
    try:
        return metadata.version("feedworkers")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a plain checkout
        return "0+unknown"


def create_app(settings: Settings) -> FastAPI:
    """The ASGI app for these settings; each app has its own metrics registry and Redis-client factory."""
    from workers.api_feeds import router as feeds_router
    from workers.api_page import router as page_router
    from workers.metrics import metrics_registry

    app = FastAPI(title="feedworkers", version=_version(), description=_DESCRIPTION, openapi_tags=_TAGS)
    app.state.settings = settings
    app.state.metrics = metrics_registry(settings, redis_client)
    app.include_router(router)
    app.include_router(feeds_router)
    app.include_router(page_router)
    app.mount("/static", StaticFiles(directory=WEB / "static"), name="static")
    return app


@router.get(
    "/healthz",
    tags=["status"],
    response_model=Health,
    responses={503: {"model": Health, "description": "Redis or the store did not answer; the value says why."}},
)
def healthz(settings: Settings = Depends(app_settings)) -> Any:  # noqa: B008 - FastAPI's idiom
    """Whether Redis answers PING and the store answers SELECT 1 (for load balancers and `docker compose`)."""
    from sqlalchemy import text

    from workers.store.db import transaction

    checks = {"redis": "ok", "store": "ok"}
    try:
        redis_client().ping()
    except Exception as error:  # noqa: BLE001 - any failure is the answer here
        checks["redis"] = f"{type(error).__name__}: {error}"
    try:
        with transaction(settings.resolved_database_url, readonly=True) as session:
            session.execute(text("SELECT 1"))
    except Exception as error:  # noqa: BLE001
        checks["store"] = f"{type(error).__name__}: {error}"
    if checks != {"redis": "ok", "store": "ok"}:
        return JSONResponse(checks, status_code=503)
    return checks


@router.get("/api/status", tags=["status"], response_model=StatusReport)
def status(settings: Settings = Depends(app_settings)) -> dict[str, Any]:  # noqa: B008
    """Queues (waiting, in flight, oldest age), live workers, per-feed health and the last hour's/day's totals."""
    from workers.monitor import status_report

    return status_report(settings, redis_client())


@router.get("/api/stories", tags=["stories"], response_model=list[Story])
def stories(
    settings: Settings = Depends(app_settings),  # noqa: B008
    feed: str | None = Query(None, description="Only stories of this feed id."),
    since: str | None = Query(None, description="Only stories fetched at or after this ISO 8601 time."),
    q: str | None = Query(None, description="Case-insensitive text that the title or body contains."),
    limit: int = Query(50, ge=1, le=1000),
) -> list[dict[str, Any]]:
    """Published stories, newest first, each with its sources (the primary entry, then duplicates)."""
    from workers.report import list_stories

    since_at = parse_time(since, "since")
    return list_stories(settings.resolved_database_url, feed=feed, since=since_at, limit=limit, q=q)


@router.get(
    "/api/stories/{story_id}",
    tags=["stories"],
    response_model=StoryDetail,
    responses={404: {"description": "No story for this id; the message says why when the entry is known."}},
)
def story(story_id: str, settings: Settings = Depends(app_settings)) -> dict[str, Any]:  # noqa: B008
    """One story with sources, revisions, dedup decisions, and the stage trace of the story and every source.

    `story_id` may also be the id an entry arrived with (a duplicate names the story it joined in
    `duplicate_of`) or an unambiguous prefix of at least 8 characters. `verdict` says in one sentence
    why the story looks as it does; for an entry that never became a story the 404 message says why.
    """
    from workers.lineage import story_lineage

    lineage = story_lineage(settings.resolved_database_url, redis_client(), story_id)
    if lineage is None:
        msg = f"story_id: no story or entry with id {story_id!r}; list ids with GET /api/stories"
        raise HTTPException(404, msg)
    if lineage["story"] is None:
        raise HTTPException(404, f"story_id: no story for {story_id!r}: {lineage['verdict']}")
    return lineage["story"] | {"trace": lineage["events"], "verdict": lineage["verdict"]}


@router.get("/metrics", tags=["status"], response_class=Response)
def metrics(request: Request) -> Response:
    """Prometheus text format: stage counters and timings, queue depths, feeds per health state, workers."""
    from workers.metrics import render_metrics

    return Response(render_metrics(request.app.state.metrics), media_type=CONTENT_TYPE_LATEST)
