"""The clean stage against the labelled corpus (tests/data/corpus): junk out, the story's text kept exactly."""

from __future__ import annotations

import html
import json
import re
import unicodedata
from datetime import UTC, datetime
from html.parser import HTMLParser
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
    """Case-insensitively, after entity decoding and whitespace collapsing, from title, body text and summary."""
    story = _cleaned(record)
    visible = _normalise(f"{story.title}\n{story.body_text}\n{story.summary}").lower()
    for junk in record["must_not_contain"]:
        assert _normalise(junk).lower() not in visible


@pytest.mark.parametrize("record", [r for r in LABELS["stories"] if r["must_contain"]], ids=lambda r: r["id"])
def test_the_story_sentences_survive_verbatim(record):
    body_text = _normalise(_cleaned(record).body_text)
    for sentence in record["must_contain"]:
        assert _normalise(sentence) in body_text


@pytest.mark.parametrize("record", LABELS["stories"], ids=lambda r: r["id"])
def test_word_count_equals_the_reference_count(record):
    assert _cleaned(record).word_count == record["word_count"]


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
        ("Zeile\x00eins\x7f und\tzwei", "Zeileeins und zwei"),
        ("&amp;lt;script&amp;gt;", "&lt;script&gt;"),
        ("  Viel   Raum  ", "Viel Raum"),
    ],
    ids=["markup-and-entities", "c0-controls-and-del", "double-encoded-decoded-once", "whitespace"],
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


# --- the sanitiser, rule by rule ---------------------------------------------------------------------------------

STORY_URL = "https://news.example/2026/11/story.html"


def _clean_body(content_html: str, *, url: str | None = STORY_URL, summary_html: str = "", title: str = "t") -> Story:
    story = Story(
        id="x", feed_id="f", guid="g", url=url, title=title, content_html=content_html, summary_html=summary_html
    )
    return clean(story, RULES)


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("<p>Absatz</p>", "<p>Absatz</p>"),
        ("<h2>Zwei</h2><h3>Drei</h3><h4>Vier</h4>", "<h2>Zwei</h2><h3>Drei</h3><h4>Vier</h4>"),
        ("<h1>Eins</h1><h5>Fünf</h5><h6>Sechs</h6>", "<h2>Eins</h2><h4>Fünf</h4><h4>Sechs</h4>"),
        ("<ul><li>a</li></ul><ol><li>b</li></ol>", "<ul><li>a</li></ul><ol><li>b</li></ol>"),
        ("<blockquote><p>Zitat</p></blockquote>", "<blockquote><p>Zitat</p></blockquote>"),
        (
            "<p><strong>s</strong> <em>e</em> <b>b</b> <i>i</i></p>",
            "<p><strong>s</strong> <em>e</em> <b>b</b> <i>i</i></p>",
        ),
        (
            '<p><a href="https://a.example/x" title="T">Link</a></p>',
            '<p><a href="https://a.example/x" title="T" rel="nofollow noopener">Link</a></p>',
        ),
        (
            '<p><a href="mailto:desk@news.example">Mail</a></p>',
            '<p><a href="mailto:desk@news.example" rel="nofollow noopener">Mail</a></p>',
        ),
        (
            '<figure><img src="https://img.example/a.jpg" alt="Ein Bild"><figcaption>Unterschrift</figcaption></figure>',
            '<figure><img src="https://img.example/a.jpg" alt="Ein Bild"><figcaption>Unterschrift</figcaption></figure>',
        ),
        (
            '<table><thead><tr><th colspan="2">Kopf</th></tr></thead><tbody><tr><td>1</td><td>2</td></tr></tbody></table>',
            '<table><thead><tr><th colspan="2">Kopf</th></tr></thead><tbody><tr><td>1</td><td>2</td></tr></tbody></table>',
        ),
        ('<div class="x"><p><span style="color:red">Text</span></p></div>', "<p>Text</p>"),
        ("<p>Vor<!-- Kommentar -->nach</p>", "<p>Vornach</p>"),
    ],
    ids=[
        "paragraph",
        "headings-h2-h4",
        "h1-h5-h6-mapped-into-h2-h4",
        "lists",
        "blockquote",
        "emphasis",
        "link-gets-rel",
        "mailto-link",
        "figure-with-image-and-caption",
        "simple-table",
        "wrappers-and-attributes-dropped",
        "comments-dropped",
    ],
)
def test_allowed_markup_is_kept(markup, expected):
    assert _clean_body(markup).body_html == expected


