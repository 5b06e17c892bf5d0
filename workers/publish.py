"""Publish stage: write the story, its revision and its seen mark in one transaction, idempotently.

The database is the arbiter: a new story is claimed by its primary key (INSERT … ON CONFLICT DO NOTHING),
an update by a compare-and-set on the revision it was decided against. When either finds that another
worker got there first, publish raises Conflict and the story goes back through dedup.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, case, update
from sqlalchemy.orm import Session

from workers.dedup import Decision
from workers.errors import FeedworkersError
from workers.store.db import insert, transaction
from workers.store.models import Entry, StoryRevision, utcnow
from workers.store.models import Story as StoryRow
from workers.story import Story

__all__ = ["Conflict", "publish", "record_failure"]


class Conflict(FeedworkersError):
    """Another worker published this story since the decision was made; decide again."""


def publish(database_url: str, story: Story, decision: Decision) -> str:
    """Apply `decision`; return the outcome: "new", "updated" or "skipped"."""
    now = utcnow()
    with transaction(database_url) as session:
        if decision.action == "new":
            _insert_story(session, story, now)
            outcome = "new"
        elif decision.action == "update":
            _update_story(session, story, decision, now)
            outcome = "updated"
        else:
            outcome = "skipped"
        _mark_seen(session, story, decision.story_id, outcome, None, now)
    return outcome


def record_failure(database_url: str, story: Story, error: str) -> None:
    """Remember that the entry failed, without a source hash, so the next poll enqueues it again."""
    with transaction(database_url) as session:
        _mark_seen(session, story, None, "failed", error, utcnow())


def _story_values(story: Story) -> dict[str, object]:
    return {
        "title": story.title,
        "summary": story.summary,
        "body_html": story.body_html,
        "body_text": story.body_text,
        "language": story.language,
        "tags": story.tags,
        "credits": story.credits,
        "attribution": story.attribution,
        "author": story.author,
        "url": story.url,
        "guid": story.guid,
        "published_at": datetime.fromisoformat(story.published_at) if story.published_at else None,
        "content_hash": story.content_hash,
    }


def _insert_story(session: Session, story: Story, now: datetime) -> None:
    values = _story_values(story) | {
        "id": story.id,
        "feed_id": story.feed_id,
        "fetched_at": datetime.fromisoformat(story.fetched_at),
        "updated_at": now,
        "revision": 1,
        "status": "published",
    }
    claimed = session.execute(
        insert(session, StoryRow).values(values).on_conflict_do_nothing(index_elements=["id"]).returning(StoryRow.id)
    ).first()
    if claimed is None:
        msg = f"publish: story {story.id} of feed '{story.feed_id}' was published concurrently"
        raise Conflict(msg)
    session.add(
        StoryRevision(
            story_id=story.id,
            revision=1,
            title=story.title,
            body_html=story.body_html,
            content_hash=story.content_hash,
            created_at=now,
        )
    )


def _update_story(session: Session, story: Story, decision: Decision, now: datetime) -> None:
    revision = decision.revision + 1
    changed = session.execute(
        update(StoryRow)
        .where(StoryRow.id == decision.story_id, StoryRow.revision == decision.revision)
        .values(_story_values(story) | {"revision": revision, "updated_at": now})
    ).rowcount
    if changed != 1:
        msg = f"publish: story {decision.story_id} of feed '{story.feed_id}' changed since revision {decision.revision}"
        raise Conflict(msg)
    session.add(
        StoryRevision(
            story_id=decision.story_id,
            revision=revision,
            title=story.title,
            body_html=story.body_html,
            content_hash=story.content_hash,
            created_at=now,
        )
    )


def _mark_seen(
    session: Session, story: Story, story_id: str | None, outcome: str, error: str | None, now: datetime
) -> None:
    """Upsert the entry's seen mark (written in the story's own transaction)."""
    statement = insert(session, Entry).values(
        feed_id=story.feed_id,
        key=story.id,
        story_id=story_id,
        guid=story.guid,
        url=story.url,
        source_hash=None if outcome == "failed" else story.source_hash,
        last_poll_id=story.poll_id,
        last_outcome=outcome,
        last_error=error,
        first_seen_at=now,
        last_seen_at=now,
    )
    # A redelivered message of the same poll must not turn "new" into "skipped"; a retry may mend "failed".
    keep_outcome = and_(Entry.last_poll_id == statement.excluded.last_poll_id, Entry.last_outcome != "failed")
    set_ = {
        "source_hash": case(
            (statement.excluded.last_outcome == "failed", Entry.source_hash), else_=statement.excluded.source_hash
        ),
        "last_seen_at": statement.excluded.last_seen_at,
        "last_poll_id": statement.excluded.last_poll_id,
        "last_outcome": case((keep_outcome, Entry.last_outcome), else_=statement.excluded.last_outcome),
        "last_error": statement.excluded.last_error,
        "guid": statement.excluded.guid,
        "url": statement.excluded.url,
    }
    if story_id is not None:
        set_["story_id"] = statement.excluded.story_id
    session.execute(statement.on_conflict_do_update(index_elements=["feed_id", "key"], set_=set_))
