"""Manual polls: enqueue a poll of some feeds now, and wait until they and their stories are done."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from workers.broker import redis_client
from workers.report import queue_status, runs_settled
from workers.schedule import request_polls
from workers.settings import Settings
from workers.tasks import enqueue_polls

__all__ = ["refetch", "wait_for_polls"]


def refetch(
    settings: Settings, feed_ids: Sequence[str], *, force: bool = False, trigger: str = "refetch"
) -> list[tuple[str, str]]:
    """Enqueue one poll per feed; return (feed id, poll id) pairs whose results can be read back."""
    polls = request_polls(settings.resolved_database_url, feed_ids, force=force, trigger=trigger)
    enqueue_polls(polls, force=force)
    return polls


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