@pytest.mark.parametrize(
    ("markup", "gone", "kept"),
    [
        ("<p>a</p><script>alert('x')</script><p>b</p>", ["<script", "alert"], "<p>a</p><p>b</p>"),
        ("<p>a</p><style>p{color:red}</style><p>b</p>", ["<style", "color"], "<p>a</p><p>b</p>"),
        ('<p>a</p><iframe src="https://e.example/">Fallback</iframe>', ["<iframe", "Fallback"], "<p>a</p>"),
        ('<p>a</p><object data="https://e.example/x.swf">Obj</object>', ["<object", "Obj"], "<p>a</p>"),
        ('<p>a</p><embed src="https://e.example/x.swf">', ["<embed"], "<p>a</p>"),
        (
            '<p>a</p><form action="/s"><input name="q"><button>Suchen</button></form>',
            ["<form", "<input", "Suchen"],
            "<p>a</p>",
        ),
        ("<p>a</p><noscript><p>Bitte JavaScript</p></noscript>", ["noscript", "JavaScript"], "<p>a</p>"),
        ('<p>a</p><svg onload="alert(1)"><text>S</text></svg>', ["<svg", "onload"], "<p>a</p>"),
        ('<p onclick="alert(1)" onmouseover="x()">a</p>', ["onclick", "onmouseover"], "<p>a</p>"),
        ('<p style="background:url(javascript:alert(1))">a</p>', ["style", "javascript"], "<p>a</p>"),
        ('<p><a href="javascript:alert(1)">a</a></p>', ["javascript", "href"], "<p>a</p>"),
        ('<p><a href="JaVaScRiPt:alert(1)">a</a></p>', ["javascript", "href"], "<p>a</p>"),
        ('<p><a href="jav&#x09;ascript:alert(1)">a</a></p>', ["ascript", "href"], "<p>a</p>"),
        ('<p><a href="vbscript:msgbox(1)">a</a></p>', ["vbscript", "href"], "<p>a</p>"),
        ('<p><a href="data:text/html;base64,PHNjcmlwdD4=">a</a></p>', ["data:", "href"], "<p>a</p>"),
        ('<p>a<img src="data:image/png;base64,AAAA" alt="d"></p>', ["data:", "<img"], "<p>a</p>"),
        ('<p>a<img src="mailto:x@y.example"></p>', ["mailto", "<img"], "<p>a</p>"),
        ('<p>a</p><meta http-equiv="refresh" content="0;url=https://e.example/">', ["<meta", "refresh"], "<p>a</p>"),
        ('<p>a</p><base href="https://e.example/">', ["<base"], "<p>a</p>"),
        ('<p><a href="https://x.example/javascript:alert(1)">a</a></p>', ["javascript", "href"], "<p>a</p>"),
        ('<p><a href="https://x.example/jav%09ascript:alert(1)">a</a></p>', ["ascript", "href"], "<p>a</p>"),
        ('<p><a name="anker">a</a></p>', ["<a", "anker"], "<p>a</p>"),
    ],
    ids=[
        "script-with-content",
        "style-with-content",
        "iframe-with-fallback",
        "object-with-fallback",
        "embed",
        "form-with-controls",
        "noscript-with-content",
        "svg-with-handler",
        "event-handlers",
        "style-attribute",
        "javascript-link",
        "javascript-link-mixed-case",
        "javascript-link-tab-split",
        "vbscript-link",
        "data-url-link",
        "data-url-image",
        "mailto-image",
        "meta-refresh",
        "base-href",
        "script-url-inside-an-http-url",
        "split-script-url-inside-an-http-url",
        "anchor-without-href",
    ],
)
def test_dangerous_markup_is_removed(markup, gone, kept):
    body_html = _clean_body(markup).body_html
    assert body_html == kept
    for token in gone:
        assert token.lower() not in body_html.lower()


