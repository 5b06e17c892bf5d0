"""Publish stage: apply the dedup decision in one transaction, idempotently, and say why.

The database is the arbiter. A new story is claimed by its primary key and its exact keys (canonical URL,
text fingerprint) with INSERT … ON CONFLICT; an update by a compare-and-set on the revision it was decided
against. The near-duplicate decision is serialised: the transaction first locks the story's index bands
(PostgreSQL advisory locks; SQLite's write lock serialises every writer anyway), then re-checks candidates
that appeared since the decision, and indexes the story before it commits. Whenever another worker got
there first, publish raises Conflict and the story goes back through dedup.

The entry's seen mark and the decision record are written in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import redis
from sqlalchemy import and_, case, func, select, text, update
from sqlalchemy.orm import Session

from workers import dedup_index
from workers.dedup import Decision, layout, new_duplicate
from workers.errors import FeedworkersError
from workers.identity import url_key
from workers.settings import Settings
from workers.store.db import insert, transaction
from workers.store.models import Decision as DecisionRow
from workers.store.models import Entry, StoryKey, StoryRevision, utcnow
from workers.store.models import Story as StoryRow
from workers.story import Story

__all__ = ["Conflict", "publish", "record_failure"]

# Core tables: the ORM's per-statement bookkeeping costs more than these plain inserts do.
_STORIES, _REVISIONS, _KEYS = StoryRow.__table__, StoryRevision.__table__, StoryKey.__table__
_ENTRIES, _DECISIONS = Entry.__table__, DecisionRow.__table__
_OUTCOMES = {"new": "new", "update": "updated", "merge": "merged", "pending": "pending", "skip": "skipped"}
# Statements are built once per dialect and variant and executed with parameters: building one with its
# values inside costs SQLAlchemy more than the database spends running it (every story runs about nine).
_statements: dict[tuple[str, object], Any] = {}


def _statement(session: Session, variant: object, build: Callable[[Session], Any]) -> Any:
    key = (session.get_bind().dialect.name, variant)
    statement = _statements.get(key)
    if statement is None:
        statement = _statements[key] = build(session)
    return statement


class Conflict(FeedworkersError):
    """Another worker changed what the decision was based on; decide again."""


def publish(settings: Settings, client: redis.Redis, story: Story, decision: Decision) -> str:
    """Apply `decision`; return the outcome: new, updated, merged, pending or skipped."""
    now = utcnow()
    revision: int | None = None
    with transaction(settings.resolved_database_url) as session:
        if decision.action == "new":
            _lock_bands(session, decision)
            duplicate = new_duplicate(session, settings, client, story, decision)
            if duplicate is not None:
                msg = f"publish: story {story.id} of feed '{story.feed_id}' is a near-duplicate of {duplicate}, published meanwhile"
                raise Conflict(msg)
            _insert_story(session, story, now)
            revision = 1
        elif decision.action == "update" or (decision.action == "merge" and decision.takeover):
            revision = _new_revision(session, story, decision, now)
        elif decision.action == "pending":
            revision = _pending_revision(session, story, decision, now)
        if decision.action in ("new", "merge", "update"):
            _claim_keys(session, story, decision.story_id, strict=decision.action == "new")
        outcome = _OUTCOMES[decision.action]
        _mark_seen(session, story, decision, outcome, None, now)
        session.execute(
            _DECISIONS.insert(),
            {
                "story_id": decision.story_id,
                "feed_id": story.feed_id,
                "entry_key": story.id,
                "poll_id": story.poll_id,
                "action": decision.action,
                "method": decision.method,
                "other_story_id": decision.story_id if decision.method in ("url", "fingerprint", "near-dup") else None,
                "similarity": decision.similarity,
                "revision": revision,
                "reason": decision.reason,
                "created_at": now,
            },
        )
        if decision.bands is not None and decision.action in ("new", "merge", "update"):
            # Indexed before the commit, inside the lock: a concurrent duplicate that takes the lock next
            # finds it. Should the commit fail, the reference resolves to nothing and is ignored.
            dedup_index.add(client, layout(settings), decision.bands, decision.story_id)
    return outcome


def record_failure(database_url: str, story: Story, error: str) -> None:
    """Remember that the entry failed, without a source hash, so the next poll enqueues it again."""
    with transaction(database_url) as session:
        _mark_seen(session, story, None, "failed", error, utcnow())


def _lock_bands(session: Session, decision: Decision) -> None:
    """Serialise near-duplicate decisions that could meet: two stories that share a band share a lock.

    Must run before the index is read again. On SQLite the first statement takes the store's write lock
    (BEGIN IMMEDIATE), which serialises every writer.
    """
    if session.get_bind().dialect.name != "postgresql":
        session.execute(text("SELECT 1"))
        return
    if decision.bands is None:
        return
    keys = sorted({value - (1 << 63) for value in decision.bands})
    session.execute(
        text(
            "SELECT pg_advisory_xact_lock(k) FROM (SELECT unnest(CAST(:keys AS bigint[])) AS k ORDER BY k) AS ordered"
        ),
        {"keys": keys},
    )


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
        "canonical_url": story.canonical_url,
        "guid": story.guid,
        "published_at": datetime.fromisoformat(story.published_at) if story.published_at else None,
        "content_hash": story.content_hash,
        "feed_id": story.feed_id,
        "primary_key": story.id,
        "word_count": story.word_count,
        "lead_image": story.lead_image,
        "body_source": story.body_source,
        "persons": story.persons,
        "organizations": story.organizations,
        "places": story.places,
        "category": story.category,
        "regional": story.regional,
        "keywords": story.keywords,
    }


def _insert_story(session: Session, story: Story, now: datetime) -> None:
    values = _story_values(story) | {
        "id": story.id,
        "fetched_at": datetime.fromisoformat(story.fetched_at),
        "updated_at": now,
        "revision": 1,
        "status": "published",
    }
    statement = _statement(
        session,
        "story",
        lambda s: insert(s, _STORIES).on_conflict_do_nothing(index_elements=["id"]).returning(_STORIES.c.id),
    )
    claimed = session.execute(statement, values).first()
    if claimed is None:
        msg = f"publish: story {story.id} of feed '{story.feed_id}' was published concurrently"
        raise Conflict(msg)
    _insert_revision(session, story, story.id, 1, "published", "first version", now)


def _new_revision(session: Session, story: Story, decision: Decision, now: datetime) -> int:
    """This version becomes the published one, by compare-and-set on the revision the decision saw.

    It is numbered after every version so far, pending ones included (a locked story's pending versions
    keep their numbers after it is unlocked).
    """
    latest = session.scalar(select(func.max(StoryRevision.revision)).where(StoryRevision.story_id == decision.story_id))
    revision = max(latest or 0, decision.revision) + 1
    changed = session.execute(
        update(StoryRow)
        .where(
            StoryRow.id == decision.story_id,
            StoryRow.revision == decision.revision,
            StoryRow.status != "removed",
            StoryRow.locked.is_(False),
        )
        .values(_story_values(story) | {"revision": revision, "updated_at": now})
    ).rowcount
    if changed != 1:
        msg = f"publish: story {decision.story_id} changed since revision {decision.revision} (feed '{story.feed_id}')"
        raise Conflict(msg)
    _insert_revision(session, story, decision.story_id, revision, "published", decision.reason, now)
    # The previous primary source is now one of the linked ones.
    session.execute(
        update(Entry)
        .where(Entry.story_id == decision.story_id, Entry.role == "primary", Entry.key != story.id)
        .values(role="duplicate")
    )
    return revision


def _pending_revision(session: Session, story: Story, decision: Decision, now: datetime) -> int:
    """The story is locked: keep the version beside it, numbered after every version so far."""
    latest = session.scalar(select(func.max(StoryRevision.revision)).where(StoryRevision.story_id == decision.story_id))
    revision = (latest or 0) + 1
    _insert_revision(session, story, decision.story_id, revision, "pending", decision.reason, now)
    return revision


def _insert_revision(
    session: Session, story: Story, story_id: str, revision: int, state: str, reason: str, now: datetime
) -> None:
    """Add a revision row; one numbered the same by a concurrent worker means: decide again."""
    statement = _statement(
        session,
        "revision",
        lambda s: (
            insert(s, _REVISIONS)
            .on_conflict_do_nothing(index_elements=["story_id", "revision"])
            .returning(_REVISIONS.c.revision)
        ),
    )
    claimed = session.execute(statement, _revision_values(story, story_id, revision, state, reason, now)).first()
    if claimed is None:
        msg = f"publish: story {story_id} got revision {revision} concurrently (feed '{story.feed_id}')"
        raise Conflict(msg)


def _revision_values(story: Story, story_id: str, revision: int, state: str, reason: str, now: datetime) -> dict:
    return {
        "story_id": story_id,
        "revision": revision,
        "title": story.title,
        "body_html": story.body_html,
        "content_hash": story.content_hash,
        "created_at": now,
        "state": state,
        "feed_id": story.feed_id,
        "entry_key": story.id,
        "reason": reason,
    }


def _claim_keys(session: Session, story: Story, story_id: str, *, strict: bool) -> None:
    """Claim the story's exact keys. A new story that finds one taken lost a race: Conflict."""
    for kind, value in (("url", url_key(story.url)), ("text", story.content_hash)):
        if not value:
            continue
        statement = _statement(
            session,
            "key",
            lambda s: (
                insert(s, _KEYS).on_conflict_do_nothing(index_elements=["kind", "value"]).returning(_KEYS.c.story_id)
            ),
        )
        row = {"kind": kind, "value": value, "story_id": story_id, "created_at": utcnow()}
        claimed = session.execute(statement, row).first()
        if claimed is None and strict:
            owner = session.scalar(select(StoryKey.story_id).where(StoryKey.kind == kind, StoryKey.value == value))
            if owner != story_id:
                msg = f"publish: story {story.id} of feed '{story.feed_id}' has the {kind} of story {owner}, published meanwhile"
                raise Conflict(msg)


