"""Concurrency: near-duplicates and redelivered messages handled at the same moment publish one story.

The decision is serialised in the database (the story's index bands are locked on PostgreSQL; SQLite has
one writer at a time) and re-checked under that lock, so two workers cannot both find "nothing similar"
and publish twice. Redis locks play no part in it.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.helpers import Entry, StoryRow, configure, count, revisions
from workers.feeds_config import FeedConfig
from workers.pipeline import process_story
from workers.store.db import transaction
from workers.store.models import StoryRevision
from workers.story import Story, story_key
from workers.tasks import enqueue_stories

CORPUS = json.loads((Path(__file__).parent / "data" / "corpus" / "labels.json").read_text(encoding="utf-8"))
RECORDS = {record["id"]: record for record in CORPUS["stories"]}
# Every original/rewrite pair of the labelled corpus: the same dispatch from two agencies.
REWRITE_PAIRS = [
    (group["members"][0]["record"], member["record"])
    for group in CORPUS["dup_groups"]
    if group["kind"] == "rewrite"
    for member in group["members"][1:]
]


def _story(feed_id: str, record_id: str, *, body: str | None = None) -> Story:
    record = RECORDS[record_id]
    paragraphs = record["clean_text"].split("\n\n")
    return Story(
        id=story_key(feed_id, record["guid"]),
        feed_id=feed_id,
        guid=record["guid"],
        url=record["link"],
        title=record["title"],
        content_html=body or "".join(f"<p>{p}</p>" for p in paragraphs),
        fetched_at=datetime.now(UTC).isoformat(),
        source_hash=f"raw-{record_id}",
        poll_id="poll-1",
        language_hint="de",
    )


def _at_once(*work: Any) -> list[object]:
    """Run each callable in its own thread, all released by one barrier; return results or exceptions."""
    results: list[object] = [None] * len(work)
    barrier = threading.Barrier(len(work))

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work[index]()
        except Exception as error:  # noqa: BLE001 - the test inspects it
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


def _configure_two_agencies(settings: Any) -> None:
    configure(
        settings,
        FeedConfig(id="agentur-a", url="https://a.example/feed.xml"),
        FeedConfig(id="agentur-b", url="https://b.example/feed.xml"),
    )


def _wait_for_entries(settings: Any, expected: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with transaction(settings.resolved_database_url, readonly=True) as session:
            done = session.scalar(select(func.count()).select_from(Entry).where(Entry.last_outcome.is_not(None)))
        if done >= expected:
            return
        time.sleep(0.1)
    pytest.fail(f"only {done} of {expected} stories were processed in {timeout} s")


@pytest.mark.parametrize(("original", "rewrite"), REWRITE_PAIRS, ids=[f"{a[4:]}+{b[4:]}" for a, b in REWRITE_PAIRS])
def test_two_workers_deciding_on_two_near_duplicates_at_once_publish_one_story(any_settings, original, rewrite):
    _configure_two_agencies(any_settings)

    outcomes = _at_once(
        lambda: process_story(_story("agentur-a", original), any_settings),
        lambda: process_story(_story("agentur-b", rewrite), any_settings),
    )

    assert sorted(map(str, outcomes)) == ["merged", "new"], outcomes
    assert count(any_settings, StoryRow) == 1
    with transaction(any_settings.resolved_database_url, readonly=True) as session:
        linked = session.scalars(select(Entry.story_id)).all()
    assert len(linked) == 2 and len(set(linked)) == 1, "both entries are sources of the one story"


@pytest.mark.usefixtures("worker")
def test_near_duplicates_released_at_once_to_the_worker_pool_publish_one_story_each(any_settings):
    """All rewrite pairs enqueued in one go: the worker's threads take them at the same moment."""
    _configure_two_agencies(any_settings)
    pairs = [story for a, b in REWRITE_PAIRS for story in (_story("agentur-a", a), _story("agentur-b", b))]
    messages = list({story.id: story for story in pairs}.values())

    enqueue_stories(messages)
    _wait_for_entries(any_settings, len(messages))

    assert count(any_settings, StoryRow) == len(
        {group["id"] for group in CORPUS["dup_groups"] if group["kind"] == "rewrite"}
    )


def test_the_same_message_handled_twice_at_once_yields_one_story_and_one_revision(any_settings):
    _configure_two_agencies(any_settings)
    story = _story("agentur-a", REWRITE_PAIRS[0][0])

    outcomes = _at_once(*(lambda: process_story(story, any_settings) for _ in range(4)))

    assert sorted(map(str, outcomes)) == ["new", "skipped", "skipped", "skipped"], outcomes
    assert count(any_settings, StoryRow) == 1
    assert revisions(any_settings, story.id) == [1]


def test_the_same_update_handled_twice_at_once_adds_one_revision(any_settings):
    _configure_two_agencies(any_settings)
    first = _story("agentur-a", REWRITE_PAIRS[0][0])
    process_story(first, any_settings)
    changed = _story(
        "agentur-a", REWRITE_PAIRS[0][0], body=first.content_html + "<p>Der Bauernverband begrüßte die Einigung.</p>"
    )
    changed.source_hash = "raw-changed"

    outcomes = _at_once(*(lambda: process_story(changed, any_settings) for _ in range(3)))

    assert sorted(map(str, outcomes)) == ["skipped", "skipped", "updated"], outcomes
    assert revisions(any_settings, first.id) == [1, 2]
    with transaction(any_settings.resolved_database_url, readonly=True) as session:
        body = session.scalar(select(StoryRow.body_text).where(StoryRow.id == first.id))
        assert session.scalar(select(func.count()).select_from(StoryRevision)) == 2
    assert body.endswith("Der Bauernverband begrüßte die Einigung.")
