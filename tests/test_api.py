"""The HTTP API served for real: uvicorn on 127.0.0.1, httpx as the client, the real worker, Redis and store.

TestClient would skip the parts that break in production (the server, its thread pool, real sockets), so
every test here talks to a running server.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvicorn

from tests.feeds import Item, numbered, rss, story_text
from tests.helpers import configure, poll_now
from workers.api import create_app
from workers.feeds_config import FeedConfig

TOKEN = "test-token-" + uuid.uuid4().hex


@contextmanager
def serving(settings: Any) -> Iterator[str]:
    """The app for `settings` served by uvicorn in a thread on a free port; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(create_app(settings), log_config=None, access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start within 10 s"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@contextmanager
def api(settings: Any, token: str | None = TOKEN) -> Iterator[httpx.Client]:
    """An httpx client on a running app whose settings carry `token` as FEEDWORKERS_API_TOKEN."""
    with (
        serving(settings.model_copy(update={"api_token": token})) as base,
        httpx.Client(base_url=base, timeout=15) as client,
    ):
        yield client


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def unique_feed(prefix: str) -> str:
    """Feed ids per test: the refetch rate limit lives in Redis and outlasts a test's store."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def wait_done(client: httpx.Client, result_url: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = client.get(result_url)
        assert result.status_code == 200, result.text
        if result.json()["done"]:
            return result.json()
        time.sleep(0.1)
    pytest.fail(f"{result_url} was not done after {timeout} s: {result.json()}")


def test_healthz_answers_ok_when_redis_and_store_answer(settings):
    with api(settings) as client:
        answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"redis": "ok", "store": "ok"}


def test_write_endpoints_are_off_without_a_token_and_need_the_right_one(settings, feed_server):
    feed = unique_feed("auth")
    configure(settings, FeedConfig(id=feed, url=feed_server.serve("/auth.xml", rss(numbered(1)))))

    with api(settings, token=None) as client:
        off = client.post(f"/api/feeds/{feed}/disable", headers=auth())
        assert off.status_code == 403
        assert off.json()["detail"] == "write endpoints are off: set FEEDWORKERS_API_TOKEN"
        assert client.get("/api/feeds").status_code == 200, "reads stay open"

    with api(settings) as client:
        for headers in ({}, auth("wrong"), {"Authorization": f"Basic {TOKEN}"}):
            refused = client.post(f"/api/feeds/{feed}/disable", headers=headers)
            assert refused.status_code == 401, headers
            assert refused.headers["WWW-Authenticate"] == "Bearer"
            assert "FEEDWORKERS_API_TOKEN" in refused.json()["detail"]
        disabled = client.post(f"/api/feeds/{feed}/disable", headers=auth())
        assert disabled.status_code == 200
        assert disabled.json()["enabled"] is False
        listed = {row["feed"]: row for row in client.get("/api/feeds").json()}
        assert listed[feed]["enabled"] is False and listed[feed]["health"] == "disabled"
        assert client.post(f"/api/feeds/{feed}/enable", headers=auth()).json()["enabled"] is True
        assert client.post("/api/feeds/no-such-feed/enable", headers=auth()).status_code == 404
    assert feed_server.hits("/auth.xml") == 0, "nothing was polled"


@pytest.mark.usefixtures("worker")
def test_refetch_returns_a_poll_whose_result_reads_back_then_rate_limits(settings, feed_server):
    feed, other = unique_feed("api-wire"), unique_feed("api-other")
    configure(
        settings,
        FeedConfig(id=feed, url=feed_server.serve("/api-wire.xml", rss(numbered(3, prefix="api")))),
        FeedConfig(id=other, url=feed_server.serve("/api-other.xml", rss(numbered(1, prefix="other")))),
    )

    with api(settings) as client:
        accepted = client.post(f"/api/feeds/{feed}/refetch", headers=auth())
        assert accepted.status_code == 202, accepted.text
        body = accepted.json()
        assert body["feed"] == feed and body["result_url"] == f"/api/polls/{body['poll_id']}"
        result = wait_done(client, body["result_url"])
        assert (result["feed"], result["new"], result["errors"], result["pending"]) == (feed, 3, 0, 0)
        assert feed_server.hits("/api-wire.xml") == 1

        again = client.post(f"/api/feeds/{feed}/refetch", headers=auth())
        assert again.status_code == 429
        retry_after = int(again.headers["Retry-After"])
        assert 1 <= retry_after <= settings.refetch_min_seconds
        assert f"try again in {retry_after} s" in again.json()["detail"]

        batch = client.post("/api/refetch", headers=auth(), json={"feeds": [feed, other]})
        assert batch.status_code == 202, batch.text
        assert [row["feed"] for row in batch.json()["accepted"]] == [other]
        assert [(row["feed"], row["retry_after"] <= retry_after) for row in batch.json()["refused"]] == [(feed, True)]
        assert wait_done(client, batch.json()["accepted"][0]["result_url"])["new"] == 1

        unknown = client.post("/api/feeds/no-such-feed/refetch", headers=auth())
        assert unknown.status_code == 404 and "no-such-feed" in unknown.json()["detail"]
        assert client.get("/api/polls/0000").status_code == 404
    assert feed_server.hits("/api-wire.xml") == 1, "the refused refetches fetched nothing"


@pytest.mark.usefixtures("worker")
def test_stories_filter_by_text_and_a_story_shows_sources_and_trace(settings, feed_server):
    items = [
        Item("Stadtwerke erhöhen die Fernwärmepreise", story_text("api-q-1"), guid="q-1", link="https://f.example/1"),
        Item("Zoo begrüßt zwei Erdmännchen", story_text("api-q-2") + "<p>Ein Okapi zieht ein.</p>", guid="q-2",
             link="https://f.example/2"),
    ]  # fmt: skip
    feed = unique_feed("search")
    configure(settings, FeedConfig(id=feed, url=feed_server.serve("/search.xml", rss(items))))
    poll_now(settings, feed)

    with api(settings) as client:
        assert len(client.get("/api/stories").json()) == 2
        by_title = client.get("/api/stories", params={"q": "FERNWÄRME"}).json()
        assert [s["title"] for s in by_title] == ["Stadtwerke erhöhen die Fernwärmepreise"]
        by_body = client.get("/api/stories", params={"q": "okapi", "feed": feed}).json()
        assert [s["title"] for s in by_body] == ["Zoo begrüßt zwei Erdmännchen"]
        assert client.get("/api/stories", params={"q": "100%_sicher"}).json() == [], "no LIKE wildcards"
        assert client.get("/api/stories", params={"since": "2999-01-01T00:00:00Z"}).json() == []
        bad = client.get("/api/stories", params={"since": "yesterday"})
        assert bad.status_code == 422 and bad.json()["detail"].startswith("since: ")

        detail = client.get(f"/api/stories/{by_body[0]['id']}").json()
        assert [source["entry_key"] for source in detail["sources"]] == [by_body[0]["id"]]
        assert detail["sources"][0]["role"] == "primary"
        stages = [event["stage"] for event in detail["trace"]]
        assert stages[0] == "poll" and {"clean", "dedup", "tag", "publish"} <= set(stages), stages
        assert detail["verdict"].startswith("published")
        missing = client.get("/api/stories/does-not-exist")
        assert missing.status_code == 404 and "does-not-exist" in missing.json()["detail"]


@pytest.mark.usefixtures("worker")
def test_metrics_expose_every_family_without_story_ids(settings, feed_server):
    feed = unique_feed("metrics")
    configure(settings, FeedConfig(id=feed, url=feed_server.serve("/metrics.xml", rss(numbered(2, prefix="m")))))
    poll_now(settings, feed)

    with api(settings) as client:
        answer = client.get("/metrics")
        ids = [story["id"] for story in client.get("/api/stories").json()]
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    text = answer.text
    for family in (
        "feedworkers_stories_total", "feedworkers_stage_duration_seconds", "feedworkers_queue_messages",
        "feedworkers_queue_oldest_age_seconds", "feedworkers_feeds", "feedworkers_workers_alive",
        "feedworkers_dead_letters",
    ):  # fmt: skip
        assert f"# TYPE {family} " in text, family
    assert 'feedworkers_stories_total{outcome="new",stage="publish"}' in text
    assert 'feedworkers_stage_duration_seconds_bucket{le="+Inf",stage="clean"}' in text
    for state in ("ok", "degraded", "failing", "disabled"):
        assert f'feedworkers_feeds{{health="{state}"}}' in text
    assert 'feedworkers_queue_messages{queue="stories",state="in_flight"}' in text
    assert len(ids) == 2
    assert not any(story_id in text or story_id[:12] in text for story_id in ids)
    assert feed not in text, "no feed ids as labels either"


def test_feeds_can_be_added_and_removed_through_the_api(settings):
    entry = {"id": unique_feed("runtime"), "url": "https://news.example/feed.xml", "interval": 120, "language": "de"}
    with api(settings) as client:
        added = client.post("/api/feeds", headers=auth(), json=entry)
        assert added.status_code == 201, added.text
        assert added.json()["origin"] == "runtime"
        assert client.post("/api/feeds", headers=auth(), json=entry).status_code == 400, "the id is taken"
        invalid = client.post("/api/feeds", headers=auth(), json=entry | {"id": "x-1", "interval": 1})
        assert invalid.status_code == 400 and "interval" in invalid.json()["detail"]
        unknown_field = client.post("/api/feeds", headers=auth(), json=entry | {"id": "x-2", "colour": "red"})
        assert unknown_field.status_code == 400 and "colour" in unknown_field.json()["detail"]
        assert entry["id"] in {row["feed"] for row in client.get("/api/feeds").json()}
        assert client.delete(f"/api/feeds/{entry['id']}", headers=auth()).status_code == 200
        assert client.delete(f"/api/feeds/{entry['id']}", headers=auth()).status_code == 404
        assert client.delete(f"/api/feeds/{entry['id']}").status_code == 401


def test_openapi_lists_every_endpoint(settings):
    with api(settings) as client:
        schema = client.get("/openapi.json").json()
        docs = client.get("/docs")
    assert schema["info"]["title"] == "feedworkers" and schema["info"]["version"]
    assert {
        "/healthz", "/api/status", "/api/feeds", "/api/stories", "/api/stories/{story_id}", "/api/refetch",
        "/api/feeds/{feed_id}/refetch", "/api/polls/{poll_id}", "/api/feeds/{feed_id}/enable",
        "/api/feeds/{feed_id}/disable", "/api/feeds/{feed_id}", "/metrics",
    } <= set(schema["paths"])  # fmt: skip
    assert schema["paths"]["/api/feeds/{feed_id}/refetch"]["post"]["security"], "writes declare the bearer token"
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
