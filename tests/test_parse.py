"""Parsing: feedparser output becomes Stories with stable identities, absolute links and sane dates."""

from __future__ import annotations

import http.server
import json
import re
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.feeds import Item, rss
from workers import parse as parse_module
from workers.errors import ParseError
from workers.parse import MAX_ENTRY_CHARS, parse

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


# -- hostile input (tests/hostile/README.md, rules P1-P11): one table per kind of fault -------------------------

FEED_HEAD = '<?xml version="1.0" encoding="{encoding}"?>\n'
ENTITY_DOCTYPE = '<!DOCTYPE rss [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>\n'
SMALL_RSS = (
    '<rss version="2.0"><channel><title>t</title>'
    "<item><title>Eins &amp; zwei</title><guid>g-1</guid><link>https://feed.example/1</link></item>"
    "</channel></rss>\n"
)


def _entity_feed(encoding: str, bom: bytes = b"") -> bytes:
    return bom + (FEED_HEAD.format(encoding=encoding) + ENTITY_DOCTYPE + SMALL_RSS).encode(encoding)


@pytest.mark.parametrize(
    "body",
    [
        _entity_feed("utf-8"),
        _entity_feed("utf-16-le", b"\xff\xfe"),
        _entity_feed("utf-16-be", b"\xfe\xff"),
        _entity_feed("utf-16-le"),
        _entity_feed("utf-16-be"),
        _entity_feed("utf-32-le"),
        _entity_feed("utf-7"),
        _entity_feed("cp037"),
        b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n  <!ENTITY % remote SYSTEM "http://127.0.0.1:9/canary/x.dtd">\n'
        b"  %remote;\n]>\n" + SMALL_RSS.encode(),
        b'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>' + SMALL_RSS.encode().replace(b"zwei", b"&xxe;"),
        # a comment and an attribute default that look like the DOCTYPE's end must not hide what follows
        b'<!DOCTYPE rss [<!-- <b> ]> --><!ATTLIST rss a CDATA "]>"><!ENTITY lol "lol">]>' + SMALL_RSS.encode(),
    ],
    ids=[
        "utf-8", "utf-16-le-bom", "utf-16-be-bom", "utf-16-le", "utf-16-be", "utf-32-le", "utf-7", "ebcdic",
        "parameter-entity", "external-entity", "comment-and-attlist-first",
    ],
)  # fmt: skip
def test_entity_declarations_are_refused_in_any_encoding(body):
    """P2: billion laughs and XXE start with an ENTITY declaration; whatever the encoding, it is refused."""
    with pytest.raises(ParseError, match=r"^parse: feed 'test-feed' declares XML entities in its DOCTYPE"):
        _parse(body)


def test_entity_declarations_quoted_in_an_article_are_not_refused():
    """Only the prolog is looked at: an article may quote a DOCTYPE in its CDATA body."""
    quoted = '<description><![CDATA[<p>So beginnt es:</p><pre><!DOCTYPE x [<!ENTITY lol "lol">]></pre>]]></description>'
    (story,) = _parse(SMALL_RSS.replace("</item>", quoted + "</item>").encode()).stories
    assert 'ENTITY lol "lol"' in story.content_html


def test_an_external_dtd_is_never_fetched():
    """P2: feedparser's expat does not read external DTDs; the DOCTYPE alone is no reason to refuse the feed."""
    requests: list[str] = []

    class Canary(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'<!ENTITY foo "fetched">')

        def log_message(self, *args: object) -> None:
            pass

    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Canary) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        dtd = f"http://127.0.0.1:{server.server_address[1]}/canary/feed.dtd"
        body = f'<!DOCTYPE rss SYSTEM "{dtd}">'.encode() + SMALL_RSS.encode().replace(b"zwei", b"&foo;")
        parsed = _parse(body)
        server.shutdown()
    assert requests == []
    assert "fetched" not in parsed.stories[0].title


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"\xef\xbb\xbf \n\t", "is an empty document"),
        (b"\xff\xfe" + " \n".encode("utf-16-le"), "is an empty document"),
        (b'[{"id": 1}]', "is not a feed: a JSON document"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": []}', "is not a feed: a JSON Feed document"),
        (
            b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body><p>x</p></body></html>',
            "is not a feed: an HTML document",
        ),
        (b"\xff\xfe" + "<!DOCTYPE html><html><body>x</body></html>".encode("utf-16-le"), "an HTML document"),
        (
            b'<?xml version="1.0"?><urlset><url><loc>https://feed.example/1</loc></url></urlset>',
            r"no RSS or Atom root element \(the root element is <urlset>\)",
        ),
        (
            b"<news><item><title>Eins</title><guid>1</guid></item></news>",
            r"no RSS or Atom root element \(the root element is <news>\)",
        ),
        (b"just some text\n", "no RSS or Atom root element"),
    ],
    ids=["bom-and-space", "utf-16-space", "json-array", "json-feed", "xhtml", "utf-16-html", "sitemap",
         "items-under-another-root", "plain-text"],
)  # fmt: skip
def test_what_is_not_a_feed_is_named(body, message):
    """P1: empty, JSON, HTML or another root element is a parse error that says what the document is."""
    with pytest.raises(ParseError, match=rf"^parse: feed 'test-feed' (is not a feed: )?.*{message}"):
        _parse(body)