@pytest.mark.parametrize(
    ("markup", "url", "expected"),
    [
        ('<p><a href="/politik/x.html">x</a></p>', STORY_URL, 'href="https://news.example/politik/x.html"'),
        ('<p><a href="../x.html">x</a></p>', STORY_URL, 'href="https://news.example/2026/x.html"'),
        ('<p><a href="y.html">y</a></p>', STORY_URL, 'href="https://news.example/2026/11/y.html"'),
        ('<p><a href="//cdn.example/z">z</a></p>', STORY_URL, 'href="https://cdn.example/z"'),
        ('<p><a href="https://other.example/">o</a></p>', STORY_URL, 'href="https://other.example/"'),
        ('<p>x<img src="/bilder/a.jpg"></p>', STORY_URL, 'src="https://news.example/bilder/a.jpg"'),
        ('<p>x<img src="b.jpg"></p>', "http://news.example/a/", 'src="http://news.example/a/b.jpg"'),
    ],
    ids=[
        "root-relative-link",
        "parent-relative-link",
        "document-relative-link",
        "protocol-relative-link",
        "absolute-link-unchanged",
        "root-relative-image",
        "document-relative-image-http",
    ],
)
def test_relative_urls_are_resolved_against_the_story_link(markup, url, expected):
    assert expected in _clean_body(markup, url=url).body_html


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ('<p>Mehr <a href="/x.html">hier</a>.</p>', "<p>Mehr hier.</p>"),
        ('<p>Bild<img src="/a.jpg" alt="a"></p>', "<p>Bild</p>"),
    ],
    ids=["link-unwrapped", "image-dropped"],
)
def test_relative_urls_without_a_story_link_are_removed(markup, expected):
    assert _clean_body(markup, url=None).body_html == expected


@pytest.mark.parametrize(
    "pixel",
    [
        '<img src="https://px.example/t.gif" width="1" height="1" alt="">',
        '<img src="https://px.example/t.gif" width="1px" height="1px">',
        '<img src="https://px.example/t.gif" width="0" height="0">',
        '<img src="https://px.example/t.gif" height="1">',
        '<img src="https://px.example/t.gif" width=" 1">',
        "<img alt='no source'>",
    ],
    ids=["1x1", "1px-units", "0x0", "height-only", "spaced-width", "no-src"],
)
def test_tracking_pixels_are_dropped(pixel):
    story = _clean_body(f"<p>Text{pixel}</p>")
    assert (story.body_html, story.lead_image) == ("<p>Text</p>", None)


def test_a_real_image_is_not_a_pixel():
    img = '<img src="https://img.example/a.jpg" width="640" height="360">'
    assert _clean_body(f"<p>Text{img}</p>").body_html == f"<p>Text{img}</p>"


@pytest.mark.parametrize(
    "empty",
    [
        "<p></p>",
        "<p>&nbsp;</p>",
        "<p><br></p>",
        "<p> <strong> </strong> </p>",
        "<p>\u200b</p>",
        '<p><img src="https://px.example/t.gif" width="1" height="1"></p>',
        "<h2> </h2>",
        "<blockquote><p>&nbsp;</p></blockquote>",
    ],
    ids=["empty", "nbsp", "br", "blank-inline", "zero-width-space", "pixel-only", "empty-heading", "empty-quote"],
)
def test_empty_paragraphs_are_dropped(empty):
    assert _clean_body(f"<p>Eins</p>{empty}<p>Zwei</p>").body_html == "<p>Eins</p><p>Zwei</p>"


def test_a_paragraph_holding_only_an_image_is_kept():
    body = '<p><img src="https://img.example/a.jpg" alt="a"></p><p>Text</p>'
    assert _clean_body(body).body_html == body


