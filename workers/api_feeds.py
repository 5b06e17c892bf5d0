"""The API's feed endpoints: the feed list with health, manual refetches and their results, feed admin.

Refetches go through `manual_refetch`, the same rate-limited path as the CLI and the status page, so a
button pressed twice or a script in a loop cannot make us hammer a publisher's server.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from workers.api_common import app_settings, require_token, retry_after_header
from workers.api_models import PollResult, RefetchAccepted, RefetchBatch
from workers.broker import redis_client
from workers.settings import Settings

__all__ = ["router"]

router = APIRouter(tags=["feeds"])
_WRITE = [Depends(require_token)]
_AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or wrong bearer token."},
    403: {"description": "No FEEDWORKERS_API_TOKEN is configured: write endpoints are off."},
}
# Health fields of status_report's per-feed rows that GET /api/feeds adds to each feed.
_HEALTH_FIELDS = ("health", "quiet", "stories_24h", "next_poll", "last_status", "last_error")
_FORCE = Query(False, description="Ignore the feed's validators (ETag, Last-Modified) and process every entry.")


class RefetchRequest(BaseModel):
    feeds: list[str] | None = Field(None, description="Feed ids; absent: every enabled feed.")


@router.get("/api/feeds")
def feeds(settings: Settings = Depends(app_settings)) -> list[dict[str, Any]]:  # noqa: B008 - FastAPI's idiom
    """Every feed (configured and API-added) with its health: state, quiet marker, stories in 24 h, next poll."""
    from workers.feeds_admin import list_feeds
    from workers.monitor import status_report

    health = {row["feed"]: row for row in status_report(settings, redis_client()).get("feeds", [])}
    rows = []
    for feed in list_feeds(settings.resolved_database_url):
        extra = {key: value for key, value in health.get(feed["feed"], {}).items() if key in _HEALTH_FIELDS}
        rows.append(feed | extra)
    return rows


@router.post(
    "/api/feeds/{feed_id}/refetch",
    status_code=202,
    response_model=RefetchAccepted,
    dependencies=_WRITE,
    responses={**_AUTH_ERRORS, 404: {"description": "Unknown feed."}, 429: {"description": "Refetched too recently."}},
)
def refetch_feed(feed_id: str, force: bool = _FORCE, settings: Settings = Depends(app_settings)) -> Any:  # noqa: B008
    """Poll one feed now; read the result at `result_url`. At most once per FEEDWORKERS_REFETCH_MIN_SECONDS."""
    from workers.refetch import RefetchRefused

    _known(settings, [feed_id])
    try:
        return _accepted(settings, feed_id, force)
    except RefetchRefused as refused:
        raise HTTPException(429, str(refused), retry_after_header(refused.retry_after)) from None


@router.post(
    "/api/refetch",
    status_code=202,
    response_model=RefetchBatch,
    dependencies=_WRITE,
    responses={**_AUTH_ERRORS, 404: {"description": "Unknown feed."}, 429: {"description": "Every feed refused."}},
)
def refetch_many(
    body: RefetchRequest | None = Body(None),  # noqa: B008
    force: bool = _FORCE,
    settings: Settings = Depends(app_settings),  # noqa: B008
) -> Any:
    """Poll several feeds now (all enabled ones without a body); each feed is accepted or refused on its own."""
    from workers.refetch import RefetchRefused
    from workers.schedule import enabled_feed_ids

    feed_ids = list(dict.fromkeys(body.feeds)) if body and body.feeds is not None else None
    if feed_ids is None:
        feed_ids = enabled_feed_ids(settings.resolved_database_url)
    if not feed_ids:
        raise HTTPException(400, "feeds: nothing to refetch; name feed ids or enable a feed first")
    _known(settings, feed_ids)
    accepted, refused = [], []
    for feed_id in feed_ids:
        try:
            accepted.append(_accepted(settings, feed_id, force))
        except RefetchRefused as error:
            wait = int(retry_after_header(error.retry_after)["Retry-After"])
            refused.append({"feed": feed_id, "retry_after": wait, "message": str(error)})
    answer = {"accepted": accepted, "refused": refused}
    if not accepted:
        headers = retry_after_header(min(row["retry_after"] for row in refused))
        return JSONResponse(answer, status_code=429, headers=headers)
    return answer


def _accepted(settings: Settings, feed_id: str, force: bool) -> dict[str, str]:
    from workers.refetch import manual_refetch

    try:
        ((feed, poll_id),) = manual_refetch(settings, [feed_id], force=force, trigger="api")
    except ValueError as error:  # a feed removed between the check and the request
        raise HTTPException(404, str(error)) from None
    return {"feed": feed, "poll_id": poll_id, "result_url": f"/api/polls/{poll_id}"}


def _known(settings: Settings, feed_ids: list[str]) -> None:
    """404 naming the unknown feeds before anything is enqueued."""
    from workers.schedule import known_feeds

    known = known_feeds(settings.resolved_database_url)
    unknown = [feed_id for feed_id in feed_ids if feed_id not in known]
    if unknown:
        names = ", ".join(repr(feed_id) for feed_id in unknown)
        raise HTTPException(404, f"feed: unknown feed {names}; list feeds with GET /api/feeds")


@router.get("/api/polls/{poll_id}", response_model=PollResult, responses={404: {"description": "Unknown poll."}})
def poll(poll_id: str, settings: Settings = Depends(app_settings)) -> dict[str, Any]:  # noqa: B008
    """A poll's result so far: counts per outcome; `done` once every story it enqueued has an outcome."""
    from workers.refetch import poll_result

    result = poll_result(settings, poll_id)
    if result is None:
        raise HTTPException(404, f"poll_id: no poll {poll_id!r}; use the poll_id a refetch answered with")
    return result


