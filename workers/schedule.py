"""Scheduling: which feeds are due, and poll runs for refetches. State lives in the store, not in ETAs.

The beat tick is level-triggered: it claims due feeds with a compare-and-set on `next_poll_at`, so a
missed tick costs nothing and a second beat claims nothing twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import timedelta

from sqlalchemy import or_, select, update

from workers.feeds_config import FeedConfig
from workers.store.db import insert, transaction
from workers.store.models import Feed, PollRun, utcnow

__all__ = ["claim_due_feeds", "enabled_feed_ids", "known_feeds", "new_poll_id", "request_polls", "sync_feeds"]


def new_poll_id() -> str:
    return uuid.uuid4().hex


def sync_feeds(database_url: str, configs: Sequence[FeedConfig]) -> dict[str, int]:
    """Make the store's feeds match the configuration; feeds no longer configured are disabled, not deleted."""
    counts = {"added": 0, "updated": 0, "disabled": 0}
    configured = {c.id: c for c in configs}
    with transaction(database_url) as session:
        existing = {feed.id: feed for feed in session.scalars(select(Feed))}
        for config in configs:
            feed = existing.get(config.id)
            if feed is None:
                session.add(
                    Feed(
                        id=config.id, url=config.url, title=config.title, interval=config.interval,
                        language=config.language, attribution=config.attribution, tags=list(config.tags),
                        enabled=config.enabled, origin="config", consecutive_errors=0, priority=config.priority,
                        full_text=config.full_text, category_hint=config.category,
                    )
                )  # fmt: skip
                counts["added"] += 1
                continue
            gone = feed.last_status == 410 and not feed.enabled
            if feed.url != config.url:
                # Validators of the old URL mean nothing for the new one.
                feed.etag = feed.last_modified = feed.body_hash = None
                feed.next_poll_at = None
                gone = False
            values = {
                "url": config.url, "title": config.title, "interval": config.interval, "language": config.language,
                "attribution": config.attribution, "tags": list(config.tags), "enabled": config.enabled,
                "priority": config.priority, "full_text": config.full_text, "category_hint": config.category,
            }  # fmt: skip
            # A feed added at run time and later written into feeds.yaml belongs to the file from now on.
            values["origin"] = "config"
            if gone:  # the server said the feed is gone for good: only a new URL (or `feeds enable`) revives it
                values["enabled"] = False
            if any(getattr(feed, key) != value for key, value in values.items()):
                for key, value in values.items():
                    setattr(feed, key, value)
                counts["updated"] += 1
        for feed_id, feed in existing.items():
            if feed_id not in configured and feed.origin == "config" and feed.enabled:
                feed.enabled = False
                counts["disabled"] += 1
    return counts


def known_feeds(database_url: str) -> dict[str, bool]:
    """Every feed in the store, sorted by id, with whether it is enabled."""
    with transaction(database_url, readonly=True) as session:
        rows = session.execute(select(Feed.id, Feed.enabled).order_by(Feed.id))
        return {feed_id: enabled for feed_id, enabled in rows}


def enabled_feed_ids(database_url: str) -> list[str]:
    return [feed_id for feed_id, enabled in known_feeds(database_url).items() if enabled]


def claim_due_feeds(database_url: str, limit: int = 100) -> list[tuple[str, str]]:
    """Claim the enabled feeds whose poll is due; return (feed id, poll id) pairs to enqueue after commit."""
    now = utcnow()
    claimed: list[tuple[str, str]] = []
    with transaction(database_url) as session:
        due = session.execute(
            select(Feed.id, Feed.interval, Feed.next_poll_at)
            .where(Feed.enabled.is_(True), or_(Feed.next_poll_at.is_(None), Feed.next_poll_at <= now))
            .order_by(Feed.next_poll_at.is_not(None), Feed.next_poll_at)
            .limit(limit)
        ).all()
        for feed_id, interval, next_poll_at in due:
            guard = Feed.next_poll_at.is_(None) if next_poll_at is None else Feed.next_poll_at == next_poll_at
            # Push the next poll out now; the poll itself sets the real next time when it finishes.
            won = session.execute(
                update(Feed).where(Feed.id == feed_id, guard).values(next_poll_at=now + timedelta(seconds=interval))
            ).rowcount
            if won:
                poll_id = new_poll_id()
                session.add(PollRun(id=poll_id, feed_id=feed_id, trigger="schedule", force=False))
                claimed.append((feed_id, poll_id))
    return claimed


def request_polls(database_url: str, feed_ids: Iterable[str], *, force: bool, trigger: str) -> list[tuple[str, str]]:
    """Create a queued poll run per feed (for refetch and `run --once`); return (feed id, poll id) pairs."""
    requested = [(feed_id, new_poll_id()) for feed_id in feed_ids]
    if not requested:
        return []
    with transaction(database_url) as session:
        session.execute(
            insert(session, PollRun).values(
                [
                    {"id": poll_id, "feed_id": feed_id, "trigger": trigger, "force": force, "state": "queued",
                     "requested_at": utcnow(), "entries": 0, "enqueued": 0, "unchanged": 0, "invalid": 0}
                    for feed_id, poll_id in requested
                ]
            )
        )  # fmt: skip
    return requested
