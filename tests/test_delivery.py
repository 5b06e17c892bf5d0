"""Messages through the real broker and worker: redelivery and concurrent duplicates store one story."""

from __future__ import annotations

import time

import pytest

from tests.helpers import StoryRow, configure, count, stories
from tests.test_publish import _story
from workers.feeds_config import FeedConfig
from workers.store.models import StoryRevision
from workers.tasks import enqueue_stories, process_story

pytestmark = pytest.mark.usefixtures("worker")


def _wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def _settled(settings) -> bool:
    from workers.broker import redis_client
    from workers.report import queue_status

    queues = queue_status(redis_client())
    return all(q["waiting"] == 0 and q["in_flight"] == 0 for q in queues.values())


def test_a_redelivered_message_stores_one_story(any_settings):
    """The same message (same task id) delivered twice yields one row and one revision."""
    configure(any_settings, FeedConfig(id="wire-west", url="https://wire.example/feed.xml"))
    message = (_story().to_wire(),)

    process_story.apply_async(message, task_id="same-task-id")
    _wait_for(lambda: count(any_settings, StoryRow) == 1)
    process_story.apply_async(message, task_id="same-task-id")
    _wait_for(lambda: _settled(any_settings))

    assert count(any_settings, StoryRow) == 1
    assert count(any_settings, StoryRevision) == 1


def test_duplicate_messages_handled_at_the_same_moment_store_one_story(any_settings):
    """Eight copies of one story in the queue at once, worked by four threads: one row, one revision."""
    configure(any_settings, FeedConfig(id="wire-west", url="https://wire.example/feed.xml"))

    enqueue_stories([_story()] * 8)
    _wait_for(lambda: count(any_settings, StoryRow) == 1 and _settled(any_settings))

    assert count(any_settings, StoryRow) == 1
    assert count(any_settings, StoryRevision) == 1
    assert stories(any_settings)[0]["title"] == "EU-Minister einigen sich auf Düngemittel-Regeln"
