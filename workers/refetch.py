"""Manual polls: enqueue a poll of some feeds now, and wait until they and their stories are done.

An operator's refetch (CLI, API, status page) goes through `manual_refetch`: at most one per feed every
`FEEDWORKERS_REFETCH_MIN_SECONDS`, so a stuck button or a script cannot hammer a publisher's server; a
refused request says when it may be repeated. The poll itself takes the feed's fetch lock like every poll,
so a refetch never runs beside a scheduled poll of the same feed. Its poll id reads back with `poll_result`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

from workers.broker import redis_client
from workers.report import poll_summaries, queue_status, runs_settled
from workers.schedule import known_feeds, request_polls
from workers.settings import Settings
from workers.tasks import enqueue_polls

__all__ = ["RefetchRefused", "manual_refetch", "poll_result", "refetch", "wait_for_polls"]


class RefetchRefused(Exception):
    """A manual refetch of `feed_id` came too soon after the last one; `retry_after` seconds to wait."""

    def __init__(self, feed_id: str, retry_after: float) -> None:
        self.feed_id, self.retry_after = feed_id, retry_after
        super().__init__(
            f"refetch: feed '{feed_id}' was refetched moments ago; try again in {math.ceil(retry_after)} s"
        )


def refetch(
    settings: Settings, feed_ids: Sequence[str], *, force: bool = False, trigger: str = "refetch"
) -> list[tuple[str, str]]:
    """Enqueue one poll per feed; return (feed id, poll id) pairs whose results can be read back."""
    polls = request_polls(settings.resolved_database_url, feed_ids, force=force, trigger=trigger)
    enqueue_polls(polls, force=force)
    return polls


def manual_refetch(
    settings: Settings, feed_ids: Sequence[str], *, force: bool = False, trigger: str = "refetch"
) -> list[tuple[str, str]]:
    """`refetch` for an operator: unknown feeds raise ValueError, a feed refetched within
    `refetch_min_seconds` raises RefetchRefused; in both cases nothing is enqueued."""
    known = known_feeds(settings.resolved_database_url)
    unknown = [feed for feed in feed_ids if feed not in known]
    if unknown:
        msg = f"refetch: unknown feed '{unknown[0]}'; known feeds: {', '.join(known) or 'none'}"
        raise ValueError(msg)
    window_ms = int(settings.refetch_min_seconds * 1000)
    if window_ms > 0:
        client = redis_client()
        taken: list[str] = []
        for feed_id in dict.fromkeys(feed_ids):
            key = f"fw:refetch-limit:{feed_id}"
            if not client.set(key, "1", nx=True, px=window_ms):
                if taken:
                    client.delete(*taken)  # all or nothing: the ones claimed here were not refetched
                raise RefetchRefused(feed_id, max(client.pttl(key), 1) / 1000)
            taken.append(key)
    return refetch(settings, list(dict.fromkeys(feed_ids)), force=force, trigger=trigger)


def poll_result(settings: Settings, poll_id: str) -> dict[str, Any] | None:
    """What a poll brought (new, updated, duplicates, held, skipped, errors, pending) and whether it is done."""
    found = poll_summaries(settings.resolved_database_url, [poll_id])
    if not found:
        return None
    return found[0] | {"done": runs_settled(settings.resolved_database_url, [poll_id])}


def wait_for_polls(
    settings: Settings,
    poll_ids: Sequence[str],
    timeout: float,
    *,
    stopping: Callable[[], bool] = lambda: False,
    interval: float = 0.1,
) -> bool:
    """Wait until the polls finished, their stories have outcomes and the queues are drained."""
    deadline = time.monotonic() + timeout
    client = redis_client()
    while time.monotonic() < deadline and not stopping():
        if runs_settled(settings.resolved_database_url, poll_ids):
            queues = queue_status(client)
            if all(q["waiting"] == 0 and q["in_flight"] == 0 for q in queues.values()):
                return True
        time.sleep(interval)
    return False
