"""The store's tables. Correctness lives here: unique keys are what make publishing idempotent."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, MetaData, String, Text, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.expression import false, text

__all__ = [
    "Base",
    "DeadLetter",
    "Decision",
    "Entry",
    "Feed",
    "PollRun",
    "Story",
    "StoryKey",
    "StoryRevision",
    "UTCDateTime",
    "utcnow",
]


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            msg = "store: naive datetime given; pass an aware UTC datetime"
            raise ValueError(msg)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Feed(Base):
    """A configured feed and its polling state (scheduling lives here, not in broker ETAs)."""

    __tablename__ = "feeds"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    interval: Mapped[int] = mapped_column(Integer, default=300)
    language: Mapped[str | None] = mapped_column(String(8))
    attribution: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    origin: Mapped[str] = mapped_column(String(20), default="config")
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    body_hash: Mapped[str | None] = mapped_column(String(64))
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_errors: Mapped[int] = mapped_column(Integer, default=0)
    last_poll_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When duplicates meet, the version of the feed with the higher priority is the published one.
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Fetch the article page for every story (summary-only feeds); a category the feed's stories lean to.
    full_text: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    category_hint: Mapped[str | None] = mapped_column(String(40))
    # "guid", or "link" once the feed's guids were found broken (`key_by_reason` says how).
    key_by: Mapped[str] = mapped_column(String(10), default="guid", server_default="guid")
    key_by_reason: Mapped[str | None] = mapped_column(Text)


class PollRun(Base):
    """One poll of one feed: what was asked for and, when done, what came of it."""

    __tablename__ = "poll_runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    feed_id: Mapped[str] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"), index=True)
    trigger: Mapped[str] = mapped_column(String(20), default="schedule")
    force: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(20), default="queued")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    http_status: Mapped[int | None] = mapped_column(Integer)
    entries: Mapped[int] = mapped_column(Integer, default=0)
    enqueued: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    invalid: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class Story(Base):
    """A story. `id` is the full SHA-256 key of its first feed entry; `primary_key` the entry whose
    version is published. `status` "removed" makes it a tombstone; `locked` keeps staff edits."""

    __tablename__ = "stories"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    feed_id: Mapped[str] = mapped_column(ForeignKey("feeds.id"), index=True)
    guid: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(8))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    credits: Mapped[list[str]] = mapped_column(JSON, default=list)
    attribution: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    content_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="published")
    canonical_url: Mapped[str | None] = mapped_column(Text)
    primary_key: Mapped[str | None] = mapped_column(String(64))
    word_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    lead_image: Mapped[str | None] = mapped_column(Text)
    body_source: Mapped[str] = mapped_column(String(20), default="feed", server_default="feed")
    persons: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    organizations: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    places: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    category: Mapped[str | None] = mapped_column(String(40), index=True)
    regional: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    locked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    __table_args__ = (Index("ix_stories_fetched", "fetched_at"),)


class StoryRevision(Base):
    """Every version of a story; (story_id, revision) is unique, so a redelivery adds none.

    `state` is "published", or "pending" for a version that arrived while the story was locked.
    """

    __tablename__ = "story_revisions"

    story_id: Mapped[str] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    state: Mapped[str] = mapped_column(String(20), default="published", server_default="published")
    feed_id: Mapped[str | None] = mapped_column(String(100))
    entry_key: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)


class Entry(Base):
    """A feed entry seen by the poller: the "seen" mark, written in the story's transaction.

    `source_hash` is the hash of the raw entry; the poll's bulk check enqueues an entry only when it has no
    row here or its hash changed, so a message lost anywhere is enqueued again by the next poll.
    An entry with a story is one of that story's sources: `role` "primary" (its version is published)
    or "duplicate", with the `method` and `similarity` that linked it.
    """

    __tablename__ = "entries"

    feed_id: Mapped[str] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    story_id: Mapped[str | None] = mapped_column(ForeignKey("stories.id", ondelete="SET NULL"), index=True)
    guid: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    source_hash: Mapped[str | None] = mapped_column(String(64))
    last_poll_id: Mapped[str | None] = mapped_column(String(32), index=True)
    last_outcome: Mapped[str | None] = mapped_column(String(20))
    last_error: Mapped[str | None] = mapped_column(Text)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    canonical_url: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str | None] = mapped_column(String(20))
    method: Mapped[str | None] = mapped_column(String(20))
    similarity: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (Index("ix_entries_feed_canonical_url", "feed_id", "canonical_url"),)


class StoryKey(Base):
    """An exact identity a story has claimed across feeds: `kind` "url" (canonical URL) or "text"
    (fingerprint of the folded title and body), `value` its SHA-256. The primary key makes the claim
    race-free: two workers publishing the same text cannot both win it."""

    __tablename__ = "story_keys"

    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    value: Mapped[str] = mapped_column(String(64), primary_key=True)
    story_id: Mapped[str] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Decision(Base):
    """Why an entry became a new story, a revision, a linked duplicate, a pending version or nothing."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    story_id: Mapped[str | None] = mapped_column(String(64), index=True)
    feed_id: Mapped[str] = mapped_column(String(100))
    entry_key: Mapped[str] = mapped_column(String(64), index=True)
    poll_id: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(20))
    method: Mapped[str | None] = mapped_column(String(20))
    other_story_id: Mapped[str | None] = mapped_column(String(64))
    similarity: Mapped[float | None] = mapped_column(Float)
    revision: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class DeadLetter(Base):
    """A message the workers gave up on, kept so an operator can read it, replay it or purge it.

    Redis has no dead-letter exchange, so the store keeps them: durable, queryable, counted by `status`.
    `key` makes one row per story (per task and story id; per task and payload without one): a redelivery,
    or the next poll's copy failing again, adds to `attempts` of the same row instead of adding a row.
    `payload` holds the task's arguments ({"args": [...], "kwargs": {...}}; for a story, the wire form),
    so a replay sends exactly what failed. `state` is "dead", or "replayed" once sent back to the queue.
    """

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    task: Mapped[str] = mapped_column(String(100))
    story_id: Mapped[str | None] = mapped_column(String(64), index=True)
    feed_id: Mapped[str | None] = mapped_column(String(100))
    poll_id: Mapped[str | None] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    error: Mapped[str] = mapped_column(Text)
    traceback: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    first_failed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_failed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    replayed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(20), default="dead", index=True)
