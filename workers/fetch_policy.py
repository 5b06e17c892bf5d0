"""What a failed fetch means for its feed: when to try again, whether to give up, what to tell the operator.

- 410 Gone: the feed is disabled (never polled again automatically); its stories are kept.
- 401: the feed needs credentials; it counts as failing at once and is tried again only after hours.
- 403: forbidden, often a bot block: back off for hours, not seconds.
- 404 and everything transient (5xx, timeouts, resets): exponential backoff on consecutive errors, capped,
  never sooner than the server's Retry-After. 429 and 503 with Retry-After also pause the whole host.
A success resets the count and the interval (poll.py), so a feed recovers by itself and never stops silently:
the longest wait between two tries is MAX_BACKOFF (or the server's Retry-After, at most a day).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from workers.errors import FetchError, PermanentFetchError, TransientFetchError
from workers.hosts import MAX_NOT_BEFORE

__all__ = [
    "AUTH_RETRY",
    "FORBIDDEN_BACKOFF",
    "MAX_BACKOFF",
    "OPERATOR_TRIGGERS",
    "Verdict",
    "judge",
    "raise_for_status",
    "retry_after_seconds",
    "retry_delay",
]

MAX_BACKOFF = timedelta(hours=6)
# Credentials do not appear by themselves: try again twice a day, so a fixed URL is still noticed.
AUTH_RETRY = timedelta(hours=6)
FORBIDDEN_BACKOFF = timedelta(hours=2)
# monitor.FAILING_AFTER: a 401 is failing at once (monitor imports the broker, so the number is repeated here).
_FAILING_AFTER = 3
# Polls an operator asked for (refetch from the CLI, the API or the status page, `run --once`): they override
# the host's Retry-After pause; scheduled polls and direct calls of poll() respect it.
OPERATOR_TRIGGERS = frozenset({"refetch", "cli", "api", "run-once"})
_HINTS = {
    401: "the feed needs credentials",
    403: "access is forbidden; check the URL or ask the publisher",
    404: "the URL does not exist (any more); check it",
    410: "the publisher removed the feed for good",
}


@dataclass(frozen=True, slots=True)
class Verdict:
    """How a failed fetch is recorded on its feed."""

    message: str
    delay: timedelta  # until the next poll
    disable: bool = False
    min_errors: int = 0  # consecutive_errors is at least this (FAILING_AFTER makes the feed failing at once)
    host_pause: float | None = None  # seconds in which the feed's host must not be requested (Retry-After)


def retry_delay(interval: int, consecutive_errors: int, retry_after: float | None = None) -> timedelta:
    """Exponential backoff on consecutive errors, capped, never sooner than the server's Retry-After.

    `consecutive_errors` counts the errors before this one: the first error waits one interval, then 2, 4 …
    intervals up to MAX_BACKOFF. A Retry-After beyond the cap wins, up to a day.
    """
    delay = min(timedelta(seconds=interval * 2 ** min(max(consecutive_errors, 0), 12)), MAX_BACKOFF)
    if retry_after:
        delay = max(delay, timedelta(seconds=min(retry_after, MAX_NOT_BEFORE)))
    return delay


def judge(feed_id: str, error: FetchError, *, interval: int, consecutive_errors: int) -> Verdict:
    """The verdict on `error` for a feed with `consecutive_errors` failed polls before this one."""
    backoff = retry_delay(interval, consecutive_errors, error.retry_after)
    if error.status == 410:
        message = f"fetch: feed '{feed_id}' is gone (HTTP 410); disabled — remove it or fix its URL and enable it again"
        return Verdict(message, backoff, disable=True)
    if error.status == 401:
        message = (
            f"fetch: feed '{feed_id}' needs credentials (HTTP 401); put valid ones in its URL "
            f"(https://user:password@host/…) or ask the publisher — next try in {_hours(AUTH_RETRY)}"
        )
        return Verdict(message, AUTH_RETRY, min_errors=_FAILING_AFTER)
    if error.status == 403:
        delay = max(backoff, FORBIDDEN_BACKOFF)
        return Verdict(f"{error} — next try in {_hours(delay)}", delay)
    pause = error.retry_after if error.status in (429, 503) and error.retry_after else None
    return Verdict(str(error), backoff, host_pause=pause)


def _hours(delay: timedelta) -> str:
    hours = delay.total_seconds() / 3600
    return f"{hours:g} h" if hours >= 1 else f"{round(delay.total_seconds() / 60)} min"


def raise_for_status(feed_id: str, url: str, status: int, retry_after: str | None) -> None:
    """Raise the FetchError of a response that is neither 200, 304 nor a redirect."""
    hint = _HINTS.get(status, "")
    msg = f"fetch: feed '{feed_id}' returned HTTP {status}" + (f" ({hint})" if hint else "") + f" from {url}"
    if status in (408, 429) or status >= 500:
        msg += "; will retry" + (" when the server asked to (Retry-After)" if retry_after else " with backoff")
        raise TransientFetchError(msg, status=status, retry_after=retry_after_seconds(retry_after))
    raise PermanentFetchError(msg, status=status)


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Retry-After as seconds from now, in either of its forms (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