@router.post("/api/feeds/{feed_id}/enable", dependencies=_WRITE, responses=_AUTH_ERRORS)
def enable(feed_id: str, settings: Settings = Depends(app_settings)) -> Any:  # noqa: B008
    """Poll this feed again on its schedule."""
    return _set_enabled(settings, feed_id, True)


@router.post("/api/feeds/{feed_id}/disable", dependencies=_WRITE, responses=_AUTH_ERRORS)
def disable(feed_id: str, settings: Settings = Depends(app_settings)) -> Any:  # noqa: B008
    """Stop polling this feed (its stories stay)."""
    return _set_enabled(settings, feed_id, False)


def _set_enabled(settings: Settings, feed_id: str, enabled: bool) -> Any:
    from workers.feeds_admin import set_enabled

    result = _admin(set_enabled, settings.resolved_database_url, feed_id, enabled)
    return result if result is not None else {"feed": feed_id, "enabled": enabled}


_FEED_EXAMPLE = {"id": "wire-west", "url": "https://wire.example/west.xml", "interval": 300, "language": "de"}


@router.post("/api/feeds", status_code=201, dependencies=_WRITE, responses=_AUTH_ERRORS)
def add(
    body: dict[str, Any] = Body(..., examples=[_FEED_EXAMPLE]),  # noqa: B008
    settings: Settings = Depends(app_settings),  # noqa: B008
) -> Any:
    """Add a feed at run time; the body is one entry as in config/feeds.yaml (id, url, interval, ...)."""
    from workers.feeds_admin import add_feed

    result = _admin(add_feed, settings.resolved_database_url, body)
    return result if result is not None else {"feed": body.get("id"), "added": True}


@router.delete("/api/feeds/{feed_id}", dependencies=_WRITE, responses=_AUTH_ERRORS)
def remove(feed_id: str, settings: Settings = Depends(app_settings)) -> Any:  # noqa: B008
    """Remove a feed added through the API; feeds declared in feeds.yaml are removed there."""
    from workers.errors import ConfigError
    from workers.feeds_admin import remove_feed
    from workers.feeds_config import load_feeds

    try:
        config_ids = [config.id for config in load_feeds(settings.feeds_file)]
    except ConfigError as error:
        raise HTTPException(400, f"{error}; fix feeds.yaml before removing feeds") from None
    result = _admin(remove_feed, settings.resolved_database_url, feed_id, config_ids)
    return result if result is not None else {"feed": feed_id, "removed": True}


def _admin(function: Any, *args: Any) -> Any:
    """Call a feeds_admin function; its FeedAdminError becomes 404 (no such feed) or 400, with its message."""
    from workers.feeds_admin import FeedAdminError, FeedNotFound

    try:
        return function(*args)
    except FeedAdminError as error:
        raise HTTPException(404 if isinstance(error, FeedNotFound) else 400, str(error)) from None
