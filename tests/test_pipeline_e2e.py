"""End to end on real parts: HTTP feed server → poll → Redis → Celery worker → store."""

from __future__ import annotations

import pytest

from tests.feeds import Item, numbered, rss
from tests.helpers import STORY_FIELDS, StoryRow, configure, count, poll_now, revisions, stories
from workers.feeds_config import FeedConfig

pytestmark = pytest.mark.usefixtures("worker")

FIELDS = STORY_FIELDS


def test_every_story_of_a_feed_is_published_with_all_fields(settings, feed_server):
    """A feed of N stories ends as N published stories carrying every documented field."""
    url = feed_server.serve("/wire.xml", rss(numbered(12)))
    configure(
        settings, FeedConfig(id="wire-west", url=url, attribution="Unredigierte Agenturmeldung.", tags=("agentur",))
    )

    summary = poll_now(settings, "wire-west")

    assert summary["wire-west"]["new"] == 12
    published = stories(settings, "wire-west")
    assert len(published) == 12
    for story in published:
        assert FIELDS <= story.keys()
        assert story["language"] == "de"
        assert story["tags"][0] == "agentur", "the feed's tags come first, then the rules'"
        assert story["attribution"] == "Unredigierte Agenturmeldung."
        assert story["revision"] == 1
        assert story["published_at"].startswith("2026-11-24T08:00:00")
        assert "<" not in story["body_text"] and len(story["body_text"].split("\n\n")) == 4
    assert {s["guid"] for s in published} == {f"story-{n}" for n in range(1, 13)}


def test_second_poll_gets_a_304_and_enqueues_nothing(settings, feed_server):
    """The poller sends the validators it was given; a 304 enqueues no message at all."""
    url = feed_server.serve("/wire.xml", rss(numbered(5)))
    configure(settings, FeedConfig(id="wire-west", url=url))
    poll_now(settings, "wire-west")

    summary = poll_now(settings, "wire-west")

    assert feed_server.hits("/wire.xml", status=304) == 1
    assert summary["wire-west"]["status"] == "not modified (304)"
    assert (summary["wire-west"]["new"], summary["wire-west"]["updated"]) == (0, 0)
    assert count(settings, StoryRow) == 5


def test_unchanged_body_without_validators_enqueues_nothing(settings, feed_server):
    """A server that ignores conditional GET still costs no story work when the body is the same."""
    url = feed_server.serve("/plain.xml", rss(numbered(4)), conditional=False)
    configure(settings, FeedConfig(id="plain", url=url))
    poll_now(settings, "plain")

    summary = poll_now(settings, "plain")

    assert summary["plain"]["status"] == "unchanged"
    assert feed_server.hits("/plain.xml", status=200) == 2


def test_a_changed_entry_becomes_revision_2_and_the_others_stay_untouched(settings, feed_server):
    items = numbered(4)
    url = feed_server.serve("/wire.xml", rss(items))
    configure(settings, FeedConfig(id="wire-west", url=url))
    poll_now(settings, "wire-west")
    before = {s["guid"]: s for s in stories(settings)}

    items[1].body += "<p>Nachtrag: Die Sitzung wurde um eine Stunde verlängert.</p>"
    feed_server.serve("/wire.xml", rss(items))
    summary = poll_now(settings, "wire-west")

    after = {s["guid"]: s for s in stories(settings)}
    assert (summary["wire-west"]["updated"], summary["wire-west"]["new"]) == (1, 0)
    assert after["story-2"]["revision"] == 2
    assert "Nachtrag" in after["story-2"]["body_text"]
    assert revisions(settings, after["story-2"]["id"]) == [1, 2]
    for guid in ("story-1", "story-3", "story-4"):
        assert after[guid] == before[guid]


WIRE_STORY = Item(
    guid="ndw-48311",
    link="https://www.ndw.example/meldungen/2026/11/24/eu-duengemittel-48311.html",
    title="EU-Agrarminister einigen sich auf strengere Regeln für Düngemittel-Importe",
    body=(
        "<p><strong>Pressemitteilung</strong></p>"
        "<p>BRÜSSEL: Die Agrarminister der Europäischen Union haben sich am Dienstag auf strengere Regeln für "
        "Düngemittel-Importe geeinigt. „Wir schützen unsere Landwirte vor unfairer Konkurrenz“, sagte der "
        "Ratsvorsitzende in Brüssel.</p>"
        "<p>Die neuen Zölle sollen ab dem kommenden Jahr schrittweise steigen. Umweltverbände begrüßten die Einigung.</p>"
        '<img src="https://count.ndw.example/t.gif?id=48311" width="1" height="1" alt="">'
        '<div class="related"><h4>Ähnliche Artikel</h4><ul><li><a href="https://www.ndw.example/a">Bauern protestieren in Straßburg</a></li></ul></div>'
        '<p class="back-to-top"><a href="#top">Schaltfläche "Zurück zum Anfang"</a></p>'
    ),
)


def test_a_german_wire_story_is_published_clean_with_language_and_attribution(settings, feed_server):
    """An auto-import shaped like real wire copy comes out without its page furniture, in German, attributed."""
    attribution = "Unredigierte, automatisch übernommene Meldung aus einem Agentur-Feed."
    url = feed_server.serve("/ndw.xml", rss([WIRE_STORY]))
    configure(settings, FeedConfig(id="ndw", url=url, attribution=attribution, tags=("agentur",), language="de"))

    poll_now(settings, "ndw")

    (story,) = stories(settings, "ndw")
    assert story["language"] == "de"
    assert story["attribution"] == attribution
    assert attribution not in story["body_html"]
    assert story["body_text"].startswith("BRÜSSEL: Die Agrarminister")
    assert "„Wir schützen unsere Landwirte vor unfairer Konkurrenz“" in story["body_text"]
    for junk in ("Pressemitteilung", "Ähnliche Artikel", "Zurück zum Anfang", "Straßburg", "count.ndw.example"):
        assert junk not in story["body_html"]
        assert junk not in story["body_text"]


def test_force_refetch_reprocesses_every_entry_but_publishes_nothing_twice(settings, feed_server):
    """`--force` ignores the validators and enqueues every entry; dedup still skips the unchanged ones."""
    url = feed_server.serve("/wire.xml", rss(numbered(3)))
    configure(settings, FeedConfig(id="wire-west", url=url))
    poll_now(settings, "wire-west")

    summary = poll_now(settings, "wire-west", force=True)

    assert (summary["wire-west"]["new"], summary["wire-west"]["skipped"]) == (0, 3)
    assert feed_server.requests[-1].if_none_match is None
    assert count(settings, StoryRow) == 3
