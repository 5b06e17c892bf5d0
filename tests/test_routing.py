"""Routing on the real broker: polls go to the `feeds` queue, stories to `stories`, each exactly once."""

from __future__ import annotations

import pytest

from tests.test_publish import _story
from workers import app
from workers.report import queue_status
from workers.tasks import poll_feed, process_story


@pytest.fixture
def idle_broker(settings):
    """A Redis database on the test server that no worker consumes, so messages stay where they land."""
    url = settings.redis_url + "?virtual_host=7"
    with app.connection_for_write(url) as connection:
        client = connection.default_channel.client
        client.flushdb()
        # Declared as a worker declares them: on Redis a queue is only reachable once it is bound.
        for queue in app.amqp.queues.values():
            queue(connection.default_channel).declare()
        yield connection, client
        client.flushdb()


def test_a_poll_message_lands_in_the_feeds_queue_only(idle_broker):
    connection, client = idle_broker

    poll_feed.apply_async(("wire-west", "poll-1", False), connection=connection)

    assert queue_status(client) == {"feeds": {"waiting": 1, "in_flight": 0}, "stories": {"waiting": 0, "in_flight": 0}}


def test_each_story_is_one_message_in_the_stories_queue(idle_broker):
    connection, client = idle_broker

    for _ in range(3):
        process_story.apply_async((_story().to_wire(),), connection=connection)

    assert queue_status(client) == {"feeds": {"waiting": 0, "in_flight": 0}, "stories": {"waiting": 3, "in_flight": 0}}
