"""Dead letters: messages the workers gave up on, kept in the store to be read, replayed or purged.

Why a table (shared notes §3.2, option B): Redis has no dead-letter exchange, a rejected message is simply
gone, while a row is durable, queryable and counted by `status`. A message lands here when
- its story fails on its content (retrying would fail the same way),
- the store stayed unavailable through every retry, or
- it killed its worker process 3 times (the poison guard, `workers.celeryapp.BaseTask`).

One row per story: the row's key is the task and the story id (the task and the payload when there is no
story id), so a redelivery, or the next poll's copy failing again, adds to `attempts` of the same row.

A dead letter that cannot be written because the store is what failed is parked in a Redis list instead,
and moved into the store by the next dead letter written or the next `feedworkers dead` command.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson
import redis
import structlog
from sqlalchemy import delete, func, select
from sqlalchemy.exc import OperationalError

from workers.errors import FeedworkersError
from workers.settings import Settings
from workers.store.db import insert, transaction
from workers.store.models import DeadLetter, utcnow

__all__ = [
    "DEAD",
    "PARKED_KEY",
    "REPLAYED",
    "DeadLetterNotFound",
    "ReplayError",
    "count_dead_letters",
    "count_parked",
    "flush_parked",
    "get_dead_letter",
    "list_dead_letters",
    "purge",
    "record_dead_letter",
    "replay",
]

DEAD, REPLAYED = "dead", "replayed"
PARKED_KEY = "fw:dead-letters:parked"
_PARKED_TTL = 30 * 86400
_TABLE = DeadLetter.__table__

_log = structlog.get_logger("workers.dead_letters")


class DeadLetterNotFound(FeedworkersError):
    """No dead letter has that id."""


class ReplayError(FeedworkersError):
    """A dead letter could not be sent back to its queue."""


# --- recording ------------------------------------------------------------------------------------


def _text(value: Any, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def _row(
    task: str, args: Sequence[Any], kwargs: Mapping[str, Any], error: str, traceback: str, attempts: int, at: datetime
) -> dict[str, Any]:
    """The row for a message: a story task's first argument is the story's wire form, a poll task's the feed id
    and the poll id."""
    payload = {"args": list(args), "kwargs": dict(kwargs)}
    first = args[0] if args else None
    if isinstance(first, Mapping):
        story_id, feed_id, poll_id = first.get("id"), first.get("feed_id"), first.get("poll_id")
    else:
        story_id, feed_id, poll_id = None, first, args[1] if len(args) > 1 else None
    identity = f"story\x00{story_id}" if isinstance(story_id, str) and story_id else None
    identity = identity or orjson.dumps(payload, option=orjson.OPT_SORT_KEYS, default=str).decode()
    return {
        "key": hashlib.sha256(f"{task}\x00{identity}".encode()).hexdigest(),
        "task": task[:100],
        "story_id": _text(story_id, 64),
        "feed_id": _text(feed_id, 100),
        "poll_id": _text(poll_id, 32),
        "payload": payload,
        "error": error[:2000],
        "traceback": traceback,
        "attempts": max(1, attempts),
        "first_failed_at": at,
        "last_failed_at": at,
        "state": DEAD,
    }


def _upsert(database_url: str, row: dict[str, Any]) -> int:
    with transaction(database_url) as session:
        statement = insert(session, _TABLE).values(row)
        new = statement.excluded
        kept = {
            name: new[name] for name in ("task", "poll_id", "payload", "error", "traceback", "last_failed_at", "state")
        }
        statement = statement.on_conflict_do_update(
            index_elements=["key"],
            set_=kept | {"attempts": _TABLE.c.attempts + new.attempts},
        ).returning(_TABLE.c.id)
        return int(session.execute(statement).scalar_one())


def record_dead_letter(
    database_url: str,
    *,
    task: str,
    args: Sequence[Any],
    kwargs: Mapping[str, Any] | None = None,
    error: str,
    traceback: str = "",
    attempts: int = 1,
    client: redis.Redis | None = None,
    park: bool = False,
) -> int | None:
    """Keep a message as a dead letter (or add `attempts` to its row); return the row's id.

    With `client`, parked dead letters are written first, and this one is parked (None is returned) when the
    store is unavailable; `park` parks it without trying the store, for when the store is known to be down
    (on SQLite a locked store makes every write wait out the 30 s busy timeout, past the task's time limit).
    """
    row = _row(task, args, kwargs or {}, error, traceback, attempts, utcnow())
    if client is not None and not park:
        try:
            flush_parked(database_url, client)
        except redis.RedisError as redis_error:
            _log.warning("parked dead letters not flushed", reason=f"{type(redis_error).__name__}: {redis_error}")
    if not park:
        try:
            return _upsert(database_url, row)
        except OperationalError:
            if client is None:
                raise
    if client is None:
        msg = "dead letters: parking a dead letter needs a Redis client"
        raise ValueError(msg)
    client.rpush(PARKED_KEY, orjson.dumps(row, default=str))
    client.expire(PARKED_KEY, _PARKED_TTL)
    _log.warning("dead letter parked", story_id=row["story_id"], feed_id=row["feed_id"], reason=row["error"])
    return None


def flush_parked(database_url: str, client: redis.Redis) -> int:
    """Move dead letters parked in Redis into the store; return how many moved (stops while it is down)."""
    moved = 0
    while (raw := client.lpop(PARKED_KEY)) is not None:
        try:
            row = orjson.loads(raw)
            for name in ("first_failed_at", "last_failed_at"):
                row[name] = datetime.fromisoformat(row[name])
            _upsert(database_url, row)
        except OperationalError:
            client.lpush(PARKED_KEY, raw)  # still unavailable: back in front, for the next flush
            break
        except Exception as error:  # noqa: BLE001 - one unreadable entry must not block the others forever
            _log.error("parked dead letter dropped", reason=f"{type(error).__name__}: {error}", raw=raw[:500])
            continue
        moved += 1
    return moved


def count_parked(client: redis.Redis) -> int:
    """Dead letters waiting in Redis for the store to come back."""
    return int(client.llen(PARKED_KEY))


# --- reading ----------------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _summary(row: DeadLetter) -> dict[str, Any]:
    return {
        "id": row.id,
        "state": row.state,
        "when": _iso(row.last_failed_at),
        "first_failed_at": _iso(row.first_failed_at),
        "replayed_at": _iso(row.replayed_at),
        "task": row.task,
        "feed": row.feed_id,
        "story": row.story_id,
        "poll": row.poll_id,
        "attempts": row.attempts,
        "error": row.error,
    }


def list_dead_letters(database_url: str, *, state: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Dead letters, the most recently failed first; `state` "dead" or "replayed" filters."""
    query = select(DeadLetter).order_by(DeadLetter.last_failed_at.desc(), DeadLetter.id.desc()).limit(limit)
    if state is not None:
        query = query.where(DeadLetter.state == state)
    with transaction(database_url, readonly=True) as session:
        return [_summary(row) for row in session.scalars(query)]


def get_dead_letter(database_url: str, dead_letter_id: int) -> dict[str, Any] | None:
    """Everything about one dead letter, its traceback and payload included; None if there is no such id."""
    with transaction(database_url, readonly=True) as session:
        row = session.get(DeadLetter, dead_letter_id)
        return None if row is None else _summary(row) | {"traceback": row.traceback, "payload": row.payload}


def count_dead_letters(database_url: str) -> int:
    """Dead letters not replayed (state "dead"): what `status` reports and an alert would watch."""
    with transaction(database_url, readonly=True) as session:
        return int(session.scalar(select(func.count()).where(DeadLetter.state == DEAD)) or 0)


# --- replay and purge -------------------------------------------------------------------------------


def replay(settings: Settings, ids: Sequence[int] | None) -> list[int]:
    """Send dead letters back to their queue (`ids` None: every one still dead); return the ids sent.

    Rows are marked replayed before their message leaves: a story that fails again at once turns its row
    back to "dead" (its failure is recorded after the mark), never the other way round.
    """
    url = settings.resolved_database_url
    with transaction(url) as session:
        query = select(DeadLetter).order_by(DeadLetter.id)
        query = query.where(DeadLetter.state == DEAD) if ids is None else query.where(DeadLetter.id.in_(list(ids)))
        rows = list(session.scalars(query))
        missing = sorted(set(ids or ()) - {row.id for row in rows})
        if missing:
            msg = f"dead letter {missing[0]} does not exist; list them with `feedworkers dead list`"
            raise DeadLetterNotFound(msg)
        before = {row.id: (row.state, row.replayed_at) for row in rows}
        sends = [(row.id, row.task, row.payload) for row in rows]
        now = utcnow()
        for row in rows:
            row.state, row.replayed_at = REPLAYED, now
    for number, (dead_letter_id, task, payload) in enumerate(sends):
        try:
            _send(task, payload)
        except Exception as error:
            _unmark(url, {i: before[i] for i, _, _ in sends[number:]})
            msg = (
                f"dead letter {dead_letter_id} could not be sent back to its queue ({type(error).__name__}: {error}); "
                f"check that Redis runs, then run `feedworkers dead replay {dead_letter_id}` again"
            )
            raise ReplayError(msg) from error
        _log.info("dead letter replayed", dead_letter_id=dead_letter_id, task=task)
    return [dead_letter_id for dead_letter_id, _, _ in sends]


def _send(task: str, payload: Mapping[str, Any]) -> None:
    """Enqueue the message again through the real queue; a story goes through `enqueue_stories` (traced)."""
    from workers import app
    from workers.story import Story
    from workers.tasks import enqueue_stories, process_story

    args, kwargs = list(payload.get("args", [])), dict(payload.get("kwargs", {}))
    if task == process_story.name and len(args) == 1 and isinstance(args[0], dict) and not kwargs:
        try:
            story = Story.from_wire(args[0])
        except (TypeError, AttributeError):
            story = None  # not a story at all: sent as it is, to fail (or pass, after a fix) the same way
        if story is not None:
            enqueue_stories([story])
            return
    if task not in app.tasks:
        msg = f"task {task!r} is unknown to this version of feedworkers"
        raise ReplayError(msg)
    app.tasks[task].apply_async(args=args, kwargs=kwargs)


def _unmark(database_url: str, previous: Mapping[int, tuple[str, datetime | None]]) -> None:
    with transaction(database_url) as session:
        for dead_letter_id, (state, replayed_at) in previous.items():
            row = session.get(DeadLetter, dead_letter_id)
            if row is not None:
                row.state, row.replayed_at = state, replayed_at


def purge(database_url: str, *, older_than_days: float | None = None, dry_run: bool = False) -> int:
    """Delete replayed dead letters, or with `older_than_days` every one that last failed longer ago.

    Returns how many were (with `dry_run`: would be) deleted.
    """
    if older_than_days is None:
        condition = DeadLetter.state == REPLAYED
    else:
        condition = DeadLetter.last_failed_at < utcnow() - timedelta(days=older_than_days)
    with transaction(database_url, readonly=dry_run) as session:
        if dry_run:
            return int(session.scalar(select(func.count()).where(condition)) or 0)
        return int(session.execute(delete(DeadLetter).where(condition)).rowcount or 0)
