"""What operators read: poll summaries, feed status, queue depths, workers and stored stories."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
import redis
from sqlalchemy import func, select

from workers.celeryapp import FEEDS_QUEUE, STORIES_QUEUE, app
from workers.store.db import transaction
from workers.store.models import Decision, Entry, Feed, PollRun, StoryRevision
from workers.store.models import Story as StoryRow

__all__ = [
    "feed_status",
    "list_stories",
    "poll_summaries",
    "queue_status",
    "runs_settled",
    "story_detail",
    "workers_alive",
]

QUEUES = (FEEDS_QUEUE, STORIES_QUEUE)
_FINAL = ("ok", "unchanged", "failed", "skipped", "deferred")
_STATUS_TEXT = {
    "unchanged": "unchanged", "skipped": "skipped (poll running)", "failed": "failed",
    "deferred": "deferred (the host asked to wait)",
}  # fmt: skip
# kombu's Redis transport keeps priority levels in extra lists named <queue>\x06\x16<level>.
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


def _outcomes(session: Any, poll_ids: Sequence[str]) -> dict[str, Counter[str]]:
    counts: dict[str, Counter[str]] = {poll_id: Counter() for poll_id in poll_ids}
    rows = session.execute(
        select(Entry.last_poll_id, Entry.last_outcome, func.count())
        .where(Entry.last_poll_id.in_(list(poll_ids)))
        .group_by(Entry.last_poll_id, Entry.last_outcome)
    )
    for poll_id, outcome, count in rows:
        counts[poll_id][outcome] += count
    return counts


def runs_settled(database_url: str, poll_ids: Sequence[str]) -> bool:
    """True when every poll run has finished and every story it enqueued has an outcome."""
    with transaction(database_url, readonly=True) as session:
        runs = session.scalars(select(PollRun).where(PollRun.id.in_(list(poll_ids)))).all()
        if len(runs) < len(poll_ids) or any(run.state not in _FINAL for run in runs):
            return False
        outcomes = _outcomes(session, poll_ids)
    return all(sum(outcomes[run.id].values()) >= run.enqueued for run in runs)


def poll_summaries(database_url: str, poll_ids: Sequence[str]) -> list[dict[str, Any]]:
    """Per poll run: feed, status, new, updated, duplicates (linked to another story), held (new versions
    of locked stories), skipped, errors and the error message."""
    with transaction(database_url, readonly=True) as session:
        runs = {run.id: run for run in session.scalars(select(PollRun).where(PollRun.id.in_(list(poll_ids))))}
        outcomes = _outcomes(session, poll_ids)
    summaries = []
    for poll_id in poll_ids:
        run = runs.get(poll_id)
        if run is None:
            continue
        counts = outcomes[poll_id]
        pending = max(0, run.enqueued - sum(counts.values()))
        summaries.append(
            {
                "poll_id": poll_id,
                "feed": run.feed_id,
                "status": _status_text(run),
                "new": counts["new"],
                "updated": counts["updated"],
                "duplicates": counts["merged"],
                "held": counts["pending"],
                "skipped": counts["skipped"] + run.unchanged + run.invalid,
                "errors": counts["failed"] + (1 if run.state == "failed" else 0),
                "pending": pending,
                "error": run.error,
            }
        )
    return summaries


def _status_text(run: PollRun) -> str:
    if run.state == "unchanged" and run.http_status == 304:
        return "not modified (304)"
    if run.state == "ok":
        return f"HTTP {run.http_status}" if run.http_status else "ok"
    if run.state == "failed" and run.http_status:
        return f"failed (HTTP {run.http_status})"
    return _STATUS_TEXT.get(run.state, run.state)


def feed_status(database_url: str) -> list[dict[str, Any]]:
    """Per feed: enabled, last poll, last HTTP status, consecutive errors, last error, stories stored, next poll."""
    with transaction(database_url, readonly=True) as session:
        stored = dict(session.execute(select(StoryRow.feed_id, func.count()).group_by(StoryRow.feed_id)).all())
        feeds = session.scalars(select(Feed).order_by(Feed.id)).all()
        return [
            {
                "feed": feed.id,
                "title": feed.title,
                "enabled": feed.enabled,
                "origin": feed.origin,
                "url": feed.url,
                "interval": feed.interval,
                "last_poll": _iso(feed.last_polled_at),
                "last_status": feed.last_status,
                "consecutive_errors": feed.consecutive_errors,
                "last_error": feed.last_error,
                "stories": stored.get(feed.id, 0),
                "next_poll": _iso(feed.next_poll_at) if feed.enabled else None,
                "priority": feed.priority,
                "keyed_by": feed.key_by,
                "keyed_by_reason": feed.key_by_reason,
            }
            for feed in feeds
        ]


def queue_status(client: redis.Redis) -> dict[str, dict[str, int]]:
    """Per queue: messages waiting, and messages delivered to a worker but not yet acknowledged."""
    with client.pipeline() as pipe:
        for queue in QUEUES:
            for suffix in _PRIORITY_SUFFIXES:
                pipe.llen(queue + suffix)
        lengths = pipe.execute()
    in_flight: Counter[str] = Counter()
    for raw in client.hvals("unacked"):
        try:
            _message, _exchange, routing_key = orjson.loads(raw)
        except (orjson.JSONDecodeError, ValueError, TypeError):
            continue
        in_flight[routing_key] += 1
    width = len(_PRIORITY_SUFFIXES)
    return {
        queue: {"waiting": sum(lengths[i * width : (i + 1) * width]), "in_flight": in_flight[queue]}
        for i, queue in enumerate(QUEUES)
    }


def workers_alive(timeout: float = 1.0) -> list[dict[str, Any]]:
    """Workers that answered within `timeout`: host, pid, queues and concurrency."""
    inspector = app.control.inspect(timeout=timeout)
    stats = inspector.stats() or {}
    queues = inspector.active_queues() or {}
    return [
        {
            "worker": name,
            "pid": info.get("pid"),
            "concurrency": (info.get("pool") or {}).get("max-concurrency"),
            "queues": sorted(q["name"] for q in queues.get(name, [])),
        }
        for name, info in sorted(stats.items())
    ]


def list_stories(
    database_url: str,
    *,
    feed: str | None = None,
    since: datetime | None = None,
    limit: int = 50,
    q: str | None = None,
) -> list[dict[str, Any]]:
    """Published stories, newest first, as plain dicts.

    `q` keeps the stories whose title or body contains it, ignoring case, umlauts included (ILIKE);
    `%`, `_` and `\\` in it match themselves, so a search is never a pattern.
    """
    query = select(StoryRow).where(StoryRow.status == "published")
    if feed:
        query = query.where(StoryRow.feed_id == feed)
    if since:
        query = query.where(StoryRow.fetched_at >= since)
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(StoryRow.title.ilike(pattern, escape="\\") | StoryRow.body_text.ilike(pattern, escape="\\"))
    query = query.order_by(StoryRow.fetched_at.desc(), StoryRow.published_at.desc(), StoryRow.id).limit(limit)
    with transaction(database_url, readonly=True) as session:
        if q and session.get_bind().dialect.name == "sqlite":
            # ILIKE is lower() LIKE lower() on SQLite, and SQLite's lower() folds ASCII only: "FERNWÄRME"
            # would miss "Fernwärme". A Unicode lower() on this connection overrides the built-in one.
            raw = session.connection().connection.driver_connection
            raw.create_function("lower", 1, lambda v: v.lower() if isinstance(v, str) else v, deterministic=True)
        rows = list(session.scalars(query))
        sources = _sources(session, [row.id for row in rows])
        return [_story_dict(row) | {"sources": sources.get(row.id, [])} for row in rows]


def story_detail(database_url: str, key: str) -> dict[str, Any] | None:
    """A story with its sources, revisions (pending ones too) and dedup decisions.

    `key` is a story id, an entry key (the id a duplicate arrived with) or an unambiguous prefix of either.
    For an entry linked to another story, `duplicate_of` names that story.
    """
    with transaction(database_url, readonly=True) as session:
        story_id = _resolve(session, key)
        if story_id is None:
            return None
        row = session.get(StoryRow, story_id)
        if row is None:
            return None
        revisions = session.scalars(
            select(StoryRevision).where(StoryRevision.story_id == story_id).order_by(StoryRevision.revision)
        )
        decisions = session.scalars(
            select(Decision)
            .where((Decision.story_id == story_id) | (Decision.entry_key == key))
            .order_by(Decision.created_at, Decision.id)
        )
        detail = _story_dict(row) | {
            "status": row.status,
            "locked": row.locked,
            "canonical_url": row.canonical_url,
            "sources": _sources(session, [story_id]).get(story_id, []),
            "revisions": [
                {
                    "revision": r.revision,
                    "state": r.state,
                    "feed": r.feed_id,
                    "entry_key": r.entry_key,
                    "title": r.title,
                    "reason": r.reason,
                    "created_at": _iso(r.created_at),
                }
                for r in revisions
            ],
            "decisions": [
                {
                    "at": _iso(d.created_at),
                    "feed": d.feed_id,
                    "entry_key": d.entry_key,
                    "poll_id": d.poll_id,
                    "action": d.action,
                    "method": d.method,
                    "other_story_id": d.other_story_id,
                    "similarity": d.similarity,
                    "revision": d.revision,
                    "reason": d.reason,
                }
                for d in decisions
            ],
        }
        asked = next((source for source in detail["sources"] if source["entry_key"] == key), None)
        if asked is not None and asked["role"] != "primary":
            detail["duplicate_of"] = story_id
            detail["asked_for"] = key
        return detail


def _resolve(session: Any, key: str) -> str | None:
    """The story id for a story id, an entry key, or a unique prefix of one (at least 8 characters)."""
    if session.get(StoryRow, key) is not None:
        return key
    story_id = session.scalar(select(Entry.story_id).where(Entry.key == key, Entry.story_id.is_not(None)).limit(1))
    if story_id or len(key) < 8:
        return story_id
    matches = session.scalars(select(StoryRow.id).where(StoryRow.id.startswith(key, autoescape=True)).limit(2)).all()
    if len(matches) == 1:
        return matches[0]
    linked = session.scalars(
        select(Entry.story_id).where(Entry.key.startswith(key, autoescape=True), Entry.story_id.is_not(None)).limit(2)
    ).all()
    return linked[0] if len(set(linked)) == 1 else None


def _sources(session: Any, story_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Every entry linked to each story: the primary (published) version first, then the duplicates."""
    found: dict[str, list[dict[str, Any]]] = {}
    if not story_ids:
        return found
    rows = session.scalars(
        select(Entry).where(Entry.story_id.in_(story_ids)).order_by(Entry.story_id, Entry.first_seen_at, Entry.key)
    )
    for entry in rows:
        source = {
            "feed": entry.feed_id,
            "entry_key": entry.key,
            "guid": entry.guid,
            "url": entry.url,
            "title": entry.title,
            "role": entry.role or "primary",
            "method": entry.method,
            "similarity": entry.similarity,
            "first_seen_at": _iso(entry.first_seen_at),
        }
        if source["role"] != "primary":
            source["duplicate_of"] = entry.story_id
        found.setdefault(entry.story_id, []).append(source)
    for sources in found.values():
        sources.sort(key=lambda s: s["role"] != "primary")
    return found


def _story_dict(row: StoryRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "feed": row.feed_id,
        "guid": row.guid,
        "url": row.url,
        "title": row.title,
        "summary": row.summary,
        "body_html": row.body_html,
        "body_text": row.body_text,
        "language": row.language,
        "tags": row.tags,
        "credits": row.credits,
        "attribution": row.attribution,
        "author": row.author,
        "published_at": _iso(row.published_at),
        "fetched_at": _iso(row.fetched_at),
        "updated_at": _iso(row.updated_at),
        "revision": row.revision,
        "word_count": row.word_count,
        "lead_image": row.lead_image,
        "body_source": row.body_source,
        "persons": row.persons,
        "organizations": row.organizations,
        "places": row.places,
        "category": row.category,
        "regional": row.regional,
        "keywords": row.keywords,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
