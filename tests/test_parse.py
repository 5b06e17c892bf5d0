"""Parsing: feedparser output becomes Stories with stable identities, absolute links and sane dates."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.feeds import Item, rss
from workers.errors import ParseError
from workers.parse import parse

CORPUS = Path(__file__).parent / "data" / "corpus"
LABELS = json.loads((CORPUS / "labels.json").read_text(encoding="utf-8"))
NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)


def _parse(body: bytes, url: str = "https://feed.example/rss.xml"):
    return parse("test-feed", body, url=url, fetched_at=NOW)


@pytest.mark.parametrize("feed_file", sorted({r["feed_file"] for r in LABELS["stories"]}))
def test_every_labelled_entry_of_the_corpus_is_parsed(feed_file):
    expected = {r["guid"] for r in LABELS["stories"] if r["feed_file"] == feed_file}
    parsed = _parse((CORPUS / feed_file).read_bytes())
    assert expected <= {s.guid for s in parsed.stories}
    assert parsed.warning is None


def test_an_iso_8859_1_feed_is_decoded():
    parsed = _parse((CORPUS / "feeds" / "weinstrassen-depesche.rss").read_bytes())
    assert any("Dürkheim" in s.title for s in parsed.stories)
    assert not any("\ufffd" in s.title + s.content_html for s in parsed.stories)


def test_identity_falls_back_from_guid_to_link_to_content():
    body = rss([
        Item(title="A", body="<p>eins</p>", guid="g-1", link="https://feed.example/a"),
        Item(title="B", body="<p>zwei</p>", link="https://feed.example/b"),
        Item(title="C", body="<p>drei</p>"),
    ])  # fmt: skip
    first, second = _parse(body).stories, _parse(body).stories
    assert [s.id for s in first] == [s.id for s in second]
    assert len({s.id for s in first}) == 3
    assert [s.guid for s in first] == ["g-1", None, None]


def test_entries_sharing_one_guid_stay_apart_by_link():
    body = rss(
        [Item(title=f"Meldung {n}", body="<p>x</p>", guid="same", link=f"https://feed.example/{n}") for n in range(3)]
    )
    assert len({s.id for s in _parse(body).stories}) == 3


def test_repeated_identical_entries_are_one_story():
    body = rss([Item(title="Meldung", body="<p>x</p>", guid="same", link="https://feed.example/1")] * 2)
    assert len({s.id for s in _parse(body).stories}) == 1


def test_relative_links_are_made_absolute_and_other_schemes_dropped():
    body = rss([
        Item(title="rel", body="<p>x</p>", guid="1", link="/artikel/1"),
        Item(title="js", body="<p>x</p>", guid="2", link="javascript:alert(1)"),
    ])  # fmt: skip
    links = [s.url for s in _parse(body, url="https://news.example/feeds/rss.xml").stories]
    assert links == ["https://news.example/artikel/1", None]


@pytest.mark.parametrize(
    ("pub_date", "expected"),
    [
        ("Tue, 24 Nov 2026 09:00:00 +0100", "2026-11-24T08:00:00+00:00"),
        ("Sat, 01 Jan 2039 00:00:00 +0000", "2026-11-25T12:00:00+00:00"),
        ("Sun, 31 Dec 1899 23:59:59 +0000", None),
        ("gestern Abend", None),
    ],
    ids=["normal", "far-future-clamped", "before-1970", "unparseable"],
)
def test_dates(pub_date, expected):
    (story,) = _parse(rss([Item(title="t", body="<p>x</p>", guid="1", pub_date=pub_date)])).stories
    assert story.published_at == expected


def test_an_entry_without_title_and_text_is_counted_not_stored():
    parsed = _parse(rss([Item(title="", body="", guid="1"), Item(title="ok", body="<p>x</p>", guid="2")]))
    assert (len(parsed.stories), parsed.invalid) == (1, 1)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "parse: feed 'test-feed' is an empty document"),
        (
            b"<!DOCTYPE html><html><body>Wartung</body></html>",
            "parse: feed 'test-feed' is not a feed: an HTML document",
        ),
        (b'{"items": []}', "parse: feed 'test-feed' is not a feed: a JSON document"),
        (
            b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><rss><channel><title>&a;</title></channel></rss>',
            "declares XML entities",
        ),
    ],
    ids=["empty", "html", "json", "entity-declaration"],
)
def test_documents_that_are_not_feeds_are_refused_with_a_clear_error(body, message):
    with pytest.raises(ParseError, match=message):
        _parse(body)