@pytest.mark.parametrize(
    ("markup", "body_text"),
    [
        ("Nur Text ohne Markup", "Nur Text ohne Markup"),
        ("Zeile eins<br>Zeile zwei", "Zeile eins Zeile zwei"),
        ("<p>a</p>loser <b>Text</b><p>b</p>", "a\n\nloser Text\n\nb"),
        ("<ul><li>eins</li><li>zwei</li></ul>", "eins zwei"),
        ("<table><tr><td>1</td><td>2</td></tr></table>", "1 2"),
        ("<div>vorab<p>Mitte</p>danach</div>", "vorab\n\nMitte\n\ndanach"),
    ],
    ids=[
        "plain-text-feed",
        "line-break",
        "loose-text-between-blocks",
        "list-items",
        "table-cells",
        "text-in-a-wrapper",
    ],
)
def test_body_text_has_every_word_of_the_body(markup, body_text):
    assert _clean_body(markup).body_text == body_text


# --- text normalisation ------------------------------------------------------------------------------------------

MOJIBAKE = [
    ("FÃ¼r die StraÃŸe", "Für die Straße"),
    ("â€žZitatâ€œ", "„Zitat“"),
    ("Ã„rger Ã¼ber Ã–l", "Ärger über Öl"),
    ("â€žFÃ¼r\u201c", "„Für“"),
    ("„Zitat“ Für".encode().decode("latin-1"), "„Zitat“ Für"),
    ("itâ€™s â€“ fine", "it’s – fine"),
]
MOJIBAKE_IDS = ["umlaut-and-eszett", "german-quotes", "capital-umlauts", "mixed", "via-latin-1", "apostrophe-dash"]


@pytest.mark.parametrize(("broken", "fixed"), MOJIBAKE, ids=MOJIBAKE_IDS)
def test_mojibake_is_repaired_in_the_title(broken, fixed):
    assert _clean_body("<p>x</p>", title=broken).title == fixed


@pytest.mark.parametrize(("broken", "fixed"), MOJIBAKE, ids=MOJIBAKE_IDS)
def test_mojibake_is_repaired_in_the_body(broken, fixed):
    story = _clean_body(f"<p><b>{broken}</b> und mehr</p>")
    assert (story.body_html, story.body_text) == (f"<p><b>{fixed}</b> und mehr</p>", f"{fixed} und mehr")


@pytest.mark.parametrize(("broken", "fixed"), MOJIBAKE, ids=MOJIBAKE_IDS)
def test_mojibake_is_repaired_in_the_summary(broken, fixed):
    assert _clean_body("<p>x</p>", summary_html=f"<p>{broken}</p>").summary == fixed


def test_mojibake_is_repaired_in_image_alt_text():
    story = _clean_body('<p><img src="https://img.example/a.jpg" alt="BÃ¼rgermeister"></p>')
    assert 'alt="Bürgermeister"' in story.body_html


def test_the_markup_is_not_touched_by_the_repair():
    body = '<p><a href="https://news.example/f%C3%BCr?a=1&amp;b=2" rel="nofollow noopener">FÃ¼r</a></p>'
    assert _clean_body(body).body_html == body.replace("FÃ¼r", "Für")


@pytest.mark.parametrize(
    "quoted",
    [
        "„Wir schaffen das“, sagte sie.",
        "“We did it,” she said.",
        "Er sagte: ‚So nicht‘.",
        "« Bonjour », dit-il.",
        "It’s the publisher’s apostrophe.",
        "Gedankenstrich – und Halbgeviert—Strich",
    ],
    ids=["german", "english", "german-single", "guillemets", "apostrophe", "dashes"],
)
def test_typographic_quotes_are_kept(quoted):
    story = _clean_body(f"<p>{quoted}</p>", title=quoted, summary_html=quoted)
    assert (story.title, story.body_text, story.summary) == (quoted, quoted, quoted)


