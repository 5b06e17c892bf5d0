"""Everything an operator watches, in one report: queues, workers, feed health and recent totals.

`feedworkers status`, `GET /api/status`, the status page and `/metrics` all read this one report, so they
never disagree. Queues and workers come from Redis (queue lists, kombu's `unacked` hash, the workers'
heartbeats); feeds and totals from the store.

Feed health:
- `disabled`: switched off (by config, by an operator, or because the feed is gone);
- `failing`: at least 3 polls in a row failed;
- `degraded`: 1 or 2 failed polls in a row, a warning on the last successful poll (some entries
  unreadable), or a poll overdue by more than twice its interval (the scheduler is not keeping up);
- `ok` otherwise.
`quiet` is separate: no new entry for `quiet_factor` times the feed's usual gap between entries (over
the last 30 days, at least `quiet_min_hours`), the silent failure an error badge never shows.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime, timedelta
from typing import Any

import orjson
import redis
from sqlalchemy import func, select

from workers import heartbeat
from workers.dead_letters import count_dead_letters, flush_parked
from workers.report import QUEUES, feed_status, queue_status
from workers.settings import Settings
from workers.store.db import transaction
from workers.store.models import Decision, Entry, utcnow

__all__ = ["FAILING_AFTER", "HEALTH_STATES", "health", "status_report"]

HEALTH_STATES = ("ok", "degraded", "failing", "disabled")
FAILING_AFTER = 3
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")
_CADENCE_DAYS = 30


def status_report(settings: Settings, client: redis.Redis, *, now: datetime | None = None) -> dict[str, Any]:
    """The whole operator's view as plain data (see the module docstring for the health rules)."""
    now = now or utcnow()
    queues = queue_status(client)
    for queue, oldest in _oldest_waiting(client, now.timestamp()).items():
        queues[queue]["oldest_age_seconds"] = oldest
    return {
        "generated_at": now.isoformat(timespec="seconds"),
        "queues": queues,
        "workers": heartbeat.alive(client, now.timestamp()),
        "feeds": _feeds(settings, now),
        "totals": _totals(settings.resolved_database_url, now),
        "dead_letters": _dead_letters(settings.resolved_database_url, client),
    }


def _dead_letters(database_url: str, client: redis.Redis) -> int:
    # Dead letters parked in Redis while the store was down move in first, so the count includes them.
    with suppress(redis.RedisError):
        flush_parked(database_url, client)
    return count_dead_letters(database_url)


def health(feed: dict[str, Any], now: datetime) -> str:
    """One of HEALTH_STATES for a row of `report.feed_status`."""
    if not feed["enabled"]:
        return "disabled"
    errors = feed["consecutive_errors"]
    if errors >= FAILING_AFTER:
        return "failing"
    next_poll = feed.get("next_poll")
    overdue = next_poll is not None and now - datetime.fromisoformat(next_poll) > timedelta(
        seconds=2 * feed.get("interval", 300)
    )
    return "degraded" if errors or feed.get("last_error") or overdue else "ok"


def _oldest_waiting(client: redis.Redis, now: float) -> dict[str, float | None]:
    """Age in seconds of the oldest waiting message per queue (kombu pushes left and pops right)."""
    with client.pipeline(transaction=False) as pipe:
        for queue in QUEUES:
            for suffix in _PRIORITY_SUFFIXES:
                pipe.lindex(queue + suffix, -1)
        tails = pipe.execute()
    width = len(_PRIORITY_SUFFIXES)
    oldest: dict[str, float | None] = {}
    for number, queue in enumerate(QUEUES):
        sent = [_sent_at(raw) for raw in tails[number * width : (number + 1) * width] if raw]
        known = [value for value in sent if value is not None]
        oldest[queue] = round(max(0.0, now - min(known)), 1) if known else None
    return oldest


def _sent_at(raw: bytes) -> float | None:
    try:
        value = orjson.loads(raw).get("headers", {}).get("fw_sent_at")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return float(value) if isinstance(value, int | float) else None


def _feeds(settings: Settings, now: datetime) -> list[dict[str, Any]]:
    url = settings.resolved_database_url
    day_ago, month_ago = now - timedelta(days=1), now - timedelta(days=_CADENCE_DAYS)
    with transaction(url, readonly=True) as session:
        recent = dict(
            session.execute(
                select(Entry.feed_id, func.count()).where(Entry.first_seen_at >= day_ago).group_by(Entry.feed_id)
            ).all()
        )
        cadence = {
            feed_id: (count, first, last)
            for feed_id, count, first, last in session.execute(
                select(Entry.feed_id, func.count(), func.min(Entry.first_seen_at), func.max(Entry.first_seen_at))
                .where(Entry.first_seen_at >= month_ago)
                .group_by(Entry.feed_id)
            )
        }
    feeds = feed_status(url)
    for feed in feeds:
        feed["health"] = health(feed, now)
        feed["stories_24h"] = recent.get(feed["feed"], 0)
        feed["quiet"] = feed["enabled"] and _quiet(cadence.get(feed["feed"]), now, settings)
    return feeds


def _quiet(cadence: tuple[int, Any, Any] | None, now: datetime, settings: Settings) -> bool:
    if cadence is None or cadence[0] < 3:
        return False  # too little history to know the feed's rhythm
    count, first, last = cadence
    first, last = _aware(first), _aware(last)
    usual_gap = (last - first).total_seconds() / (count - 1)
    allowed = max(settings.quiet_factor * usual_gap, settings.quiet_min_hours * 3600)
    return (now - last).total_seconds() > allowed


def _aware(value: Any) -> datetime:
    # min()/max() of a UTC column come back naive from SQLite (the type decorator does not apply to them).
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=utcnow().tzinfo)


def _totals(database_url: str, now: datetime) -> dict[str, dict[str, int]]:
    names = {"new": "published", "update": "updated", "merge": "duplicates"}
    totals: dict[str, dict[str, int]] = {}
    with transaction(database_url, readonly=True) as session:
        for label, since in (("hour", now - timedelta(hours=1)), ("day", now - timedelta(days=1))):
            counts = dict.fromkeys((*names.values(), "failed"), 0)
            rows = session.execute(
                select(Decision.action, func.count())
                .where(Decision.created_at >= since, Decision.action.in_(list(names)))
                .group_by(Decision.action)
            )
            for action, count in rows:
                counts[names[action]] = count
            counts["failed"] = int(
                session.scalar(select(func.count()).where(Entry.last_outcome == "failed", Entry.last_seen_at >= since))
                or 0
            )
            totals[label] = counts
    return totals
