"""Small conveniences shared by the tests; every one drives real parts of feedworkers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from workers.feeds_config import FeedConfig
from workers.refetch import refetch, wait_for_polls
from workers.report import list_stories, poll_summaries
from workers.schedule import sync_feeds
from workers.store.db import transaction
from workers.store.models import Entry, Feed, StoryRevision
from workers.store.models import Story as StoryRow

# What `feedworkers stories --json` must give for every story (the list).
STORY_FIELDS = frozenset(
    {"id", "feed", "guid", "url", "title", "body_html", "body_text", "language", "tags", "attribution",
     "published_at", "fetched_at", "revision"}
)  # fmt: skip


def configure(settings: Any, *feeds: FeedConfig) -> None:
    sync_feeds(settings.resolved_database_url, list(feeds))


def poll_now(settings: Any, *feed_ids: str, force: bool = False, timeout: float = 30.0) -> dict[str, dict[str, Any]]:
    """Poll the feeds through the real queues and workers; return each feed's poll summary."""
    polls = refetch(settings, list(feed_ids), force=force)
    assert wait_for_polls(settings, [p for _, p in polls], timeout), (
        f"polls of {feed_ids} did not settle in {timeout} s"
    )
    return {row["feed"]: row for row in poll_summaries(settings.resolved_database_url, [p for _, p in polls])}


def stories(settings: Any, feed: str | None = None) -> list[dict[str, Any]]:
    return list_stories(settings.resolved_database_url, feed=feed, limit=10000)


def feed_row(settings: Any, feed_id: str) -> Feed:
    with transaction(settings.resolved_database_url, readonly=True) as session:
        feed = session.get(Feed, feed_id)
        assert feed is not None
        return feed


def count(settings: Any, model: Any) -> int:
    with transaction(settings.resolved_database_url, readonly=True) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def revisions(settings: Any, story_id: str) -> list[int]:
    with transaction(settings.resolved_database_url, readonly=True) as session:
        return list(
            session.scalars(
                select(StoryRevision.revision)
                .where(StoryRevision.story_id == story_id)
                .order_by(StoryRevision.revision)
            )
        )


__all__ = ["STORY_FIELDS", "Entry", "StoryRow", "configure", "count", "feed_row", "poll_now", "revisions", "stories"]
