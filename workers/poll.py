"""Poll stage: fetch one feed, parse it, and enqueue the stories that are new or changed.

A 304, or a body identical to the last one, enqueues nothing. All entries of the feed are checked against
their seen marks in one query. Validators (ETag, Last-Modified, body hash) are trusted only while the
previous poll's stories have all been stored (or are still being worked on): a story lost on the way
is then fetched and enqueued again instead of hiding behind a 304.

Every fetch takes a turn on its host first (hosts.py: a few at once, a gap between requests, no request
before a Retry-After), shared by all workers. A poll that gets no turn is deferred, not failed: a
scheduled one to the time the host is free (next_poll_at), one an operator waits for is sent again later.
What a failed fetch means for the feed (backoff, disabling, failing at once) is decided in fetch_policy.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import redis
import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workers import hosts
from workers.broker import redis_client
from workers.errors import FetchError, ParseError
from workers.fetch import fetch
from workers.fetch_policy import OPERATOR_TRIGGERS, Verdict, judge, retry_delay
from workers.logs import stage_event
from workers.parse import parse
from workers.redact import redact_text
from workers.settings import Settings
from workers.store.db import transaction
from workers.store.models import Entry, Feed, PollRun, utcnow
from workers.story import Story

__all__ = ["Enqueue", "PollOutcome", "poll", "retry_delay"]

Enqueue = Callable[[Sequence[Story]], None]

_log = structlog.get_logger("workers.poll")

# How long a poll's stories may take to be stored before the next poll stops trusting the validators.
_IN_FLIGHT_GRACE = timedelta(minutes=5)
_SEEN_CHUNK = 500
# A deferred operator's poll comes back within this (a Celery countdown; below the broker's visibility timeout).
_REQUEUE_MAX_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class PollOutcome:
    """What one poll did."""

    state: str
    http_status: int | None = None
    entries: int = 0
    enqueued: int = 0
    unchanged: int = 0
    invalid: int = 0
    error: str | None = None


def poll(feed_id: str, poll_id: str, *, force: bool, settings: Settings, enqueue: Enqueue) -> PollOutcome:
    """Poll one feed now; every failure is recorded on the feed and returned, never raised."""
    database_url = settings.resolved_database_url
    _start_run(database_url, poll_id, feed_id, force)
    with stage_event("poll", feed_id=feed_id, poll_id=poll_id, force=force) as event:
        try:
            outcome = _poll(feed_id, poll_id, force, settings, enqueue)
        except Exception as error:  # noqa: BLE001 - a bug or an outage must still end the run, not hang it
            reason = f"poll: feed '{feed_id}' failed unexpectedly: {type(error).__name__}: {error}"
            _log.error("poll failed", feed_id=feed_id, poll_id=poll_id, reason=reason, exc_info=True)
            outcome = PollOutcome("failed", error=reason)
            with suppress(Exception):
                _record_poll(database_url, feed_id, status=None, error=reason, failed=True)
        event.update(
            outcome=outcome.state,
            http_status=outcome.http_status,
            entries=outcome.entries,
            enqueued=outcome.enqueued,
            unchanged=outcome.unchanged,
        )
        if outcome.error:
            event["reason"] = outcome.error
    _finish_run(database_url, poll_id, outcome)
    return outcome


def _poll(feed_id: str, poll_id: str, force: bool, settings: Settings, enqueue: Enqueue) -> PollOutcome:
    database_url = settings.resolved_database_url
    with transaction(database_url, readonly=True) as session:
        feed = session.get(Feed, feed_id)
        if feed is None:
            return PollOutcome("failed", error=f"poll: feed '{feed_id}' is not configured; add it to feeds.yaml")
        trust = not force and _previous_poll_settled(session, feed)
        run = session.get(PollRun, poll_id)
        trigger = run.trigger if run is not None else "direct"
    turn = hosts.turn_for(feed.url, settings)
    if isinstance(turn, hosts.Deferred):
        return _defer(database_url, feed.id, poll_id, force, trigger, turn)
    started = utcnow()
    try:
        fetched = fetch(
            feed.id,
            feed.url,
            settings,
            etag=feed.etag if trust else None,
            last_modified=feed.last_modified if trust else None,
        )
    except FetchError as error:
        verdict = judge(feed.id, error, interval=feed.interval, consecutive_errors=feed.consecutive_errors)
        hosts.pause_for(feed.url, verdict.host_pause)
        _record_poll(database_url, feed.id, status=error.status, error=verdict.message, failed=True, verdict=verdict)
        return PollOutcome("failed", http_status=error.status, error=verdict.message)
    finally:
        hosts.give_back(turn)
    body_hash = hashlib.sha256(fetched.body).hexdigest() if fetched.status == 200 else feed.body_hash
    if fetched.status == 304 or (trust and body_hash == feed.body_hash):
        # Unchanged: a warning about the document (degraded XML) still holds; an old error does not.
        warning = feed.last_error if feed.consecutive_errors == 0 else None
        validators = (fetched.etag, fetched.last_modified, body_hash) if fetched.status == 200 else None
        _record_poll(database_url, feed.id, status=fetched.status, error=warning, validators=validators)
        return PollOutcome("unchanged", http_status=fetched.status)
    try:
        parsed = parse(
            feed.id,
            fetched.body,
            url=fetched.url,
            fetched_at=started,
            language_hint=feed.language,
            key_by="link" if feed.key_by == "link" else "guid",
        )
        broken = parsed.broken_guids or (
            _guid_churn(database_url, feed.id, parsed.stories) if feed.key_by == "guid" else None
        )
        if broken and feed.key_by == "guid":
            _key_by_link(database_url, feed.id, broken)
            parsed = parse(
                feed.id, fetched.body, url=fetched.url, fetched_at=started, language_hint=feed.language, key_by="link"
            )
    except ParseError as error:
        _record_poll(database_url, feed.id, status=fetched.status, error=str(error), failed=True)
        return PollOutcome("failed", http_status=fetched.status, error=str(error))
    stories = _unique(parsed.stories)
    seen = _seen_hashes(database_url, feed.id, [s.id for s in stories])
    fresh = [s for s in stories if force or seen.get(s.id) != s.source_hash]
    for story in fresh:
        story.poll_id = poll_id
        story.priority = feed.priority
        story.full_text = feed.full_text
        story.category_hint = feed.category_hint
        story.attribution = feed.attribution
        story.feed_tags = list(feed.tags or [])
    # Enqueue before the validators are stored: if enqueueing fails, the next poll fetches in full.
    enqueue(fresh)
    _record_poll(
        database_url,
        feed.id,
        status=200,
        error=parsed.warning,
        validators=(fetched.etag, fetched.last_modified, body_hash),
        poll_id=poll_id if fresh else None,
    )
    return PollOutcome(
        "ok",
        http_status=200,
        entries=parsed.entries,
        enqueued=len(fresh),
        unchanged=len(stories) - len(fresh),
        invalid=parsed.invalid,
        error=parsed.warning,
    )


def _defer(
    database_url: str, feed_id: str, poll_id: str, force: bool, trigger: str, deferred: hosts.Deferred
) -> PollOutcome:
    """Fetch nothing now and count no error: the host asked for a pause, or it is busy."""
    until = datetime.fromtimestamp(deferred.until, UTC)
    if deferred.why == "retry-after":
        why = f"{deferred.host} asked for no requests before then (Retry-After)"
    else:
        why = f"{deferred.host} is busy with other fetches (at most a few at once, one at a time apart)"
    reason = f"poll: feed '{feed_id}' deferred to {until:%H:%M:%S} UTC: {why}"
    if trigger in OPERATOR_TRIGGERS and deferred.why != "retry-after":
        # Someone waits for this poll id and the host is only busy: the same poll is sent again shortly. A
        # server's Retry-After binds operators too; their poll ends "deferred", saying until when.
        from workers.tasks import poll_feed  # here, not at the top: workers.tasks imports this module

        delay = min(max(1.0, deferred.until - time.time()), _REQUEUE_MAX_SECONDS) + random.uniform(0, 2)
        poll_feed.apply_async((feed_id, poll_id, force), countdown=delay)
        return PollOutcome("queued", error=reason)
    with transaction(database_url) as session:
        row = session.get(Feed, feed_id)
        if row is not None:
            row.next_poll_at = until
    return PollOutcome("deferred", error=reason)


def _unique(stories: list[Story]) -> list[Story]:
    """Entries of one document with the same identity are one story (a repeat); keep the first."""
    return list({story.id: story for story in reversed(stories)}.values())[::-1]


def _seen_hashes(database_url: str, feed_id: str, keys: list[str]) -> dict[str, str | None]:
    """The seen marks of all these entries, in one query per 500 keys."""
    seen: dict[str, str | None] = {}
    with transaction(database_url, readonly=True) as session:
        for start in range(0, len(keys), _SEEN_CHUNK):
            chunk = keys[start : start + _SEEN_CHUNK]
            rows = session.execute(
                select(Entry.key, Entry.source_hash).where(Entry.feed_id == feed_id, Entry.key.in_(chunk))
            )
            seen.update({row.key: row.source_hash for row in rows})
    return seen


def _guid_churn(database_url: str, feed_id: str, stories: list[Story]) -> str | None:
    """Why the feed's guids cannot be trusted: most entries whose link was stored before came back
    under another guid (publishers that mint a guid per request)."""
    by_link = {s.canonical_url: s.guid for s in stories if s.canonical_url and s.guid}
    if len(by_link) < 2:
        return None
    stored: dict[str, set[str | None]] = {}
    with transaction(database_url, readonly=True) as session:
        links = list(by_link)
        for start in range(0, len(links), _SEEN_CHUNK):
            rows = session.execute(
                select(Entry.canonical_url, Entry.guid).where(
                    Entry.feed_id == feed_id, Entry.canonical_url.in_(links[start : start + _SEEN_CHUNK])
                )
            )
            for row in rows:
                stored.setdefault(row.canonical_url, set()).add(row.guid)
    changed = sum(1 for link, guids in stored.items() if by_link[link] not in guids)
    if changed >= 2 and changed * 2 >= len(stored):
        return f"guids change between polls while links stay ({changed} of {len(stored)} known links)"
    return None


def _key_by_link(database_url: str, feed_id: str, reason: str) -> None:
    """From now on the feed's entries are keyed by their canonical link; status shows why."""
    with transaction(database_url) as session:
        row = session.get(Feed, feed_id)
        if row is not None:
            row.key_by, row.key_by_reason = "link", reason
    _log.warning("feed keyed by link", feed_id=feed_id, reason=f"poll: feed '{feed_id}': {reason}; keyed by link")


