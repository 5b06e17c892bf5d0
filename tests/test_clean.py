"""The clean stage against the labelled corpus (tests/data/corpus): junk out, the story's text kept exactly."""

from __future__ import annotations

import html
import json
import re
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import pytest

from workers.boilerplate import load_rules
from workers.clean import clean, plain_text
from workers.parse import parse
from workers.story import Story

CORPUS = Path(__file__).parent / "data" / "corpus"
RULES = load_rules(Path(__file__).resolve().parent.parent / "config" / "clean.yaml")
LABELS = json.loads((CORPUS / "labels.json").read_text(encoding="utf-8"))


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", html.unescape(text))).strip()


def _parsed(feed_file: str) -> dict[str, Story]:
    body = (CORPUS / feed_file).read_bytes()
    parsed = parse("corpus", body, url="https://corpus.example/feed", fetched_at=datetime(2026, 11, 10, 12, tzinfo=UTC))
    return {story.guid: story for story in parsed.stories}


_CACHE: dict[str, dict[str, Story]] = {}


def _cleaned(record: dict) -> Story:
    if record["feed_file"] not in _CACHE:
        _CACHE[record["feed_file"]] = _parsed(record["feed_file"])
    return clean(_CACHE[record["feed_file"]][record["guid"]], RULES)


@pytest.mark.parametrize("record", LABELS["stories"], ids=lambda r: r["id"])
def test_cleaned_text_equals_the_reference_text(record):
    """Every labelled entry cleans to exactly the reference `clean_text` (after whitespace folding)."""
    assert _normalise(_cleaned(record).body_text) == _normalise(record["clean_text"])


@pytest.mark.parametrize("record", [r for r in LABELS["stories"] if r["must_not_contain"]], ids=lambda r: r["id"])
def test_boilerplate_is_gone(record):
    story = _cleaned(record)
    visible = _normalise(f"{story.title} {story.body_text}").lower()
    for junk in record["must_not_contain"]:
        assert _normalise(junk).lower() not in visible


@pytest.mark.parametrize(
    "record", [r for r in LABELS["stories"] if r.get("must_not_contain_html")], ids=lambda r: r["id"]
)
def test_scripts_styles_pixels_and_empty_paragraphs_are_gone_from_the_html(record):
    body_html = _cleaned(record).body_html.lower()
    for junk in record["must_not_contain_html"]:
        assert junk.lower() not in body_html


def test_photo_credits_move_into_the_credits_field():
    record = next(r for r in LABELS["stories"] if "photo_credit" in r["boilerplate"])
    story = _cleaned(record)
    assert story.credits and story.credits[0].startswith("Foto: ")
    assert "Foto:" not in story.body_html


def test_links_get_nofollow_and_unsafe_urls_are_dropped():
    story = Story(
        id="x",
        feed_id="f",
        guid="g",
        url=None,
        title="t",
        content_html='<p><a href="https://a.example/">ok</a> <a href="javascript:alert(1)">bad</a></p>',
    )
    body = clean(story, RULES).body_html
    assert '<a href="https://a.example/" rel="nofollow noopener">ok</a>' in body
    assert "javascript:" not in body


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<b>Eil:</b> Brand &amp; Explosion", "Eil: Brand & Explosion"),
        ("Zeile\x00eins\x85 und\tzwei", "Zeileeins und zwei"),
        ("&amp;lt;script&amp;gt;", "&lt;script&gt;"),
        ("  Viel   Raum  ", "Viel Raum"),
    ],
    ids=["markup-and-entities", "control-characters", "double-encoded-decoded-once", "whitespace"],
)
def test_titles_become_plain_text(raw, expected):
    assert plain_text(raw) == expected


def test_a_rule_never_cuts_text_out_of_the_middle_of_a_paragraph():
    """ "Pressemitteilung" inside a sentence is the story, not furniture."""
    body = "<p>Die Stadt verschickte am Montag eine Pressemitteilung zu den neuen Parkgebühren.</p>"
    story = Story(id="x", feed_id="f", guid="g", url=None, title="t", content_html=body)
    assert (
        clean(story, RULES).body_text
        == "Die Stadt verschickte am Montag eine Pressemitteilung zu den neuen Parkgebühren."
    )
