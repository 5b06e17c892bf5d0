"""What the API's routers share: the app's settings, the write-token check and ISO time parsing."""

from __future__ import annotations

import hmac
import math
from datetime import UTC, datetime

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from workers.settings import Settings

__all__ = ["app_settings", "parse_time", "require_token", "retry_after_header"]

# auto_error=False: a missing header is ours to answer (401 with WWW-Authenticate), not FastAPI's 403.
_bearer = HTTPBearer(auto_error=False, description="FEEDWORKERS_API_TOKEN; write endpoints only.")


def app_settings(request: Request) -> Settings:
    """The settings the app was created with (not the process's: tests run several apps side by side)."""
    settings: Settings = request.app.state.settings
    return settings


def require_token(
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),  # noqa: B008 - FastAPI's idiom
    settings: Settings = Depends(app_settings),  # noqa: B008
) -> None:
    """Let a write through only with `Authorization: Bearer <FEEDWORKERS_API_TOKEN>`.

    Without a configured token every write is refused (403): an API that changes feeds is never open by
    accident. The comparison takes constant time so the token cannot be guessed byte by byte.
    """
    if not settings.api_token:
        raise HTTPException(403, "write endpoints are off: set FEEDWORKERS_API_TOKEN")
    given = credentials.credentials if credentials is not None else ""
    if not hmac.compare_digest(given.encode(), settings.api_token.encode()):
        detail = "Authorization: missing bearer token" if not given else "Authorization: wrong bearer token"
        raise HTTPException(
            401, f"{detail}; send `Authorization: Bearer <FEEDWORKERS_API_TOKEN>`", {"WWW-Authenticate": "Bearer"}
        )


def parse_time(value: str | None, name: str) -> datetime | None:
    """An ISO 8601 time (Z or an offset; UTC when none), or 422 naming the parameter."""
    if not value:
        return None
    text = value.replace("Z", "+00:00")
    # An unencoded "+01:00" in a query string arrives as " 01:00".
    for candidate in (text, "+".join(text.rsplit(" ", 1))):
        try:
            parsed = datetime.fromisoformat(candidate)
            break
        except ValueError:
            continue
    else:
        msg = f"{name}: not an ISO 8601 time: {value!r}; use e.g. 2026-11-24T08:00:00Z"
        raise HTTPException(422, msg)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def retry_after_header(seconds: float) -> dict[str, str]:
    """Retry-After in whole seconds, rounded up (at least 1: 0 would invite an immediate retry)."""
    return {"Retry-After": str(max(1, math.ceil(seconds)))}