def _previous_poll_settled(session: Session, feed: Feed) -> bool:
    """True when every story the previous poll enqueued is stored, or may still be on its way."""
    if not feed.last_poll_id:
        return True
    run = session.get(PollRun, feed.last_poll_id)
    if run is None or run.enqueued == 0 or run.finished_at is None:
        return True
    stored = session.scalar(
        select(func.count())
        .select_from(Entry)
        .where(Entry.feed_id == feed.id, Entry.last_poll_id == run.id, Entry.last_outcome != "failed")
    )
    if stored >= run.enqueued:
        return True
    # Some are missing. While story messages wait or run they may be on their way; with the story queue
    # empty they were lost (a Redis restart, a message taken by a worker in the instant it died): do not
    # trust the validators, so this poll sends the entries that have no seen mark again.
    return utcnow() - run.finished_at < _IN_FLIGHT_GRACE and _stories_in_flight()


def _stories_in_flight() -> bool:
    # here, not at the top: report imports the Celery app, which imports the stages and this module
    from workers.celeryapp import STORIES_QUEUE
    from workers.report import queue_status

    try:
        stories = queue_status(redis_client())[STORIES_QUEUE]
    except redis.RedisError:
        return True  # cannot tell: trust, as before
    return stories["waiting"] + stories["in_flight"] > 0