@pytest.mark.parametrize(
    ("decomposed", "composed"),
    [("Cafe\u0301", "Café"), ("Mu\u0308nchen", "München"), ("A\u030angstro\u0308m", "Ångström")],
    ids=["acute", "diaeresis", "ring-and-diaeresis"],
)
def test_text_is_nfc(decomposed, composed):
    story = _clean_body(f"<p>{decomposed}</p>", title=decomposed)
    assert (story.title, story.body_text, story.body_html) == (composed, composed, f"<p>{composed}</p>")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("it\x92s \x96 done\x85", "it’s – done…"),
        ("\x84Zitat\x93", "„Zitat“"),
        ("ohne\x81 Bedeutung\x9d", "ohne Bedeutung"),
    ],
    ids=["cp1252-punctuation", "cp1252-quotes", "undefined-c1-removed"],
)
def test_c1_controls_are_read_as_windows_1252_or_removed(raw, expected):
    assert plain_text(raw) == expected


def test_whitespace_is_folded():
    story = _clean_body("<p>  viel \n\t Raum\u00a0 hier </p>", title="  viel \n Raum ")
    assert (story.title, story.body_text) == ("viel Raum", "viel Raum hier")


# --- derived fields ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("markup", "words"),
    [
        ("", 0),
        ("<p>eins zwei drei</p>", 3),
        ("<p>eins</p><p>zwei</p>", 2),
        ("<ul><li>eins</li><li>zwei</li></ul>", 2),
        ("<p>Baden-Württemberg und Rhein-Neckar-Kreis</p>", 3),
        ("<p>0,4 Prozent auf 24.318 Punkte</p>", 7),
        ("<p>it’s Peter's</p>", 2),
        ("<p>„Zitat“ – Ende …</p>", 2),
        ("<p>Text</p><p>Ähnliche Artikel</p><p>eins zwei drei</p>", 1),
    ],
    ids=[
        "empty",
        "simple",
        "paragraphs",
        "list-items",
        "hyphenated-compounds",
        "numbers-split-at-punctuation",
        "apostrophes",
        "punctuation-is-no-word",
        "removed-boilerplate-not-counted",
    ],
)
def test_word_count(markup, words):
    assert _clean_body(markup).word_count == words


@pytest.mark.parametrize(
    ("markup", "lead_image"),
    [
        ("<p>kein Bild</p>", None),
        (
            '<p><img src="https://img.example/1.jpg"></p><p><img src="https://img.example/2.jpg"></p>',
            "https://img.example/1.jpg",
        ),
        (
            '<p><img src="https://px.example/t.gif" width="1" height="1"><img src="https://img.example/a.jpg"></p>',
            "https://img.example/a.jpg",
        ),
        ('<figure><img src="/bilder/a.jpg"></figure>', "https://news.example/bilder/a.jpg"),
        ('<p><img src="data:image/png;base64,AAAA"></p>', None),
        ('<p>Text</p><p>Ähnliche Artikel</p><p><img src="https://img.example/rel.jpg"></p>', None),
    ],
    ids=["none", "first-image", "pixel-skipped", "relative-resolved", "data-url-skipped", "in-removed-boilerplate"],
)
def test_lead_image(markup, lead_image):
    assert _clean_body(markup).lead_image == lead_image


@pytest.mark.parametrize(
    ("markup", "summary_html", "summary"),
    [
        ("<p>Erster Absatz.</p><p>Zweiter.</p>", "<p>Der <b>Teaser</b> des Feeds.</p>", "Der Teaser des Feeds."),
        ("<p>Erster Absatz.</p><p>Zweiter.</p>", "", "Erster Absatz."),
        ("<h2>Zwischentitel</h2><p>Erster Absatz.</p>", "", "Erster Absatz."),
        ("<ul><li>nur</li><li>Liste</li></ul>", "", "nur Liste"),
        ("<p>Pressemitteilung</p><p>Erster Absatz.</p>", "", "Erster Absatz."),
    ],
    ids=["feed-summary", "first-paragraph", "heading-skipped", "first-block-without-paragraph", "after-boilerplate"],
)
def test_summary(markup, summary_html, summary):
    assert _clean_body(markup, summary_html=summary_html).summary == summary


