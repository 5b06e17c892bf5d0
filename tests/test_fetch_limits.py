"""The poller's limits against a real HTTP server: gzip, the body cap, redirects, Retry-After dates."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from tests.feeds import numbered, rss
from tests.helpers import configure, feed_row, poll_now, stories
from workers.feeds_config import FeedConfig

pytestmark = pytest.mark.usefixtures("worker")


@pytest.fixture
def small_cap(settings, monkeypatch):
    """A 64 KiB body cap for the worker (it reads the settings when a poll starts)."""
    from workers.settings import get_settings

    monkeypatch.setenv("FEEDWORKERS_FETCH_MAX_BYTES", str(64 * 1024))
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def test_feeds_are_requested_and_read_gzip_compressed(settings, feed_server):
    url = feed_server.serve("/wire.xml", rss(numbered(3)))
    configure(settings, FeedConfig(id="wire", url=url))

    poll_now(settings, "wire")

    assert "gzip" in feed_server.requests[0].accept_encoding
    assert len(stories(settings)) == 3


def test_a_body_announced_larger_than_the_cap_is_refused(small_cap, feed_server):
    url = feed_server.serve("/big.xml", rss(numbered(400)), gzip=False)
    configure(small_cap, FeedConfig(id="big", url=url))

    summary = poll_now(small_cap, "big")

    assert "over the cap of 65536" in summary["big"]["error"]
    assert stories(small_cap) == []


def test_a_gzip_bomb_is_stopped_at_the_cap_on_decompressed_bytes(small_cap, feed_server):
    """A small compressed body that inflates past the cap is cut off while streaming."""
    bomb = gzip.compress(b'<?xml version="1.0"?><rss version="2.0"><channel>' + b" " * (8 * 1024 * 1024))
    url = feed_server.serve("/bomb.xml", bomb, headers={"Content-Encoding": "gzip"}, gzip=False)
    configure(small_cap, FeedConfig(id="bomb", url=url))

    summary = poll_now(small_cap, "bomb")

    assert len(bomb) < 65536
    assert "exceeds the cap of 65536 bytes (decompressed)" in summary["bomb"]["error"]


def test_a_redirect_loop_stops_after_five_redirects(settings, feed_server):
    feed_server.serve("/loop-a", b"", status=302, headers={"Location": "/loop-b"}, conditional=False)
    url = feed_server.serve("/loop-b", b"", status=302, headers={"Location": "/loop-a"}, conditional=False)
    configure(settings, FeedConfig(id="loop", url=url))

    summary = poll_now(settings, "loop")

    assert "redirected more than 5 times" in summary["loop"]["error"]
    assert feed_server.hits("/loop-a") + feed_server.hits("/loop-b") == 6


def test_a_redirect_to_another_scheme_is_refused(settings, feed_server):
    url = feed_server.serve("/away", b"", status=302, headers={"Location": "file:///etc/passwd"}, conditional=False)
    configure(settings, FeedConfig(id="away", url=url))

    summary = poll_now(settings, "away")

    assert "only http and https redirects are followed" in summary["away"]["error"]
    assert stories(settings) == []


def test_a_followed_redirect_stores_the_stories(settings, feed_server):
    feed_server.serve("/new.xml", rss(numbered(2)))
    url = feed_server.serve("/old.xml", b"", status=301, headers={"Location": "/new.xml"}, conditional=False)
    configure(settings, FeedConfig(id="moved", url=url))

    poll_now(settings, "moved")

    assert len(stories(settings)) == 2


def test_retry_after_as_an_http_date_is_honoured(settings, feed_server):
    when = datetime.now(UTC) + timedelta(minutes=20)
    url = feed_server.serve(
        "/busy.xml", b"busy", status=429, headers={"Retry-After": format_datetime(when, usegmt=True)}
    )
    configure(settings, FeedConfig(id="busy", url=url, interval=30))

    poll_now(settings, "busy")

    next_poll = feed_row(settings, "busy").next_poll_at
    assert when - timedelta(seconds=5) <= next_poll <= when + timedelta(seconds=60)
