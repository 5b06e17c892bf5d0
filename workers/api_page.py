"""The status page: one server-rendered Jinja2 page whose live part the browser re-fetches every 5 s.

The live part is rendered by the same template on the server (GET /fragments/live), so the tables are
written once, in Jinja, and the page's JavaScript only swaps HTML and sends refetch requests: no build
step, no client-side templates, nothing fetched from a CDN.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from workers.api import WEB
from workers.api_common import app_settings
from workers.broker import redis_client
from workers.settings import Settings

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=WEB / "templates")
RECENT_STORIES = 25


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def relative(value: str | None, now: str) -> str:
    """'12 s ago' / 'in 4 min' relative to the report's time; an operator reads ages, not timestamps."""
    at, reference = _parse(value), _parse(now)
    if at is None or reference is None:
        return "-"
    seconds = (reference - at).total_seconds()
    text = duration(abs(seconds))
    return f"{text} ago" if seconds >= 0 else f"in {text}"


def duration(seconds: float | None) -> str:
    """A short human duration: 45 s, 12 min, 3.5 h, 2 d."""
    if seconds is None:
        return "-"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


templates.env.filters["relative"] = relative
templates.env.filters["duration"] = duration


def _live(settings: Settings) -> dict[str, Any]:
    """What the live part shows; a failing Redis or store becomes a banner instead of an error page."""
    from workers.monitor import status_report
    from workers.report import list_stories

    try:
        report = status_report(settings, redis_client())
        stories = list_stories(settings.resolved_database_url, limit=RECENT_STORIES)
    except Exception as error:  # noqa: BLE001 - shown on the page, which keeps refreshing until it recovers
        return {"error": f"{type(error).__name__}: {error}"}
    return {"report": report, "stories": stories, "error": None}


@router.get("/", response_class=HTMLResponse)
def index(request: Request, settings: Settings = Depends(app_settings)) -> HTMLResponse:  # noqa: B008
    """The whole page, with the live part rendered in place so it shows without JavaScript too."""
    context = _live(settings) | {"writes_on": bool(settings.api_token), "version": request.app.version}
    return templates.TemplateResponse(request, "index.html", context)


@router.get("/fragments/live", response_class=HTMLResponse)
def live(request: Request, settings: Settings = Depends(app_settings)) -> HTMLResponse:  # noqa: B008
    """Only the live part, for the page's 5-second refresh."""
    return templates.TemplateResponse(request, "_live.html", _live(settings))
