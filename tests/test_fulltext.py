"""Full text against a real HTTP server on 127.0.0.1: the article is extracted from its page, page furniture is
not, private addresses are refused unless allowed, and every failure keeps the feed text with a reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.boilerplate import load_rules
from workers.clean import clean
from workers.fulltext import _is_public, fetch_full_text, wants_full_text
from workers.settings import Settings
from workers.story import Story

PAGES = Path(__file__).parent / "data" / "fulltext"
RULES = load_rules(Path(__file__).resolve().parent.parent / "config" / "clean.yaml")
ARTICLE = (PAGES / "article.html").read_bytes()
TEASER = "<p>Archäologen finden in Ladenburg mehr als 300 römische Silbermünzen.</p>"
HTML = "text/html; charset=utf-8"

ARTICLE_PARAGRAPHS = [
    (
        "LADENBURG: Bei Bauarbeiten für ein neues Wohnhaus in der Ladenburger Altstadt haben Archäologen einen "
        "Schatz aus mehr als 300 römischen Silbermünzen entdeckt."
    ),
    (
        "„Ein Fund dieser Größe ist für die Region außergewöhnlich“, sagte die Grabungsleiterin Miriam Sonnleitner "
        "vom Landesamt für Denkmalpflege."
    ),
    "Bauarbeiten ruhen vorerst",
    "Bürgermeister Tobias Reinhardt sprach von einem „Glücksfall für die Stadtgeschichte“.",
    "Raubgräberei ist in Baden-Württemberg verboten und wird verfolgt.",
]
PAGE_FURNITURE = {
    "cookie-banner": "Wir verwenden Cookies",
    "cookie-button": "Alle akzeptieren",
    "navigation": "Jetzt abonnieren",
    "search-form": "Suchen",
    "breadcrumb": "Startseite",
    "share-bar": "Teilen:",
    "related-links": "Römerfest lockt Tausende",
    "related-heading": "Mehr zum Thema",
    "newsletter": "Newsletter",
    "footer-links": "Impressum",
    "footer-copyright": "Alle Rechte vorbehalten",
    "inline-script": "dataLayer",
    "tracking-pixel": "px.metropolbote.example",
}


def _settings(**overrides: object) -> Settings:
    values: dict[str, object] = {"full_text_allow_private": True, "fetch_deadline": 2, "full_text_min_words": 80}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def _story(url: str | None, body: str = TEASER, *, full_text: bool = False, **fields: object) -> Story:
    return Story(
        id="s1",
        feed_id="metropolbote",
        guid="urn:mb:4711",
        url=url,
        title="Ladenburg: Archäologen finden römischen Münzschatz",
        content_html=body,
        full_text=full_text,
        **fields,  # type: ignore[arg-type]
    )


def _words(n: int) -> str:
    return "<p>" + " ".join(f"Wort{i}" for i in range(n)) + "</p>"


@pytest.fixture
def article_url(feed_server) -> str:
    return feed_server.serve("/region/ladenburg/muenzschatz.html", ARTICLE, content_type=HTML)


@pytest.fixture
def extracted(article_url) -> tuple[Story, str]:
    return fetch_full_text(_story(article_url), _settings())


# --- extraction --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sentence", ARTICLE_PARAGRAPHS, ids=[f"paragraph-{i}" for i in range(len(ARTICLE_PARAGRAPHS))])
def test_the_article_paragraphs_are_extracted(extracted, sentence):
    story, _reason = extracted
    assert sentence in clean(story, ()).body_text


@pytest.mark.parametrize("junk", PAGE_FURNITURE.values(), ids=list(PAGE_FURNITURE))
def test_page_furniture_is_not_extracted(extracted, junk):
    story, _reason = extracted
    cleaned = clean(story, ())
    assert junk.lower() not in cleaned.body_text.lower()
    assert junk.lower() not in story.content_html.lower()


def test_the_extracted_body_replaces_the_feed_body_and_says_where_it_came_from(extracted):
    story, reason = extracted
    cleaned = clean(story, ())
    assert story.body_source == "full_text"
    assert reason == f"extracted {cleaned.word_count} words"
    assert cleaned.word_count > 150


def test_the_feed_teaser_stays_as_the_summary(extracted):
    story, _reason = extracted
    assert clean(story, ()).summary == "Archäologen finden in Ladenburg mehr als 300 römische Silbermünzen."


def test_images_and_links_of_the_article_are_absolute_against_the_page(extracted, feed_server):
    story, _reason = extracted
    cleaned = clean(story, ())
    assert cleaned.lead_image == feed_server.url("/bilder/2026/11/muenzschatz-ladenburg.jpg")
    assert f'href="{feed_server.url("/service/landesamt-denkmalpflege")}"' in cleaned.body_html


def test_a_redirect_is_followed_and_the_article_resolves_against_the_final_page(feed_server):
    feed_server.serve("/artikel/neu.html", ARTICLE, content_type=HTML)
    start = feed_server.serve("/alt", b"", status=301, headers={"Location": "/artikel/neu.html"}, content_type=HTML)

    story, reason = fetch_full_text(_story(start), _settings())

    assert reason.startswith("extracted "), reason
    assert f'href="{feed_server.url("/service/landesamt-denkmalpflege")}"' in story.content_html


def test_too_many_redirects_keep_the_feed_text(feed_server):
    start = feed_server.serve("/loop", b"", status=302, headers={"Location": "/loop"}, content_type=HTML)
    story = _story(start)

    result, reason = fetch_full_text(story, _settings(fetch_max_redirects=3))

    assert result is story
    assert "redirected more than 3 times" in reason
    assert feed_server.hits("/loop") == 4


def test_the_page_is_fetched_once(article_url, feed_server):
    fetch_full_text(_story(article_url), _settings())
    assert feed_server.hits("/region/ladenburg/muenzschatz.html") == 1


# --- when to fetch -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("story", "settings", "expected"),
    [
        (_story("https://www.metropolbote.example/a", TEASER), _settings(), True),
        (_story("https://www.metropolbote.example/a", _words(79)), _settings(), True),
        (_story("https://www.metropolbote.example/a", _words(80)), _settings(), False),
        (_story("https://www.metropolbote.example/a", _words(300)), _settings(), False),
        (_story("https://www.metropolbote.example/a", _words(300), full_text=True), _settings(), True),
        (_story("https://www.metropolbote.example/a", TEASER), _settings(full_text_min_words=0), False),
        (_story("https://www.metropolbote.example/a", TEASER, full_text=True), _settings(full_text_min_words=0), True),
        (_story(None, TEASER, full_text=True), _settings(), False),
        (_story("ftp://files.example/a.txt", TEASER, full_text=True), _settings(), False),
        (_story("https://www.metropolbote.example/a", TEASER, body_source="full_text"), _settings(), False),
        (_story("https://www.metropolbote.example/a", "<p>eins</p><p>zwei</p>" * 40), _settings(), False),
    ],
    ids=[
        "short-feed-body",
        "one-word-under-the-threshold",
        "at-the-threshold",
        "long-feed-body",
        "feed-flag-with-a-long-body",
        "word-rule-disabled",
        "feed-flag-with-word-rule-disabled",
        "no-link",
        "not-http",
        "already-full-text",
        "words-in-adjacent-paragraphs-counted-apart",
    ],
)
def test_wants_full_text(story, settings, expected):
    assert wants_full_text(story, settings) is expected


def test_the_word_rule_counts_the_cleaned_text_when_clean_already_ran():
    """Boilerplate the clean stage removes (a related-articles list) does not count as story words."""
    related = "<p>Ähnliche Artikel</p>" + _words(200)
    story = _story("https://www.metropolbote.example/a", _words(5) + related)
    assert wants_full_text(story, _settings()) is False
    cleaned = clean(story, RULES)
    assert cleaned.word_count == 5
    assert wants_full_text(cleaned, _settings()) is True


# --- private addresses -------------------------------------------------------------------------------------------


def test_loopback_is_refused_unless_allowed(article_url, feed_server):
    story = _story(article_url)
    result, reason = fetch_full_text(story, _settings(full_text_allow_private=False))
    assert result is story
    assert article_url in reason
    assert "FEEDWORKERS_FULL_TEXT_ALLOW_PRIVATE=true" in reason
    assert feed_server.hits("/region/ladenburg/muenzschatz.html") == 0


def test_loopback_is_fetched_when_allowed(article_url):
    result, reason = fetch_full_text(_story(article_url), _settings(full_text_allow_private=True))
    assert result.body_source == "full_text", reason


def test_every_redirect_hop_is_checked(feed_server, monkeypatch):
    """The first hop passes (its host is made to look public); the redirect to a loopback name is refused."""
    import workers.fulltext

    real = workers.fulltext._resolve
    monkeypatch.setattr(
        workers.fulltext, "_resolve", lambda host, port: ["93.184.215.14"] if host == "127.0.0.1" else real(host, port)
    )
    target = f"http://localhost:{feed_server.httpd.server_address[1]}/article.html"
    feed_server.serve("/article.html", ARTICLE, content_type=HTML)
    start = feed_server.serve("/go", b"", status=302, headers={"Location": target}, content_type="text/plain")
    story = _story(start)

    result, reason = fetch_full_text(story, _settings(full_text_allow_private=False))

    assert result is story
    assert f"refused {target}" in reason
    assert "FEEDWORKERS_FULL_TEXT_ALLOW_PRIVATE=true" in reason
    assert (feed_server.hits("/go"), feed_server.hits("/article.html")) == (1, 0)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.178.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("240.0.0.1", False),
        ("224.0.0.251", False),
        ("::1", False),
        ("fe80::1%eth0", False),
        ("fd00::1", False),
        ("::ffff:127.0.0.1", False),
        ("64:ff9b::a00:1", False),
        ("2002:c0a8:101::1", False),
        ("93.184.215.14", True),
        ("2606:4700:4700::1111", True),
    ],
    ids=[
        "loopback",
        "private-10",
        "private-172",
        "private-192",
        "link-local-metadata",
        "shared-cgnat",
        "unspecified",
        "reserved",
        "multicast",
        "ipv6-loopback",
        "ipv6-link-local",
        "ipv6-unique-local",
        "ipv4-mapped-loopback",
        "nat64-private",
        "6to4-private",
        "public-ipv4",
        "public-ipv6",
    ],
)
def test_which_addresses_count_as_public(address, public):
    assert _is_public(address) is public


# --- failures keep the feed text ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("route", "settings", "says"),
    [
        ({"body": b"gone", "status": 404, "content_type": "text/plain"}, _settings(), "returned HTTP 404"),
        ({"body": b"oops", "status": 500, "content_type": "text/html"}, _settings(), "returned HTTP 500"),
        ({"body": ARTICLE, "content_type": HTML, "delay": 2.5}, _settings(fetch_deadline=1), "timed out"),
        (
            {"body": b"%PDF-1.7 ...", "content_type": "application/pdf"},
            _settings(),
            "is application/pdf, not text/html",
        ),
        (
            {"body": ARTICLE, "content_type": HTML, "gzip": False},
            _settings(fetch_max_bytes=4096),
            "over the cap of 4096",
        ),
        ({"body": ARTICLE, "content_type": HTML}, _settings(fetch_max_bytes=4096), "exceeds the cap of 4096"),
        (
            {"body": (PAGES / "consent-wall.html").read_bytes(), "content_type": HTML},
            _settings(),
            "no article text found",
        ),
        (
            {"body": b"<!doctype html><html><body></body></html>", "content_type": HTML},
            _settings(),
            "no article text found",
        ),
    ],
    ids=[
        "http-404",
        "http-500",
        "timeout",
        "not-html",
        "oversized-announced",
        "oversized-gzip-stream",
        "consent-wall",
        "empty-page",
    ],
)
def test_a_failure_keeps_the_feed_text_and_says_why(feed_server, route, settings, says):
    url = feed_server.serve("/page.html", **route)
    story = _story(url)

    result, reason = fetch_full_text(story, settings)

    assert result is story
    assert says in reason
    assert url in reason or "/page.html" in reason
    assert reason.endswith("kept the feed text")


def test_a_page_shorter_than_the_feed_text_keeps_the_feed_text(article_url):
    story = _story(article_url, _words(400), full_text=True)

    result, reason = fetch_full_text(story, _settings())

    assert result is story
    assert "not more than the feed's 400" in reason


def test_a_story_without_an_http_link_is_not_fetched():
    story = _story("ftp://files.example/a.txt", full_text=True)
    result, reason = fetch_full_text(story, _settings())
    assert result is story
    assert "no http(s) link" in reason
