"""A German auto-imported wire story, with the junk such stories carry, is published clean and tagged."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import configure, poll_now, stories
from workers.feeds_config import FeedConfig

pytestmark = pytest.mark.usefixtures("worker")

FEED = (Path(__file__).parent / "data" / "publish_ready" / "auto-import.xml").read_bytes()
NOTICE = "Unredigierte, automatisch übernommene Meldung aus einem Agentur-Feed."


@pytest.fixture
def published(settings, feed_server) -> dict:
    url = feed_server.serve("/politik.xml", FEED)
    configure(settings, FeedConfig(id="agentur-politik", url=url, attribution=NOTICE, tags=("agentur",)))
    assert poll_now(settings, "agentur-politik")["agentur-politik"]["new"] == 1
    (story,) = stories(settings, "agentur-politik")
    return story


def test_the_page_furniture_is_gone_and_the_story_stays(published):
    text = f"{published['title']}\n{published['body_text']}\n{published['summary']}"
    for junk in (
        "Pressemitteilung",
        "Ähnliche Artikel",
        "Zurück zum Anfang",
        "Teilen:",
        "Nato-Gipfel",
        "trackPageView",
    ):
        assert junk not in text
    for markup in ("<script", "tracker.example", "<p></p>", "<h3"):
        assert markup not in published["body_html"]
    assert published["body_text"].startswith("BRÜSSEL (agt): Die Außenminister der Europäischen Union")
    assert "„Wir lassen die Ukraine in diesem Winter nicht allein“" in published["body_text"], "typographic quotes kept"


def test_the_attribution_and_the_photo_credit_are_fields_not_body_text(published):
    assert published["attribution"] == NOTICE
    assert NOTICE not in published["body_html"]
    assert published["credits"] == ["Foto: Agenturfoto/Jens Becker"]


def test_places_persons_and_organizations_are_tagged_in_canonical_form(published):
    assert {"Brüssel", "Ukraine"} <= set(published["places"])
    assert set(published["persons"]) == {"Marta Lindqvist", "Tobias Kellner"}
    assert {"Europäische Union", "Europäische Kommission", "NATO"} <= set(published["organizations"])


def test_it_is_a_german_politics_story_not_about_the_region(published):
    assert published["language"] == "de"
    assert published["category"] == "Politik"
    assert published["regional"] is False
    assert published["tags"][0] == "agentur"
    assert 1 <= len(published["keywords"]) <= 8
    assert published["word_count"] == len(published["body_text"].split())
