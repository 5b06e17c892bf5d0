"""What an operator sees: queue depths under a known load, workers alive, feed health, totals, story lineage
and the manual refetch's rate limit. Real Redis, real worker, real store, real HTTP feed server."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest

from tests.feeds import Item, numbered, rss, story_text
from tests.helpers import configure, poll_now, stories
from workers import app
from workers.broker import redis_client
from workers.celeryapp import STORIES_QUEUE
from workers.feeds_config import FeedConfig
from workers.lineage import story_lineage
from workers.monitor import status_report
from workers.refetch import RefetchRefused, manual_refetch, poll_result, wait_for_polls
from workers.store.db import transaction
from workers.store.models import Entry, utcnow
from workers.story import Story
from workers.tasks import enqueue_stories


def _feed(report: dict[str, Any], feed_id: str) -> dict[str, Any]:
    return next(feed for feed in report["feeds"] if feed["feed"] == feed_id)


def _control(worker: Any, command: str) -> None:
    reply = getattr(app.control, command)(STORIES_QUEUE, destination=[worker.hostname], reply=True, timeout=10)
    assert reply, f"the worker did not answer {command}"


def _resume_and_drain(settings: Any, worker: Any) -> int:
    """Let the worker consume stories again; return the waiting count once drained (0) or after 30 s."""
    _control(worker, "add_consumer")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        queues = status_report(settings, redis_client())["queues"][STORIES_QUEUE]
        if queues["waiting"] == 0 and queues["in_flight"] == 0:
            return 0
        time.sleep(0.2)
    return int(status_report(settings, redis_client())["queues"][STORIES_QUEUE]["waiting"])


def test_waiting_messages_are_counted_while_the_story_workers_are_paused(settings, worker) -> None:
    configure(settings, FeedConfig(id="paused", url="http://127.0.0.1:9/never.xml"))
    _control(worker, "cancel_consumer")
    try:
        queued = [
            Story(id=f"{n:064x}", feed_id="paused", guid=f"g{n}", url=None, title=f"Meldung {n}",
                  content_html=f"<p>{story_text(str(n))}</p>")
            for n in range(7)
        ]  # fmt: skip
        enqueue_stories(queued)
        time.sleep(1.1)
        queues = status_report(settings, redis_client())["queues"]
        assert queues[STORIES_QUEUE]["waiting"] == 7
        assert queues[STORIES_QUEUE]["oldest_age_seconds"] >= 1.0
    finally:
        drained = _resume_and_drain(settings, worker)
    assert drained == 0


def test_a_running_worker_is_seen_alive_with_its_queues(settings, worker) -> None:
    deadline = time.monotonic() + 10
    seen: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not seen:
        seen = [w for w in status_report(settings, redis_client())["workers"] if w["worker"] == worker.hostname]
        time.sleep(0.2)
    assert seen, "the test worker never appeared in status"
    assert set(seen[0]["queues"]) >= {"feeds", "stories"}
    assert seen[0]["concurrency"] == 4


def test_finished_tasks_are_counted_for_the_worker(settings, worker, feed_server) -> None:
    url = feed_server.serve("/counted.xml", rss(numbered(3, prefix="counted")))
    configure(settings, FeedConfig(id="counted", url=url))
    poll_now(settings, "counted")
    mine = next(w for w in status_report(settings, redis_client())["workers"] if w["worker"] == worker.hostname)
    assert mine["tasks_5m"] >= 4  # one poll and three stories


def test_a_feed_failing_three_times_is_failing(settings, worker, feed_server) -> None:
    url = feed_server.serve("/broken.xml", "server error", status=500, content_type="text/plain")
    configure(settings, FeedConfig(id="broken", url=url))
    states = []
    for _ in range(3):
        poll_now(settings, "broken")
        states.append(_feed(status_report(settings, redis_client()), "broken")["health"])
    assert states == ["degraded", "degraded", "failing"]
    assert _feed(status_report(settings, redis_client()), "broken")["last_status"] == 500


def test_a_healthy_feed_is_ok_and_a_disabled_one_disabled(settings, worker, feed_server) -> None:
    url = feed_server.serve("/fine.xml", rss(numbered(2, prefix="fine")))
    configure(settings, FeedConfig(id="fine", url=url), FeedConfig(id="off", url=url, enabled=False))
    poll_now(settings, "fine")
    report = status_report(settings, redis_client())
    assert (_feed(report, "fine")["health"], _feed(report, "off")["health"]) == ("ok", "disabled")
    assert _feed(report, "fine")["stories_24h"] == 2


def _seen(settings: Any, feed_id: str, hours_ago: list[float]) -> None:
    now = utcnow()
    with transaction(settings.resolved_database_url) as session:
        for number, hours in enumerate(hours_ago):
            at = now - timedelta(hours=hours)
            session.add(Entry(feed_id=feed_id, key=f"{feed_id}-{number}".ljust(64, "0"), first_seen_at=at,
                              last_seen_at=at, last_outcome="new"))  # fmt: skip


@pytest.mark.parametrize(
    ("hours_ago", "quiet"),
    [([10, 9, 8], True), ([3, 2, 1], False), ([30, 20, 10], False), ([9, 8], False)],
    ids=["hourly-feed-silent-8h", "hourly-feed-recent", "ten-hourly-feed-on-rhythm", "too-little-history"],
)
def test_quiet_means_silent_for_much_longer_than_the_usual_rhythm(settings, hours_ago, quiet) -> None:
    configure(settings, FeedConfig(id="rhythm", url="http://127.0.0.1:9/rhythm.xml"))
    _seen(settings, "rhythm", hours_ago)
    assert _feed(status_report(settings, redis_client()), "rhythm")["quiet"] is quiet


def test_totals_count_published_duplicates_and_updates(settings, worker, feed_server) -> None:
    text = story_text("totals", sentences=6)
    first = feed_server.serve("/a.xml", rss([Item("Gleiche Meldung", text, guid="a1"), *numbered(2, prefix="ta")]))
    second = feed_server.serve("/b.xml", rss([Item("Gleiche Meldung", text, guid="b1")]))
    configure(settings, FeedConfig(id="agentur-a", url=first), FeedConfig(id="agentur-b", url=second))
    poll_now(settings, "agentur-a")
    poll_now(settings, "agentur-b")
    feed_server.serve("/a.xml", rss([Item("Gleiche Meldung", text + " Neu: ein Satz mehr.", guid="a1")]))
    poll_now(settings, "agentur-a")
    hour = status_report(settings, redis_client())["totals"]["hour"]
    assert (hour["published"], hour["duplicates"], hour["updated"], hour["failed"]) == (3, 1, 1, 0)


def test_trace_of_a_published_story_shows_every_stage(settings, worker, feed_server) -> None:
    url = feed_server.serve("/traced.xml", rss(numbered(1, prefix="traced")))
    configure(settings, FeedConfig(id="traced", url=url))
    poll_now(settings, "traced")
    story_id = stories(settings, "traced")[0]["id"]
    lineage = story_lineage(settings.resolved_database_url, redis_client(), story_id)
    assert lineage is not None and lineage["published"]
    assert [event["stage"] for event in lineage["events"]] == ["poll", "clean", "dedup", "tag", "publish"]
    assert lineage["verdict"] == f"published as story {story_id}, revision 1"


def test_trace_of_a_duplicate_names_the_story_and_the_similarity(settings, worker, feed_server) -> None:
    text = story_text("lineage", sentences=8)
    first = feed_server.serve("/one.xml", rss([Item("Brand in Mannheim", text, guid="one")]))
    second = feed_server.serve(
        "/two.xml", rss([Item("Brand in Mannheim", text + " Die Polizei ermittelt.", guid="two")])
    )
    configure(settings, FeedConfig(id="one", url=first), FeedConfig(id="two", url=second))
    poll_now(settings, "one")
    poll_now(settings, "two")
    published = stories(settings)
    assert len(published) == 1
    duplicate = next(s["entry_key"] for s in published[0]["sources"] if s["role"] != "primary")
    lineage = story_lineage(settings.resolved_database_url, redis_client(), duplicate)
    assert lineage is not None and lineage["story_id"] == published[0]["id"]
    assert lineage["verdict"].startswith(f"not published on its own: duplicate of story {published[0]['id']} at ")
    assert any(e["stage"] == "dedup" and e["outcome"] == "merge" for e in lineage["events"])


def test_trace_of_a_story_still_queued_says_so(settings, worker) -> None:
    configure(settings, FeedConfig(id="waiting", url="http://127.0.0.1:9/waiting.xml"))
    _control(worker, "cancel_consumer")
    try:
        story = Story(id="e" * 64, feed_id="waiting", guid="w", url=None, title="Wartet", content_html="<p>x</p>",
                      poll_id="p" * 32)  # fmt: skip
        enqueue_stories([story])
        lineage = story_lineage(settings.resolved_database_url, redis_client(), story.id)
        assert lineage is not None
        assert lineage["verdict"].startswith("not published yet: enqueued by poll pppp")
    finally:
        _resume_and_drain(settings, worker)


def test_unknown_id_has_no_lineage(settings) -> None:
    assert story_lineage(settings.resolved_database_url, redis_client(), "f" * 64) is None


def test_a_second_manual_refetch_within_the_window_is_refused_with_the_wait(settings, worker, feed_server) -> None:
    url = feed_server.serve("/limited.xml", rss(numbered(1, prefix="limited")))
    configure(settings, FeedConfig(id="limited", url=url))
    limited = settings.model_copy(update={"refetch_min_seconds": 1.5})
    polls = manual_refetch(limited, ["limited"], trigger="cli")
    with pytest.raises(RefetchRefused) as refused:
        manual_refetch(limited, ["limited"], trigger="cli")
    assert 0 < refused.value.retry_after <= 1.5
    assert "try again in 2 s" in str(refused.value)
    assert wait_for_polls(settings, [polls[0][1]], 30)
    time.sleep(refused.value.retry_after + 0.1)
    assert manual_refetch(limited, ["limited"], trigger="cli")


def test_a_refetch_result_reads_back_by_its_poll_id(settings, worker, feed_server) -> None:
    url = feed_server.serve("/result.xml", rss(numbered(3, prefix="result")))
    configure(settings, FeedConfig(id="result", url=url))
    [(_, poll_id)] = manual_refetch(settings, ["result"], force=True, trigger="api")
    assert wait_for_polls(settings, [poll_id], 30)
    result = poll_result(settings, poll_id)
    assert result is not None
    assert (result["feed"], result["new"], result["errors"], result["done"]) == ("result", 3, 0, True)


def test_refetch_of_an_unknown_feed_names_it(settings) -> None:
    with pytest.raises(ValueError, match="refetch: unknown feed 'nope'"):
        manual_refetch(settings, ["nope"])
