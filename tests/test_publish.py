"""Publishing is idempotent and safe under concurrency, on SQLite and on PostgreSQL."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime

from sqlalchemy import select

from tests.helpers import Entry, StoryRow, configure, count, revisions
from workers.feeds_config import FeedConfig
from workers.pipeline import process_story
from workers.publish import record_failure
from workers.store.db import transaction
from workers.store.models import StoryRevision
from workers.story import Story, story_key


def _story(
    body: str = "<p>BRÜSSEL: Die Minister einigten sich am Dienstag auf neue Regeln für den Handel mit Düngemitteln.</p>",
) -> Story:
    return Story(
        id=story_key("wire-west", "guid-1"),
        feed_id="wire-west",
        guid="guid-1",
        url="https://wire.example/1",
        title="EU-Minister einigen sich auf Düngemittel-Regeln",
        content_html=body,
        fetched_at=datetime.now(UTC).isoformat(),
        source_hash="raw-1",
        poll_id="poll-1",
        language_hint="de",
    )


def _concurrently(count_: int, work) -> list[object]:
    results: list[object] = [None] * count_
    barrier = threading.Barrier(count_)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work()
        except Exception as error:  # noqa: BLE001 - the test inspects it
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count_)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_publishing_the_same_story_twice_stores_one_story_and_one_revision(any_settings):
    configure(any_settings, FeedConfig(id="wire-west", url="https://wire.example/feed.xml"))

    outcomes = [process_story(_story(), any_settings), process_story(_story(), any_settings)]

    assert outcomes == ["new", "skipped"]
    assert count(any_settings, StoryRow) == 1
    assert revisions(any_settings, _story().id) == [1]


def test_the_same_story_published_concurrently_is_stored_once(any_settings):
    configure(any_settings, FeedConfig(id="wire-west", url="https://wire.example/feed.xml"))

    outcomes = _concurrently(6, lambda: process_story(_story(), any_settings))

    assert sorted(map(str, outcomes)) == ["new"] + ["skipped"] * 5
    assert count(any_settings, StoryRow) == 1
    assert count(any_settings, StoryRevision) == 1


def test_the_same_update_published_concurrently_adds_one_revision(any_settings):
    configure(any_settings, FeedConfig(id="wire-west", url="https://wire.example/feed.xml"))
    process_story(_story(), any_settings)
    changed = _story("<p>BRÜSSEL: Die Minister einigten sich am Dienstag nach zwölf Stunden auf neue Regeln.</p>")

    outcomes = _concurrently(6, lambda: process_story(dataclasses.replace(changed, poll_id="poll-2"), any_settings))

    assert sorted(map(str, outcomes)) == ["skipped"] * 5 + ["updated"]
    assert revisions(any_settings, changed.id) == [1, 2]


def test_the_seen_mark_is_written_with_the_story(any_settings):
    """The poll's bulk check finds the entry's raw hash as soon as the story is stored."""
    configure(any_settings, FeedConfig(id="wire-west", url="https://wire.example/feed.xml"))

    process_story(_story(), any_settings)

    with transaction(any_settings.resolved_database_url, readonly=True) as session:
        entry = session.scalars(select(Entry)).one()
    assert (entry.key, entry.story_id, entry.source_hash, entry.last_outcome) == (
        _story().id,
        _story().id,
        "raw-1",
        "new",
    )


def test_a_failed_story_leaves_no_seen_hash_so_the_next_poll_retries_it(any_settings):
    configure(any_settings, FeedConfig(id="wire-west", url="https://wire.example/feed.xml"))

    record_failure(any_settings.resolved_database_url, _story(), "clean: broken body")

    with transaction(any_settings.resolved_database_url, readonly=True) as session:
        entry = session.scalars(select(Entry)).one()
    assert (entry.source_hash, entry.last_outcome, entry.last_error) == (None, "failed", "clean: broken body")
    assert count(any_settings, StoryRow) == 0


def test_a_trivial_change_of_the_raw_entry_adds_no_revision(any_settings):
    """Whitespace and markup changes leave the cleaned text alike: no new revision, but the seen mark moves on."""
    configure(any_settings, FeedConfig(id="wire-west", url="https://wire.example/feed.xml"))
    process_story(_story(), any_settings)
    reformatted = dataclasses.replace(
        _story(
            "<p>BRÜSSEL:  Die Minister einigten sich am Dienstag auf neue Regeln für den Handel mit Düngemitteln.\n</p>"
        ),
        source_hash="raw-2",
        poll_id="poll-2",
    )

    outcome = process_story(reformatted, any_settings)

    assert outcome == "skipped"
    assert revisions(any_settings, reformatted.id) == [1]
    with transaction(any_settings.resolved_database_url, readonly=True) as session:
        assert session.scalars(select(Entry.source_hash)).one() == "raw-2"