def _record_poll(
    database_url: str,
    feed_id: str,
    *,
    status: int | None,
    error: str | None,
    failed: bool = False,
    verdict: Verdict | None = None,
    validators: tuple[str | None, str | None, str | None] | None = None,
    poll_id: str | None = None,
) -> None:
    """Store how a poll went and when the feed is due next: the verdict of a failed fetch, backoff after
    other consecutive failures, the interval after a success (which also resets the error count)."""
    now = utcnow()
    with transaction(database_url) as session:
        row = session.get(Feed, feed_id)
        if row is None:
            return
        row.consecutive_errors = row.consecutive_errors + 1 if failed else 0
        # Errors name the URL; one with credentials in it must not show them in `status` or the API.
        row.last_status, row.last_error, row.last_polled_at = status, error and redact_text(error), now
        if verdict is not None:
            row.consecutive_errors = max(row.consecutive_errors, verdict.min_errors)
            row.next_poll_at = now + verdict.delay
            if verdict.disable:
                row.enabled = False  # the scheduler claims enabled feeds only; the stories stay
        elif failed:
            row.next_poll_at = now + retry_delay(row.interval, row.consecutive_errors - 1)
        else:
            row.next_poll_at = now + timedelta(seconds=row.interval)
        if validators is not None:
            row.etag, row.last_modified, row.body_hash = validators
        if poll_id:
            # The poll whose stories the next poll checks before trusting these validators.
            row.last_poll_id = poll_id


def _start_run(database_url: str, poll_id: str, feed_id: str, force: bool) -> None:
    with transaction(database_url) as session:
        run = session.get(PollRun, poll_id)
        if run is None:
            if session.get(Feed, feed_id) is None:
                return
            run = PollRun(id=poll_id, feed_id=feed_id, trigger="direct", force=force)
            session.add(run)
        run.state = "running"


def _finish_run(database_url: str, poll_id: str, outcome: PollOutcome) -> None:
    with transaction(database_url) as session:
        run = session.get(PollRun, poll_id)
        if run is None:
            return
        run.state = outcome.state
        # A poll sent again (deferred while an operator waits for it) is not finished.
        run.finished_at = None if outcome.state == "queued" else utcnow()
        run.http_status = outcome.http_status
        run.entries = outcome.entries
        run.enqueued = outcome.enqueued
        run.unchanged = outcome.unchanged
        run.invalid = outcome.invalid
        run.error = outcome.error and redact_text(outcome.error)
