"""Celery tasks. They take ids or a story's wire form, do nothing themselves but call the stages."""

from __future__ import annotations

import random
from collections.abc import Sequence
from contextlib import suppress
from typing import Any

import structlog
from redis.exceptions import LockError
from sqlalchemy.exc import OperationalError

from workers.broker import redis_client
from workers.celeryapp import RETRY_MAX_SECONDS, TASK_TIME_LIMIT, BaseTask, app
from workers.pipeline import process_story as run_pipeline
from workers.poll import poll
from workers.publish import record_failure
from workers.schedule import claim_due_feeds, new_poll_id
from workers.settings import get_settings
from workers.store.db import transaction
from workers.store.models import PollRun, utcnow
from workers.story import Story
from workers.trace import record_enqueued

__all__ = ["enqueue_polls", "enqueue_stories", "poll_feed", "process_story", "tick"]

log = structlog.get_logger("workers.tasks")

# The fetch lock outlives the poll's hard time limit, so a lock can only be left behind by a dead
# process, and then for at most this long.
_POLL_LOCK_SECONDS = TASK_TIME_LIMIT + 15


@app.task(name="workers.tick", soft_time_limit=20, time_limit=30)
def tick() -> None:
    """Enqueue a poll for every due feed (run by beat every few seconds)."""
    enqueue_polls(claim_due_feeds(get_settings().resolved_database_url))


@app.task(name="workers.poll_feed")
def poll_feed(feed_id: str, poll_id: str | None = None, force: bool = False) -> None:
    """Poll one feed, never two polls of the same feed at once."""
    settings = get_settings()
    poll_id = poll_id or new_poll_id()
    lock = redis_client().lock(f"feedworkers:poll-lock:{feed_id}", timeout=_POLL_LOCK_SECONDS, blocking=False)
    if not lock.acquire():
        log.info("poll", stage="poll", feed_id=feed_id, poll_id=poll_id, outcome="skipped",
                 reason="another poll of this feed is running")  # fmt: skip
        _skip_run(settings.resolved_database_url, poll_id)
        return
    try:
        poll(feed_id, poll_id, force=force, settings=settings, enqueue=enqueue_stories)
    finally:
        # LockError: the poll outlived the lock (it expired), so there is nothing to release.
        with suppress(LockError):
            lock.release()


@app.task(
    bind=True,
    name="workers.process_story",
    max_retries=8,
)
def process_story(self: BaseTask, story: dict[str, Any]) -> None:
    """Clean, dedup, tag and publish one story; transient store errors are retried with backoff."""
    settings = get_settings()
    parsed = Story.from_wire(story)
    try:
        run_pipeline(parsed, settings)
    except OperationalError as error:
        # The store is unavailable (locked, restarting, unreachable): the same message comes back later.
        raise self.retry(exc=error, countdown=_backoff(self.request.retries)) from None
    except Exception as error:  # bad content must not stop the worker
        reason = f"story {parsed.id} of feed '{parsed.feed_id}' failed: {type(error).__name__}: {error}"
        log.error("story failed", story_id=parsed.id, feed_id=parsed.feed_id, outcome="failed", reason=reason,
                  exc_info=True)  # fmt: skip
        try:
            record_failure(settings.resolved_database_url, parsed, reason)
        except OperationalError as store_error:
            raise self.retry(exc=store_error, countdown=_backoff(self.request.retries)) from None


def _backoff(retries: int) -> float:
    """Exponential with full jitter (2, 4, 8 … s, capped): workers retrying after one outage spread out."""
    return random.uniform(1.0, min(RETRY_MAX_SECONDS, 2 ** (retries + 1)))


def enqueue_stories(stories: Sequence[Story]) -> None:
    """One message per story, sent over one producer connection."""
    if not stories:
        return
    # The trace starts before the messages leave: a worker may take a story before this function returns.
    record_enqueued(redis_client(), [story.id for story in stories], stories[0].poll_id, get_settings().trace_days)
    with app.producer_or_acquire() as producer:
        for story in stories:
            process_story.apply_async((story.to_wire(),), producer=producer)


def enqueue_polls(polls: Sequence[tuple[str, str]], *, force: bool = False) -> None:
    """One poll message per (feed id, poll id)."""
    with app.producer_or_acquire() as producer:
        for feed_id, poll_id in polls:
            poll_feed.apply_async((feed_id, poll_id, force), producer=producer)


def _skip_run(database_url: str, poll_id: str) -> None:
    with transaction(database_url) as session:
        run = session.get(PollRun, poll_id)
        if run is not None:
            run.state, run.finished_at, run.error = "skipped", utcnow(), "another poll of this feed is running"
