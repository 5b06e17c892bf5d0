"""Story lineage and stage metrics, kept in Redis beside the queues.

Every stage event of a story (clean, dedup, tag, publish, and `failed` when a stage raised) is appended to a
small list per story, `fw:trace:<story id>`, that expires after `FEEDWORKERS_TRACE_DAYS`; `story ID --trace`
and the API read it back to answer "why was story X not published?". The same event adds one to a counter
per (stage, outcome) and to a duration histogram per stage, which every process shares, so `/metrics` can
be served by any process without each worker running an exporter.

One pipelined round trip per story run; a Redis error is logged and never fails the story.
"""

from __future__ import annotations

import bisect
import time
from datetime import UTC, datetime
from typing import Any

import orjson
import redis
import structlog

__all__ = ["BUCKETS", "StoryTrace", "record_enqueued", "stage_counts", "stage_durations", "story_trace"]

# Histogram bounds in seconds: a clean or tag stage takes a few ms, a full-text fetch up to the deadline.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_COUNTS = "fw:metrics:stages"
_DURATIONS = "fw:metrics:durations:"
# A trace is for reading by people: a story that loops through many conflicts keeps its last events only.
_MAX_EVENTS = 50
# Fields of a stage event worth keeping in the trace, besides stage, outcome, duration and reason.
_KEPT = ("method", "other_story_id", "similarity", "revision", "removed", "full_text", "language", "category", "error")

_log = structlog.get_logger("workers.trace")


def _key(story_id: str) -> str:
    return f"fw:trace:{story_id}"


class StoryTrace:
    """The stage events of one story run, written in one round trip when the run ends (`flush`)."""

    def __init__(self, story_id: str, retention_days: float) -> None:
        self.story_id, self.retention_days = story_id, retention_days
        self.events: list[dict[str, Any]] = []

    def add(self, stage: str, fields: dict[str, Any], duration_ms: float) -> None:
        """Keep one stage event (the signature of `logs.stage_event`'s `on_done`)."""
        event: dict[str, Any] = {"at": round(time.time(), 3), "stage": stage, "outcome": fields.get("outcome", "ok")}
        event["duration_ms"] = duration_ms
        if fields.get("reason"):
            event["reason"] = str(fields["reason"])[:500]
        event.update({key: fields[key] for key in _KEPT if fields.get(key) not in (None, "", [])})
        self.events.append(event)

    def flush(self, client: redis.Redis) -> None:
        """Append the kept events to the story's trace and count them in the stage metrics."""
        if not self.events:
            return
        key = _key(self.story_id)
        try:
            with client.pipeline(transaction=False) as pipe:
                pipe.rpush(key, *(orjson.dumps(event, default=str) for event in self.events))
                pipe.ltrim(key, -_MAX_EVENTS, -1)
                pipe.expire(key, int(self.retention_days * 86400))
                for event in self.events:
                    stage, seconds = event["stage"], event["duration_ms"] / 1000
                    pipe.hincrby(_COUNTS, f"{stage}|{event['outcome']}", 1)
                    pipe.hincrby(_DURATIONS + stage, str(bisect.bisect_left(BUCKETS, seconds)), 1)
                    pipe.hincrbyfloat(_DURATIONS + stage, "sum", seconds)
                pipe.execute()
        except redis.RedisError as error:
            _log.warning("trace not recorded", story_id=self.story_id, reason=f"{type(error).__name__}: {error}")
        self.events.clear()


def record_enqueued(client: redis.Redis, story_ids: list[str], poll_id: str | None, retention_days: float) -> None:
    """Start the traces of the stories a poll enqueued (one round trip for the whole poll)."""
    event = {"at": round(time.time(), 3), "stage": "poll", "outcome": "enqueued", "duration_ms": 0.0}
    if poll_id:
        event["reason"] = f"enqueued by poll {poll_id}"
    raw = orjson.dumps(event)
    try:
        with client.pipeline(transaction=False) as pipe:
            for story_id in story_ids:
                pipe.rpush(_key(story_id), raw)
                pipe.expire(_key(story_id), int(retention_days * 86400))
            pipe.hincrby(_COUNTS, "poll|enqueued", len(story_ids))
            pipe.execute()
    except redis.RedisError as error:
        _log.warning("trace not recorded", poll_id=poll_id, stage="poll", reason=f"{type(error).__name__}: {error}")


def story_trace(client: redis.Redis, story_id: str) -> list[dict[str, Any]]:
    """The story's stage events, oldest first, with `at` as an ISO 8601 time; [] when none are kept."""
    events = [orjson.loads(raw) for raw in client.lrange(_key(story_id), 0, -1)]
    for event in events:
        event["at"] = datetime.fromtimestamp(event["at"], UTC).isoformat(timespec="milliseconds")
    return events


def stage_counts(client: redis.Redis) -> dict[tuple[str, str], int]:
    """Stage events so far by (stage, outcome), across every process."""
    counts: dict[tuple[str, str], int] = {}
    for field, value in client.hgetall(_COUNTS).items():
        stage, _, outcome = field.decode().partition("|")
        counts[(stage, outcome)] = int(value)
    return counts


def stage_durations(client: redis.Redis) -> dict[str, tuple[list[tuple[float, int]], float, int]]:
    """Per stage: cumulative histogram buckets [(upper bound in seconds, count)] ending at +inf, sum, count."""
    stages = sorted({stage for stage, _ in stage_counts(client)})
    with client.pipeline(transaction=False) as pipe:
        for stage in stages:
            pipe.hgetall(_DURATIONS + stage)
        rows = pipe.execute()
    result: dict[str, tuple[list[tuple[float, int]], float, int]] = {}
    for stage, row in zip(stages, rows, strict=True):
        values = {key.decode(): value for key, value in row.items()}
        total, cumulative = 0, []
        for index, bound in enumerate((*BUCKETS, float("inf"))):
            total += int(values.get(str(index), 0))
            cumulative.append((bound, total))
        result[stage] = (cumulative, float(values.get("sum", 0.0)), total)
    return result