@pytest.mark.parametrize(
    ("field", "value"),
    [("body_text", "＜script>alert(1)＜/script> steht da"), ("summary", "＜script>alert(1)＜/script> steht da")],
    ids=["body-text", "summary"],
)
def test_markup_shown_as_text_cannot_become_markup_in_plain_text_fields(field, value):
    """Escaped markup stays escaped in the HTML; in plain text its "<" becomes a fullwidth "＜"."""
    story = _clean_body("<p>&lt;script&gt;alert(1)&lt;/script&gt; steht da</p>")
    assert story.body_html == "<p>&lt;script&gt;alert(1)&lt;/script&gt; steht da</p>"
    assert getattr(story, field) == value


def test_comparisons_in_plain_text_are_left_alone():
    assert _clean_body("<p>3 &lt; 5 und a&lt;b</p>").body_text == "3 < 5 und a＜b"


# --- hostile input (the XSS and text cases of the hostile-input kit) -----------------------------------------------

HOSTILE = Path(__file__).parent / "data" / "clean" / "hostile"
HOSTILE_CASES = json.loads((HOSTILE / "cases.json").read_text(encoding="utf-8"))["cases"]
# Live markup that must never survive, whatever the case lists.
LIVE_MARKUP = [
    "<script",
    "javascript:",
    "onerror=",
    "onload=",
    "data:text/html",
    "<iframe",
    "<svg",
    "<object",
    "<style",
]


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _visible(markup: str) -> str:
    parser = _Visible()
    parser.feed(markup)
    parser.close()
    return html.unescape("".join(parser.parts))


_HOSTILE_CACHE: dict[str, list[Story]] = {}


def _hostile(case: dict) -> list[Story]:
    if case["id"] not in _HOSTILE_CACHE:
        body = (HOSTILE / case["file"]).read_bytes()
        parsed = parse("zoo", body, url="https://gazette.dev-zoo.example/feeds/zoo.xml", fetched_at=datetime.now(UTC))
        _HOSTILE_CACHE[case["id"]] = [clean(story, RULES) for story in parsed.stories]
    return _HOSTILE_CACHE[case["id"]]


@pytest.mark.parametrize("case", HOSTILE_CASES, ids=lambda c: c["id"])
def test_hostile_case_keeps_its_stories(case):
    assert case["stored_min"] <= len(_hostile(case))


@pytest.mark.parametrize("case", HOSTILE_CASES, ids=lambda c: c["id"])
def test_hostile_markup_does_not_survive(case):
    for story in _hostile(case):
        stored = "\n".join(
            v.lower() for v in (story.title, story.body_html, story.body_text, story.summary, story.url) if v
        )
        for token in LIVE_MARKUP + case["forbidden_substrings"]:
            assert token.lower() not in stored, (story.guid, token)


@pytest.mark.parametrize("case", [c for c in HOSTILE_CASES if c["required_substrings"]], ids=lambda c: c["id"])
def test_hostile_case_keeps_the_visible_text(case):
    visible = " ".join(f"{s.title} {_visible(s.body_html)} {s.summary}" for s in _hostile(case))
    for text in case["required_substrings"]:
        assert text in visible


@pytest.mark.parametrize(
    "case", [c for c in HOSTILE_CASES if "content_urls_absolute" in c["checks"]], ids=lambda c: c["id"]
)
def test_hostile_case_content_urls_are_absolute(case):
    for story in _hostile(case):
        for url in re.findall(r'(?:href|src)="([^"]*)"', story.body_html):
            assert url.startswith(("https://", "http://", "mailto:")), url


@pytest.mark.parametrize("case", [c for c in HOSTILE_CASES if "no_mojibake" in c["checks"]], ids=lambda c: c["id"])
def test_hostile_case_titles_have_no_mojibake(case):
    for story in _hostile(case):
        assert not re.search("\ufffd|Ã|Â|â€", story.title), story.title


@pytest.mark.parametrize("case_id", ["dev-xss-content-06", "dev-xss-encoded-01"])
def test_markup_written_as_text_is_kept_as_escaped_text(case_id):
    """Text that reads "<script>" is the story's text: escaped in the HTML, never a live tag."""
    case = next(c for c in HOSTILE_CASES if c["id"] == case_id)
    (story,) = _hostile(case)
    assert "&lt;script&gt;" in story.body_html
    assert "<script>" in _visible(story.body_html)
