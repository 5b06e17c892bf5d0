"""Bad input on real parts: one broken feed shows a clear error and harms neither other feeds nor stored stories.

Every case starts from two feeds, "good" and "bad", whose first stories are already stored; the bad one then
turns bad and both are polled together.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from tests.feeds import Item, numbered, rss
from tests.helpers import configure, feed_row, poll_now, stories
from workers.feeds_config import FeedConfig
from workers.store.models import utcnow

pytestmark = pytest.mark.usefixtures("worker")

GOOD_FIRST = numbered(2, prefix="good")
GOOD_NEXT = numbered(1, prefix="good", start=3)
BAD_FIRST = numbered(2, prefix="bad")
# Short, so a Retry-After longer than the backoff is visible in next_poll_at.
BAD_INTERVAL = 30


def _refused_url() -> str:
    """A 127.0.0.1 URL on which nothing listens (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/feed.xml"


def _feeds(good_url: str, bad_url: str) -> tuple[FeedConfig, FeedConfig]:
    return FeedConfig(id="good", url=good_url), FeedConfig(id="bad", url=bad_url, interval=BAD_INTERVAL)


def _both_feeds_stored(settings: Any, feed_server: Any) -> dict[str, dict[str, Any]]:
    """Store the first stories of both feeds, give the good feed one more story; return the stored stories by id."""
    configure(
        settings,
        *_feeds(feed_server.serve("/good.xml", rss(GOOD_FIRST)), feed_server.serve("/bad.xml", rss(BAD_FIRST))),
    )
    first = poll_now(settings, "good", "bad")
    assert (first["good"]["new"], first["bad"]["new"]) == (2, 2), first
    feed_server.serve("/good.xml", rss(GOOD_FIRST + GOOD_NEXT))
    return {story["id"]: story for story in stories(settings)}


def _assert_good_feed_and_stored_stories_unharmed(
    settings: Any, summary: dict[str, Any], before: dict[str, dict[str, Any]]
) -> None:
    assert (summary["good"]["new"], summary["good"]["errors"], summary["good"]["error"]) == (1, 0, None), summary[
        "good"
    ]
    after = {story["id"]: story for story in stories(settings)}
    assert "good-3" in {story["guid"] for story in after.values()}
    assert {story_id: after.get(story_id) for story_id in before} == before


def _entity_document() -> bytes:
    body = rss(
        BAD_FIRST
        + [Item(title="Meldung XENT", body="<p>Text.</p>", guid="bad-entity", link="https://feed.example/bad/e")]
    )
    declaration, rest = body.split(b"?>", 1)
    return declaration + b'?>\n<!DOCTYPE rss [<!ENTITY x "y">]>' + rest.replace(b"XENT", b"&x;")


@dataclass(frozen=True)
class Broken:
    """How the bad feed fails, and what its status must then say."""

    body: bytes | None  # None: nothing listens at the feed's URL
    says: str
    last_status: int | None
    status: int = 200
    content_type: str = "application/rss+xml"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    enabled: bool = True  # a feed that is gone for good (410) is switched off; any other failure is retried

    @property
    def stage(self) -> str:
        return self.says.split(":", 1)[0] + ":"


BROKEN = [
    pytest.param(
        Broken(None, "fetch: feed 'bad' could not be fetched from http://127.0.0.1:", None), id="connection-refused"
    ),
    pytest.param(Broken(rss(BAD_FIRST), "fetch: feed 'bad' timed out", None, delay=8), id="stalled-server-times-out"),
    pytest.param(
        Broken(
            b"gone",
            "fetch: feed 'bad' returned HTTP 404 (the URL does not exist",
            404,
            status=404,
            content_type="text/plain",
        ),
        id="http-404",
    ),
    pytest.param(
        Broken(
            b"gone",
            "fetch: feed 'bad' is gone (HTTP 410); disabled",
            410,
            status=410,
            content_type="text/plain",
            enabled=False,
        ),
        id="http-410",
    ),
    pytest.param(
        Broken(b"oops", "fetch: feed 'bad' returned HTTP 500", 500, status=500, content_type="text/plain"),
        id="http-500",
    ),
    pytest.param(
        Broken(
            b"busy",
            "fetch: feed 'bad' returned HTTP 503",
            503,
            status=503,
            content_type="text/plain",
            headers={"Retry-After": "120"},
        ),
        id="http-503",
    ),
    pytest.param(
        Broken(
            b"<!DOCTYPE html><html><head><title>Startseite</title></head><body><p>Willkommen</p></body></html>",
            "parse: feed 'bad' is not a feed: an HTML document",
            200,
            content_type="text/html; charset=utf-8",
        ),
        id="html-page-instead-of-feed",
    ),
    pytest.param(
        Broken(b"<<<garbage", "parse: feed 'bad' is not a feed: no RSS or Atom root element", 200), id="garbage-not-xml"
    ),
    pytest.param(Broken(b"  \n", "parse: feed 'bad' is an empty document", 200), id="empty-document"),
    pytest.param(Broken(_entity_document(), "parse: feed 'bad' declares XML entities", 200), id="entity-declaration"),
]


def _break(settings: Any, feed_server: Any, broken: Broken) -> None:
    if broken.body is None:
        configure(settings, *_feeds(feed_server.url("/good.xml"), _refused_url()))
        return
    feed_server.serve(
        "/bad.xml",
        broken.body,
        status=broken.status,
        content_type=broken.content_type,
        headers=broken.headers,
        delay=broken.delay,
    )


@pytest.mark.parametrize("broken", BROKEN)
def test_a_failing_feed_shows_a_clear_error_and_harms_nothing_else(settings, feed_server, broken):
    """A feed that cannot be fetched or parsed fails alone, with an error naming it, and no stored story changes."""
    before = _both_feeds_stored(settings, feed_server)
    _break(settings, feed_server, broken)

    summary = poll_now(settings, "good", "bad")

    bad = feed_row(settings, "bad")
    assert bad.last_error is not None and bad.last_error.startswith(broken.stage), bad.last_error
    assert broken.says in bad.last_error
    assert (bad.consecutive_errors, bad.last_status, bad.enabled) == (1, broken.last_status, broken.enabled)
    assert summary["bad"]["error"] == bad.last_error
    assert summary["bad"]["status"] == (f"failed (HTTP {broken.last_status})" if broken.last_status else "failed")
    assert (summary["bad"]["new"], summary["bad"]["updated"], summary["bad"]["errors"]) == (0, 0, 1)
    assert len(stories(settings, "bad")) == len(BAD_FIRST)
    _assert_good_feed_and_stored_stories_unharmed(settings, summary, before)


@pytest.mark.parametrize(
    ("status", "retry_after", "earliest", "latest"),
    [
        pytest.param(500, None, BAD_INTERVAL - 5, BAD_INTERVAL + 5, id="500-backs-off-one-interval"),
        pytest.param(503, "120", 115, 130, id="503-honours-retry-after"),
    ],
)
def test_a_server_error_schedules_the_next_poll_no_sooner_than_the_server_asked(
    settings, feed_server, status, retry_after, earliest, latest
):
    """After a 5xx the next poll waits the backoff, or the server's longer Retry-After."""
    configure(settings, *_feeds(feed_server.serve("/good.xml", rss(GOOD_FIRST)), feed_server.url("/bad.xml")))
    feed_server.serve(
        "/bad.xml",
        b"busy",
        status=status,
        content_type="text/plain",
        headers={"Retry-After": retry_after} if retry_after else {},
    )

    poll_now(settings, "bad")

    bad = feed_row(settings, "bad")
    assert bad.next_poll_at is not None
    ahead = bad.next_poll_at - utcnow()
    assert timedelta(seconds=earliest) <= ahead <= timedelta(seconds=latest), ahead


def _rss_with(items: list[Item], *replacements: tuple[bytes, bytes]) -> bytes:
    body = rss(items)
    for old, new in replacements:
        assert old in body
        body = body.replace(old, new)
    return body


AMPERSAND = Item(
    title="Müller XAMP Söhne eröffnen Filiale",
    body="<p>Müller XAMP Söhne eröffnen am Markt.</p>",
    guid="bad-3",
    link="https://feed.example/bad/3",
)
UNCLOSED = Item(
    title="Neue Meldung aus dem Rathaus",
    body="<p>Der Rat tagt erneut.</p>",
    guid="bad-3",
    link="https://feed.example/bad/3",
)
LATIN1 = Item(
    title="Müller Straße Grüße",
    body="<p>Grüße aus der Müller Straße, sagte Jürgen Weiß.</p>",
    guid="bad-3",
    link="https://feed.example/bad/3",
)
NO_IDENTITY = Item(title="Meldung ohne Kennung", body="<p>Diese Meldung hat weder guid noch link.</p>")
NOTHING = Item(title="", body="")


@dataclass(frozen=True)
class Degraded:
    """A flawed document the bad feed still yields stories from."""

    body: bytes
    new_titles: set[str]
    warning: str | None  # the start of the feed's last_error, None for no error at all
    skipped: int = len(BAD_FIRST)  # entries already stored come back unchanged and count as skipped


DEGRADED = [
    pytest.param(
        Degraded(
            _rss_with(BAD_FIRST + [AMPERSAND], (b"XAMP", b"&")),
            {"Müller & Söhne eröffnen Filiale"},
            "parse: feed 'bad' is not well-formed XML",
        ),
        id="malformed-bare-ampersand",
    ),
    pytest.param(
        Degraded(
            _rss_with(BAD_FIRST + [UNCLOSED], (b"<pubDate>", b"<category>Lokales<pubDate>")),
            {UNCLOSED.title},
            "parse: feed 'bad' is not well-formed XML",
        ),
        id="malformed-unclosed-tag",
    ),
    pytest.param(
        Degraded(
            rss(BAD_FIRST + [LATIN1]).decode("utf-8").encode("iso-8859-1", "xmlcharrefreplace"), {LATIN1.title}, None
        ),
        id="latin-1-body-declared-utf-8",
    ),
    pytest.param(Degraded(rss([]), set(), None, skipped=0), id="valid-feed-with-no-items"),
    pytest.param(
        Degraded(rss(BAD_FIRST + [NO_IDENTITY, NOTHING]), {NO_IDENTITY.title}, None, skipped=len(BAD_FIRST) + 1),
        id="entry-without-guid-or-link-and-an-empty-entry",
    ),
]


@pytest.mark.parametrize("degraded", DEGRADED)
def test_a_flawed_feed_still_yields_its_readable_stories_and_harms_nothing_else(settings, feed_server, degraded):
    """A feed with recoverable flaws stores what it can, readably, without failing and without changing stored stories."""
    before = _both_feeds_stored(settings, feed_server)
    feed_server.serve("/bad.xml", degraded.body)

    summary = poll_now(settings, "good", "bad")

    bad = feed_row(settings, "bad")
    assert (bad.consecutive_errors, bad.last_status) == (0, 200)
    if degraded.warning is None:
        assert bad.last_error is None
    else:
        assert bad.last_error is not None and bad.last_error.startswith(degraded.warning), bad.last_error
    assert (summary["bad"]["new"], summary["bad"]["updated"], summary["bad"]["errors"]) == (
        len(degraded.new_titles),
        0,
        0,
    ), summary["bad"]
    assert summary["bad"]["skipped"] == degraded.skipped
    published = stories(settings, "bad")
    new = [story for story in published if story["id"] not in before]
    assert {story["title"] for story in new} == degraded.new_titles
    assert not any("\ufffd" in (story["title"] + story["body_text"]) for story in published)
    _assert_good_feed_and_stored_stories_unharmed(settings, summary, before)


def test_an_entry_without_guid_or_link_is_stored_without_them(settings, feed_server):
    """An entry with only a title and a body is published, with no guid and no URL."""
    configure(settings, FeedConfig(id="bad", url=feed_server.serve("/bad.xml", rss([NO_IDENTITY]))))

    poll_now(settings, "bad")

    [story] = stories(settings, "bad")
    assert (story["title"], story["guid"], story["url"]) == (NO_IDENTITY.title, None, None)
    assert "weder guid noch link" in story["body_text"]


def test_the_worker_keeps_working_after_bad_feeds(settings, feed_server):
    """After a round of failing feeds the same worker still publishes a good feed's new story."""
    good_url = feed_server.serve("/good.xml", rss(GOOD_FIRST))
    configure(
        settings,
        FeedConfig(id="good", url=good_url),
        FeedConfig(id="refused", url=_refused_url()),
        FeedConfig(id="garbage", url=feed_server.serve("/garbage.xml", b"<<<garbage")),
        FeedConfig(
            id="server-error", url=feed_server.serve("/error.xml", b"oops", status=500, content_type="text/plain")
        ),
        FeedConfig(id="entities", url=feed_server.serve("/entities.xml", _entity_document())),
    )
    failed = poll_now(settings, "refused", "garbage", "server-error", "entities")
    assert {feed: row["errors"] for feed, row in failed.items()} == dict.fromkeys(
        ("refused", "garbage", "server-error", "entities"), 1
    )

    first = poll_now(settings, "good")
    feed_server.serve("/good.xml", rss(GOOD_FIRST + GOOD_NEXT))
    second = poll_now(settings, "good")

    assert (first["good"]["new"], second["good"]["new"]) == (2, 1)
    assert {story["guid"] for story in stories(settings, "good")} == {"good-1", "good-2", "good-3"}
