"""Response models of the HTTP API: they document /openapi.json; the functions behind them build plain dicts.

Every model allows extra fields, so a field added to a report function reaches API clients without a
change here; the models name the fields clients can rely on.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Health",
    "PollResult",
    "RefetchAccepted",
    "RefetchBatch",
    "RefetchRefusal",
    "StatusReport",
    "Story",
    "StoryDetail",
]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Health(_Open):
    redis: str = Field(description='"ok", or why Redis did not answer PING.')
    store: str = Field(description='"ok", or why the store did not answer SELECT 1.')


class QueueDepth(_Open):
    waiting: int
    in_flight: int
    oldest_age_seconds: float | None = None


class WorkerInfo(_Open):
    worker: str
    host: str | None = None
    pid: int | None = None
    queues: list[str] = []
    concurrency: int | None = None
    last_heartbeat: str | None = None
    tasks_5m: int | None = None


class FeedHealth(_Open):
    feed: str
    enabled: bool
    health: str = Field(description="ok, degraded, failing or disabled.")
    quiet: bool = Field(default=False, description="Nothing new for much longer than the feed's usual gap.")
    last_poll: str | None = None
    last_status: int | None = None
    consecutive_errors: int = 0
    last_error: str | None = None
    next_poll: str | None = None
    stories_24h: int = 0


class StatusReport(_Open):
    generated_at: str
    queues: dict[str, QueueDepth]
    workers: list[WorkerInfo]
    feeds: list[FeedHealth]
    totals: dict[str, dict[str, int]] = Field(description='"hour" and "day": published, updated, duplicates, failed.')
    dead_letters: int = 0


class Story(_Open):
    id: str
    feed: str
    title: str
    url: str | None = None
    language: str | None = None
    category: str | None = None
    tags: list[str] = []
    places: list[str] = []
    revision: int
    published_at: str | None = None
    fetched_at: str | None = None
    sources: list[dict[str, Any]] = Field(default=[], description="The primary entry first, then duplicates.")


class StoryDetail(Story):
    status: str
    revisions: list[dict[str, Any]]
    decisions: list[dict[str, Any]]
    trace: list[dict[str, Any]] = Field(
        description="Stage events of the story and its sources, oldest first; `entry` names whose event it is."
    )
    verdict: str = Field(description="Why the story is (or is not) published, in one sentence.")


class PollResult(_Open):
    poll_id: str
    feed: str
    status: str
    new: int
    updated: int
    duplicates: int
    held: int
    skipped: int
    errors: int
    pending: int
    error: str | None = None
    done: bool = Field(description="The poll finished and every story it enqueued has an outcome.")


class RefetchAccepted(_Open):
    feed: str
    poll_id: str
    result_url: str = Field(description="GET it until `done` is true.")


class RefetchRefusal(_Open):
    feed: str
    retry_after: int = Field(description="Seconds until a refetch of this feed is accepted.")
    message: str


class RefetchBatch(_Open):
    accepted: list[RefetchAccepted]
    refused: list[RefetchRefusal]