def test_rss_1_0_without_its_namespace_is_still_a_feed():
    body = (
        b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<item rdf:about="https://feed.example/1"><title>Eins</title><link>https://feed.example/1</link></item>'
        b"</rdf:RDF>"
    )
    assert [s.title for s in _parse(body).stories] == ["Eins"]


def _items(*titles: str) -> str:
    return "".join(
        f"<item><title>{t}</title><guid>{t}</guid><description>&lt;p&gt;Text {t}&lt;/p&gt;</description></item>\n"
        for t in titles
    )


RSS_OPEN = '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>t</title>\n'


@pytest.mark.parametrize(
    ("body", "titles", "invalid"),
    [
        (RSS_OPEN + _items("A", "B") + "<item><title>C</title><description>Text C is cu", ["A", "B"], 1),
        (RSS_OPEN + _items("A", "B") + '<item><title>C</title><link href="https://fe', ["A", "B"], 1),
        (RSS_OPEN + _items("A", "B") + "<ite", ["A", "B"], 0),
        (RSS_OPEN + _items("A", "B"), ["A", "B"], 0),
        (RSS_OPEN + _items("A") + "<item><title>B</title><guid>B</guid>\n</channel></rss>", ["A", "B"], 0),
        (RSS_OPEN + _items("A & B", "C"), ["A & B", "C"], 0),
        (
            RSS_OPEN + _items("A & B") + "<item><title>C</title><description><![CDATA[<item>]]></description></item>",
            ["A & B", "C"],
            0,
        ),
    ],
    ids=["cut-in-text", "cut-in-a-tag", "cut-in-an-entry-start-tag", "channel-never-closed",
         "entry-closed-by-channel-end", "bare-ampersand",
         "entry-tag-quoted-in-cdata"],
)  # fmt: skip
def test_malformed_xml_keeps_its_complete_entries(body, titles, invalid):
    """P3: complete entries are kept, one the file ends inside is skipped and counted, the XML error is a warning."""
    parsed = _parse(body.encode())
    assert [s.title for s in parsed.stories] == titles
    assert parsed.invalid == invalid
    assert parsed.warning is not None
    assert re.match(r"parse: feed 'test-feed' is not well-formed XML \(.+ at line \d+, column \d+\); ", parsed.warning)


@pytest.mark.parametrize(
    ("body", "titles"),
    [
        # an end tag broken inside the first entry: a loose parse of the whole lets it swallow the second
        (RSS_OPEN + _items("A", "B", "C").replace("</description>", "<&/description>", 1), ["A", "B", "C"]),
        # the break is in the channel, before any entry: every entry inherits it
        (RSS_OPEN.replace("<title>t</title>", "<title>t</tit&le>") + _items("A", "B"), ["A", "B"]),
        (RSS_OPEN.replace("</title>", "<</title>", 1) + _items("A", "B", "C"), ["A", "B", "C"]),
        (RSS_OPEN + _items("A", "B").replace("<item>", "<item&>", 1), ["A", "B"]),
    ],
    ids=["broken-end-tag", "unclosed-channel-title", "broken-channel-title-end-tag", "broken-entry-start-tag"],
)
def test_one_broken_entry_does_not_swallow_the_next(body, titles):
    """P3: each entry of a broken document is recovered on its own; the broken one may be lost, no other."""
    parsed = _parse((body + "</channel></rss>").encode())
    assert set(titles) <= {s.title for s in parsed.stories}
    assert parsed.warning is not None