def _mark_seen(
    session: Session, story: Story, decision: Decision | None, outcome: str, error: str | None, now: datetime
) -> None:
    """Upsert the entry's seen mark (written in the story's own transaction)."""
    story_id = decision.story_id if decision else None
    values: dict[str, object] = {
        "feed_id": story.feed_id,
        "key": story.id,
        "story_id": story_id,
        "guid": story.guid,
        "url": story.url,
        "canonical_url": story.canonical_url,
        "title": story.title or None,
        "content_hash": story.content_hash or None,
        "source_hash": None if outcome == "failed" else story.source_hash,
        "last_poll_id": story.poll_id,
        "last_outcome": outcome,
        "last_error": error,
        "first_seen_at": now,
        "last_seen_at": now,
    }
    if decision is not None:
        primary = decision.action == "new" or decision.takeover
        values["role"] = "primary" if primary else "duplicate"
        values["method"] = "new" if decision.action == "new" else decision.method
        values["similarity"] = decision.similarity
    variant = ("seen", decision is None, decision is not None and decision.method != "guid",
               decision is not None and decision.takeover)  # fmt: skip
    session.execute(_statement(session, variant, lambda s: _seen_upsert(s, decision)), values)


def _seen_upsert(session: Session, decision: Decision | None) -> Any:
    """The entries upsert for this kind of decision (what a later version may change depends on it)."""
    statement = insert(session, _ENTRIES)
    excluded = statement.excluded
    # A redelivered message of the same poll must not turn "new" into "skipped"; a retry may mend "failed".
    keep_outcome = and_(Entry.last_poll_id == excluded.last_poll_id, Entry.last_outcome != "failed")
    set_: dict[str, object] = {
        "source_hash": case((excluded.last_outcome == "failed", Entry.source_hash), else_=excluded.source_hash),
        "last_seen_at": excluded.last_seen_at,
        "last_poll_id": excluded.last_poll_id,
        "last_outcome": case((keep_outcome, Entry.last_outcome), else_=excluded.last_outcome),
        "last_error": excluded.last_error,
        "guid": excluded.guid,
        "url": excluded.url,
        "canonical_url": excluded.canonical_url,
    }
    if decision is not None:
        set_["story_id"] = excluded.story_id
        set_["title"] = excluded.title
        set_["content_hash"] = excluded.content_hash
        if decision.method != "guid":
            # How an entry is linked is decided on its first arrival; later versions keep it.
            set_["role"] = excluded.role
            set_["method"] = excluded.method
            set_["similarity"] = excluded.similarity
        elif decision.takeover:
            set_["role"] = excluded.role
    return statement.on_conflict_do_update(index_elements=["feed_id", "key"], set_=set_)
