"""Feeds at run time: list, add, enable, disable and remove feeds in the store while workers run.

The store, not a process's memory, is what the scheduler reads: beat's tick claims due feeds from the
`feeds` table, so a feed added here with no `next_poll_at` is polled at the next tick, with no restart.
`config/feeds.yaml` stays the declarative source: `sync_from_config` applies it, and it only ever
touches feeds of origin "config"; feeds added here have origin "runtime" and are left alone by it.
The CLI (`feedworkers feeds …`) and the HTTP API call these functions; every error is a FeedAdminError
whose message is the sentence to show the user.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError

from workers.errors import ConfigError
from workers.feeds_config import FeedConfig, _parse_feed, load_feeds
from workers.schedule import sync_feeds
from workers.store.db import transaction
from workers.store.models import Decision, Entry, Feed, PollRun, Story

__all__ = [
    "RUNTIME",
    "FeedAdminError",
    "FeedNotFound",
    "add_feed",
    "list_feeds",
    "remove_feed",
    "set_enabled",
    "sync_from_config",
    "validate_feed",
]

RUNTIME = "runtime"


class FeedAdminError(ValueError):
    """A feed change was refused; the message is one sentence for the user, starting with "feeds: "."""


class FeedNotFound(FeedAdminError):
    """No feed has the id given (an API answers 404 for this one, 400 for the other refusals)."""


def validate_feed(raw: Mapping[str, Any]) -> FeedConfig:
    """Check `raw` as one entry of feeds.yaml is checked, so both ways of adding a feed agree, except that
    a feed added at run time must be http(s): whoever holds the API token could otherwise make the workers
    read local files (`file:` feeds are for whoever edits feeds.yaml on the machine). Raises FeedAdminError
    naming the feed, the field and what it must be.
    """
    source = Path.cwd() / "feeds.yaml"
    try:
        config = _parse_feed(source, 1, dict(raw) if isinstance(raw, Mapping) else raw)
    except ConfigError as error:
        # The messages of feeds.yaml name the file and the entry's position; neither means anything here.
        detail = str(error).removeprefix(f"{source}: ").removeprefix("feed #1: ")
        raise FeedAdminError(f"feeds: {detail}") from None
    if not config.url.startswith(("http://", "https://")):
        msg = f"feeds: feed '{config.id}': url must be http or https for a feed added at run time, got {config.url!r}"
        raise FeedAdminError(msg)
    return config


def list_feeds(database_url: str) -> list[dict[str, Any]]:
    """Every feed in the store, sorted by id, with its configuration and polling state."""
    with transaction(database_url, readonly=True) as session:
        return [_as_dict(feed) for feed in session.scalars(select(Feed).order_by(Feed.id))]


def add_feed(database_url: str, raw: dict[str, Any]) -> dict[str, Any]:
    """Validate `raw` (a feeds.yaml entry) and store it as a runtime feed, due for polling at once.

    Nothing is written when the entry is invalid or its id is taken, whatever the taken feed's origin:
    a runtime feed never silently replaces a configured one.
    """
    config = validate_feed(raw)
    feed = Feed(
        id=config.id, url=config.url, title=config.title, interval=config.interval, language=config.language,
        attribution=config.attribution, tags=list(config.tags), enabled=config.enabled, origin=RUNTIME,
        consecutive_errors=0, priority=config.priority, full_text=config.full_text, category_hint=config.category,
        next_poll_at=None,  # due now: the scheduler's next tick claims it
    )  # fmt: skip
    try:
        with transaction(database_url) as session:
            existing = session.get(Feed, config.id)
            if existing is not None:
                raise _exists(config.id, existing.origin)
            session.add(feed)
    except IntegrityError:
        # Another add of the same id committed between our look-up and our insert (PostgreSQL).
        with transaction(database_url, readonly=True) as session:
            origin = session.scalar(select(Feed.origin).where(Feed.id == config.id))
        raise _exists(config.id, origin) from None
    return _as_dict(feed)


def set_enabled(database_url: str, feed_id: str, enabled: bool) -> dict[str, Any]:
    """Enable or disable a feed; the scheduler only claims enabled feeds, so this takes effect at its next tick.

    For a feed of origin "config", feeds.yaml still decides: the next sync sets `enabled` from it again.
    """
    with transaction(database_url) as session:
        feed = session.get(Feed, feed_id)
        if feed is None:
            raise _not_found(feed_id)
        feed.enabled = enabled
    return _as_dict(feed)


def remove_feed(database_url: str, feed_id: str, config_ids: Collection[str] = ()) -> None:
    """Delete a feed that never produced a story, with its entries, poll runs and decisions, in one transaction.

    A feed whose entries are part of any story is refused: stories keep their feed and sources for good
    (and their published version may be this feed's entry), so such a feed can only be disabled. A feed
    listed in feeds.yaml (`config_ids`) is refused too: the next sync would only bring it back.
    """
    if feed_id in config_ids:
        msg = f"feeds: feed '{feed_id}' is in config/feeds.yaml; remove it from config/feeds.yaml and run feeds sync"
        raise FeedAdminError(msg)
    with transaction(database_url) as session:
        # Locking the row makes a story being published for this feed right now finish first (PostgreSQL),
        # so the count below sees it; SQLite's write transaction already excludes every other writer.
        feed = session.get(Feed, feed_id, with_for_update=True)
        if feed is None:
            raise _not_found(feed_id)
        linked = session.scalar(
            select(func.count(Story.id)).where(
                or_(
                    Story.feed_id == feed_id,
                    Story.id.in_(select(Entry.story_id).where(Entry.feed_id == feed_id, Entry.story_id.is_not(None))),
                )
            )
        )
        if linked:
            msg = f"feeds: feed '{feed_id}' has {linked} stories; disable it instead (feedworkers feeds disable {feed_id})"
            raise FeedAdminError(msg)
        # Explicit deletes rather than the foreign keys' ON DELETE CASCADE: decisions have no foreign key,
        # and the outcome must not depend on SQLite's foreign_keys pragma being on.
        for model in (Entry, PollRun, Decision):
            session.execute(delete(model).where(model.feed_id == feed_id))
        session.delete(feed)


def sync_from_config(database_url: str, feeds_file: Path) -> dict[str, int]:
    """Apply feeds.yaml to the store; return how many feeds were added, updated and disabled.

    Only feeds of origin "config" are disabled when they are missing from the file; runtime feeds stay.
    """
    try:
        configs = load_feeds(feeds_file)
    except ConfigError as error:
        raise FeedAdminError(f"feeds: {error}") from None
    return sync_feeds(database_url, configs)


def _as_dict(feed: Feed) -> dict[str, Any]:
    return {
        "feed": feed.id,
        "title": feed.title,
        "url": feed.url,
        "enabled": feed.enabled,
        "origin": feed.origin,
        "interval": feed.interval,
        "language": feed.language,
        "priority": feed.priority,
        "full_text": feed.full_text,
        "category": feed.category_hint,
        "tags": list(feed.tags or []),
        "last_poll": feed.last_polled_at.isoformat() if feed.last_polled_at else None,
        "consecutive_errors": feed.consecutive_errors,
    }


def _exists(feed_id: str, origin: str | None) -> FeedAdminError:
    if origin == "config":
        fix = "choose another id, or change the feed in config/feeds.yaml and run feeds sync"
    else:
        fix = f"choose another id, or remove the feed first with `feedworkers feeds remove {feed_id}`"
    where = f" (origin {origin})" if origin else ""
    return FeedAdminError(f"feeds: feed '{feed_id}' exists{where}; {fix}")


def _not_found(feed_id: str) -> FeedNotFound:
    return FeedNotFound(f"feeds: unknown feed '{feed_id}'; list the feeds with `feedworkers feeds list`")