@pytest.mark.parametrize(
    ("body", "position"),
    [
        (RSS_OPEN + _items("A\x00", "B") + "</channel></rss>", "U+0000 at line 3, column 15"),
        (RSS_OPEN + _items("A", "B") + "</channel></rss>\n" + "\x00" * 512, "U+0000 at line 6, column 1"),
        ("\x00" * 64 + RSS_OPEN + _items("A", "B") + "</channel></rss>", "U+0000 at line 1, column 1"),
        (RSS_OPEN + _items("\x1b[31mA\x1b[0m", "B") + "</channel></rss>", "U+001B at line 3, column 14"),
    ],
    ids=["nul-in-a-title", "nul-padding-after-the-end", "nul-padding-before-the-start", "terminal-escapes"],
)
def test_control_characters_xml_forbids_are_removed_and_reported(body, position):
    """P3/P6: NUL and other C0 controls are removed before parsing; the feed is flagged with where they were."""
    parsed = _parse(body.encode())
    assert sorted(s.title.replace("[31m", "").replace("[0m", "") for s in parsed.stories) == ["A", "B"]
    assert not any(re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", s.title + s.content_html) for s in parsed.stories)
    assert parsed.warning is not None and f"control character {position}, removed" in parsed.warning


def test_iso_2022_keeps_its_escape_sequences():
    body = (
        '<?xml version="1.0" encoding="iso-2022-jp"?><rss version="2.0"><channel><title>t</title>'
        "<item><title>東京の天気</title><guid>1</guid></item></channel></rss>"
    ).encode("iso-2022-jp")
    parsed = _parse(body)
    assert ([s.title for s in parsed.stories], parsed.warning) == (["東京の天気"], None)


def test_controls_are_removed_from_guid_and_link():
    body = rss([Item(title="t", body="<p>x</p>", guid="g-1&#x7F;&#x85;", link="https://feed.example/a&#x7F;b")])
    (story,) = _parse(body.replace(b"&amp;#x", b"&#x")).stories
    assert (story.guid, story.url) == ("g-1", "https://feed.example/ab")


@pytest.mark.parametrize(
    "body",
    [
        RSS_OPEN + "<item><title>A</title><description>cut",
        RSS_OPEN + "<item><title> </title></item><item>&amp; <br></item>",
        RSS_OPEN + "<title>x & y</title></channel></rss>",
    ],
    ids=["only-entry-cut-off", "only-empty-entries", "no-entries"],
)
def test_malformed_xml_without_a_complete_entry_is_an_error(body):
    with pytest.raises(ParseError, match=r"^parse: feed 'test-feed' is not well-formed XML \(.+ line \d+, column \d+"):
        _parse(body.encode())


@pytest.mark.parametrize(
    "item",
    [
        "<item><guid>only-a-guid</guid></item>",
        "<item><title><![CDATA[ ]]></title><link>https://feed.example/x</link></item>",
        "<item><title>&#160;&#8203;</title><description>&lt;p&gt;&amp;nbsp;&lt;/p&gt;</description></item>",
        "<item><title>&lt;b&gt;&lt;/b&gt;</title><description>&lt;br/&gt;</description></item>",
        "<item><description>&lt;script&gt;alert(1)&lt;/script&gt;</description></item>",
        "<item><title>&#x7F;&#x81;&#x9D;</title></item>",
    ],
    ids=["guid-only", "blank-cdata-title", "invisible-spaces", "markup-only", "script-only", "controls-only"],
)
def test_entries_without_title_or_text_are_skipped_and_counted(item):
    """P5: nothing a reader could see, nothing stored; the rest of the feed is."""
    parsed = _parse((RSS_OPEN + item + _items("A") + "</channel></rss>").encode())
    assert ([s.title for s in parsed.stories], parsed.invalid) == (["A"], 1)


def test_an_entry_over_the_size_limit_is_cut_at_a_tag_and_the_others_are_kept():
    """P10: a 3 MiB description is cut below the per-entry limit, never inside a tag."""
    huge = "<p>" + "Bericht über den Haushalt. " * 120_000 + "</p>"
    parsed = _parse(rss([Item(title="Gross", body=huge, guid="1"), Item(title="Klein", body="<p>x</p>", guid="2")]))
    big, small = parsed.stories
    assert len(big.content_html) <= MAX_ENTRY_CHARS
    assert big.content_html.startswith("<p>Bericht") and not re.search(r"<[^>]*$", big.content_html)
    assert small.content_html == "<p>x</p>"


def test_an_author_is_plain_text():
    body = rss([Item(title="t", body="<p>x</p>", guid="1")]).replace(
        b"<pubDate>", b"<author>&lt;b onclick=&quot;x()&quot;&gt;Anna&lt;/b&gt; Muster\x7f</author><pubDate>"
    )
    assert _parse(body).stories[0].author == "Anna Muster"


@pytest.mark.parametrize(
    "date",
    ["Fri, 31 Dec 9999 23:59:59 GMT", "0000-00-00T00:00:00Z", "1899-12-31T23:59:59Z", "2400-02-29T12:00:00+14:00"],
    ids=["year-9999", "zero-date", "1899-as-year-minus-1", "far-leap-day"],
)
def test_hostile_dates_never_crash_and_never_lie_in_the_future(date):
    """P9: dropped or clamped to fetch time + 1 day."""
    body = f"{RSS_OPEN}<item><title>t</title><guid>1</guid><pubDate>{date}</pubDate></item></channel></rss>"
    (story,) = _parse(body.encode()).stories
    assert story.published_at is None or story.published_at <= "2026-11-25T12:00:00+00:00"


def test_one_unreadable_entry_costs_only_itself(monkeypatch):
    published = parse_module._published

    def fragile(entry, fetched_at):
        if entry.get("title") == "B":
            raise RecursionError("too deep")
        return published(entry, fetched_at)

    monkeypatch.setattr(parse_module, "_published", fragile)
    parsed = _parse((RSS_OPEN + _items("A", "B", "C") + "</channel></rss>").encode())
    assert ([s.title for s in parsed.stories], parsed.invalid) == (["A", "C"], 1)


def test_a_parser_that_gives_up_is_a_parse_error(monkeypatch):
    """The worker survives: whatever feedparser raises becomes this feed's parse error."""

    def broken(*args, **kwargs):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(parse_module.feedparser, "parse", broken)
    with pytest.raises(ParseError, match=r"^parse: feed 'test-feed' could not be parsed at all \(RecursionError"):
        _parse(rss([Item(title="t", body="<p>x</p>", guid="1")]))
