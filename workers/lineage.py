"""Why a story is (or is not) published: its stage events from every source, and a one-sentence verdict.

The id an operator has is either a published story's id or the id an entry arrived with (log lines and
`story_id` in every stage event carry it); both work. A story that never got a row (failed, skipped, still
queued) is found through its entry and its trace alone.
"""

from __future__ import annotations

from typing import Any

import redis
from sqlalchemy import select

from workers.report import story_detail
from workers.store.db import transaction
from workers.store.models import Entry
from workers.trace import story_trace

__all__ = ["story_lineage"]


def story_lineage(database_url: str, client: redis.Redis, key: str) -> dict[str, Any] | None:
    """{"id", "story_id", "published", "verdict", "events": [...], "story": detail or None}; None when unknown."""
    detail = story_detail(database_url, key)
    entry_keys = [key]
    duplicate = False
    if detail is not None:
        # `key` may be a prefix (story and entry ids are long): the entry it names is the one asked about.
        asked = next((source for source in detail["sources"] if source["entry_key"].startswith(key)), None)
        if asked is not None:
            key, duplicate = asked["entry_key"], asked["role"] != "primary"
        elif detail["id"].startswith(key):
            key = detail["id"]
        entry_keys = [key, detail["id"], *(source["entry_key"] for source in detail["sources"])]
    events: list[dict[str, Any]] = []
    for entry_key in dict.fromkeys(entry_keys):
        events += [event | {"entry": entry_key} for event in story_trace(client, entry_key)]
    events.sort(key=lambda event: event["at"])
    entry = _entry(database_url, key)
    if detail is None and entry is None and not events:
        return None
    own = [event for event in events if event["entry"] == key]
    return {
        "id": key,
        "story_id": detail["id"] if detail else None,
        "published": bool(detail and detail["status"] == "published"),
        "verdict": _verdict(key, detail, entry, own, duplicate),
        "events": events,
        "story": detail,
    }


def _entry(database_url: str, key: str) -> dict[str, Any] | None:
    with transaction(database_url, readonly=True) as session:
        row = session.scalar(select(Entry).where(Entry.key == key).limit(1))
        if row is None:
            return None
        return {"feed": row.feed_id, "outcome": row.last_outcome, "error": row.last_error, "story_id": row.story_id}


def _verdict(
    key: str,
    detail: dict[str, Any] | None,
    entry: dict[str, Any] | None,
    events: list[dict[str, Any]],
    duplicate: bool,
) -> str:
    last = events[-1] if events else None
    if detail is not None and detail["status"] != "published":
        return f"not published: story {detail['id']} was removed by an editor (a tombstone)"
    if detail is not None and duplicate:
        merge = next((e for e in reversed(events) if e["stage"] == "dedup" and e.get("other_story_id")), None)
        how = f" at similarity {merge['similarity']:.2f}" if merge and merge.get("similarity") is not None else ""
        method = f" ({merge['method']})" if merge and merge.get("method") else ""
        return f"not published on its own: duplicate of story {detail['id']}{how}{method}, linked as a source"
    if detail is not None:
        return f"published as story {detail['id']}, revision {detail['revision']}"
    if last is not None and last["outcome"] == "failed":
        return f"not published: failed in {last['stage']}: {last.get('reason', 'no reason recorded')}"
    if entry is not None and entry["outcome"] == "failed":
        return f"not published: failed: {entry['error'] or 'no reason recorded'}"
    if entry is not None and entry["outcome"] == "skipped" or last is not None and last["outcome"] == "skip":
        reason = next((e.get("reason") for e in reversed(events) if e["stage"] == "dedup"), None)
        return f"not published: skipped by dedup: {reason or entry and entry['error'] or 'no reason recorded'}"
    if last is not None and last["stage"] == "poll":
        return f"not published yet: {last.get('reason', 'enqueued')}, no stage has run (are story workers running?)"
    if last is not None:
        return f"not published yet: last stage {last['stage']} ended '{last['outcome']}'"
    return f"not published: entry {key} was seen but has no stage events (older than the trace retention?)"
