"""Celery tasks. They take ids or a story's wire form, do nothing themselves but call the stages."""

from __future__ import annotations

import random
import traceback
from collections.abc import Sequence
from contextlib import suppress
from typing import Any

import structlog
from redis.exceptions import LockError
from sqlalchemy.exc import OperationalError

from workers.broker import redis_client
from workers.celeryapp import RETRY_MAX_SECONDS, TASK_TIME_LIMIT, BaseTask, app
from workers.dead_letters import record_dead_letter
from workers.pipeline import process_story as run_pipeline
from workers.poll import poll
from workers.publish import record_failure
from workers.schedule import claim_due_feeds, new_poll_id
from workers.settings import Settings, get_settings
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
    """Clean, dedup, tag and publish one story; transient store errors are retried with backoff.

    Bad content never retries: the entry is marked failed and the story kept as a dead letter, and so is a
    story whose store stayed unavailable through every retry. Either way the message is acked, so one bad
    story never blocks its queue (`feedworkers dead` reads, replays and purges them).
    """
    settings = get_settings()
    try:
        parsed = Story.from_wire(story)
    except (TypeError, AttributeError) as error:  # not a story at all: nothing to mark on an entry
        _bury(self, settings, story, f"message {self.request.id} is not a story ({error}); fix its sender")
        return
    try:
        run_pipeline(parsed, settings)
    except OperationalError as error:
        # The store is unavailable (locked, restarting, unreachable): the same message comes back later.
        _retry_or_bury(self, settings, parsed, story, error)
    except Exception as error:  # bad content must not stop the worker
        reason = f"story {parsed.id} of feed '{parsed.feed_id}' failed: {type(error).__name__}: {error}"
        log.error("story failed", story_id=parsed.id, feed_id=parsed.feed_id, outcome="failed", reason=reason,
                  exc_info=True)  # fmt: skip
        try:
            record_failure(settings.resolved_database_url, parsed, reason)
        except OperationalError as store_error:
            _retry_or_bury(self, settings, parsed, story, store_error)
            return
        except Exception as mark_error:  # noqa: BLE001 - e.g. its feed was removed: the dead letter still keeps it
            log.warning("failure not marked on the entry", story_id=parsed.id, feed_id=parsed.feed_id,
                        reason=f"{type(mark_error).__name__}: {mark_error}")  # fmt: skip
        _bury(self, settings, story, reason)


def _retry_or_bury(
    task: BaseTask, settings: Settings, parsed: Story, story: dict[str, Any], error: OperationalError
) -> None:
    """Retry with backoff; once the retries are used up, keep the story as a dead letter.

    That dead letter is parked in Redis without trying the store, which just failed for the last time; it
    moves into the store with the next dead letter or `feedworkers dead` command.
    """
    retries = task.request.retries
    if retries < (task.max_retries or 0):
        raise task.retry(exc=error, countdown=_backoff(retries)) from None
    reason = (
        f"story {parsed.id} of feed '{parsed.feed_id}': the store stayed unavailable through {retries + 1} "
        f"attempts ({type(error).__name__}: {(str(error).splitlines() or [''])[0]}); replay it once the store is back"
    )
    log.error("story failed", story_id=parsed.id, feed_id=parsed.feed_id, outcome="failed", reason=reason)
    _bury(task, settings, story, reason, attempts=retries + 1, park=True)


def _bury(
    task: BaseTask, settings: Settings, story: Any, reason: str, *, attempts: int = 1, park: bool = False
) -> None:
    """Keep the message as a dead letter, with the traceback being handled. Never raises: the message is
    acked either way, and a dead letter that cannot be kept is at least in the log."""
    try:
        dead_letter_id = record_dead_letter(
            settings.resolved_database_url,
            task=task.name,
            args=(story,),
            error=reason,
            traceback=traceback.format_exc(),
            attempts=attempts,
            client=redis_client(),
            park=park,
        )
    except Exception as error:  # noqa: BLE001 - see the docstring
        log.error("dead letter lost", task_id=task.request.id, reason=reason,
                  error=f"{type(error).__name__}: {error}")  # fmt: skip
        return
    where = f"`feedworkers dead show {dead_letter_id}`" if dead_letter_id else "Redis until the store is back"
    log.warning("dead letter", dead_letter_id=dead_letter_id, task_id=task.request.id, reason=reason, see=where)


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
