"""Full text: when a feed carries only a teaser, fetch the story's page and extract the article from it.

The page is fetched with the feeds' limits (workers.fetch.fetch_page) and refused when its host resolves to a
private, loopback, link-local or reserved address (every redirect hop is checked) unless
`full_text_allow_private` is set. trafilatura extracts the article; its HTML replaces the story's feed body and
is sanitised by the clean stage like any feed body. Any failure leaves the story as it was, with the reason.

Call it before clean: clean derives body_html, body_text, word_count, lead_image and the summary from the new body
(the feed's teaser becomes the summary when the feed has no separate one).
"""

from __future__ import annotations

import dataclasses
import html
import ipaddress
import socket
from urllib.parse import urlsplit

import lxml.etree
import lxml.html
import nh3
import trafilatura

from workers.clean import count_words
from workers.errors import FetchError, PermanentFetchError
from workers.fetch import fetch_page
from workers.settings import Settings
from workers.story import Story

__all__ = ["fetch_full_text", "wants_full_text"]

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_TEXT_TAGS_DROPPED = {"script", "style", "noscript", "template", "iframe", "object", "svg", "math", "title"}


def wants_full_text(story: Story, settings: Settings) -> bool:
    """The feed asks for full text, or the feed body is shorter than `full_text_min_words` (0: only the flag);
    either way the story needs an http(s) link, and a body already extracted is not fetched again."""
    if story.body_source == "full_text" or not _is_http(story.url):
        return False
    if story.full_text:
        return True
    return settings.full_text_min_words > 0 and _feed_words(story) < settings.full_text_min_words


def fetch_full_text(story: Story, settings: Settings) -> tuple[Story, str]:
    """(story with the article's HTML as its body and body_source "full_text", "extracted N words"), or
    (the unchanged story, why not) on any failure: the caller logs the reason and goes on with the feed text."""
    url = story.url
    if not url or not _is_http(url):
        return story, f"full text: story has no http(s) link ({url!r})"
    check = None if settings.full_text_allow_private else _refuse_private
    try:
        page = fetch_page(url, settings, check_url=check)
    except FetchError as exc:
        return story, f"full text: {exc}; kept the feed text"
    except Exception as exc:  # noqa: BLE001 - whatever goes wrong, the feed text is still there
        return story, f"full text: fetching {url} failed ({type(exc).__name__}: {exc}); kept the feed text"
    try:
        article = _extract(page.body, page.content_type, page.url)
    except Exception as exc:  # noqa: BLE001 - any extractor failure falls back to the feed text
        return story, f"full text: extracting {page.url} failed ({type(exc).__name__}: {exc}); kept the feed text"
    if article is None:
        return story, f"full text: no article text found on {page.url}; kept the feed text"
    body_html, words = article
    feed_words = _feed_words(story)
    if words <= feed_words:
        return story, (
            f"full text: the page {page.url} gave {words} words, not more than the feed's {feed_words}; "
            "kept the feed text"
        )
    replaced = dataclasses.replace(
        story,
        content_html=body_html,
        # The feed's own text was a teaser: it stays the story's summary.
        summary_html=story.summary_html or story.content_html,
        body_source="full_text",
    )
    return replaced, f"extracted {words} words"


def _is_http(url: str | None) -> bool:
    return bool(url) and urlsplit(url).scheme in ("http", "https")  # type: ignore[arg-type]


def _feed_words(story: Story) -> int:
    """Words of the feed body: the cleaned text when clean already ran, else the raw HTML's text."""
    if story.body_text:
        return story.word_count or count_words(story.body_text)
    markup = story.content_html
    if "<" in markup:
        # A space before every tag keeps "<p>eins</p><p>zwei</p>" two words.
        markup = nh3.clean(markup.replace("<", " <"), tags=set(), clean_content_tags=_TEXT_TAGS_DROPPED)
    return count_words(html.unescape(markup) if "&" in markup else markup)


def _refuse_private(url: str) -> None:
    """Raise PermanentFetchError when the URL's host resolves to an address that is not public."""
    parts = urlsplit(url)
    host = parts.hostname
    if not host:
        msg = f"refused {url}: it names no host"
        raise PermanentFetchError(msg)
    try:
        addresses = _resolve(host, parts.port or (443 if parts.scheme == "https" else 80))
    except (OSError, ValueError) as exc:
        msg = f"could not resolve the host of {url}: {exc}"
        raise PermanentFetchError(msg) from None
    for address in addresses:
        if not _is_public(address):
            msg = (
                f"refused {url}: {host} resolves to {address}, a private, loopback, link-local or reserved address; "
                "set FEEDWORKERS_FULL_TEXT_ALLOW_PRIVATE=true if intended"
            )
            raise PermanentFetchError(msg)


def _resolve(host: str, port: int) -> list[str]:
    """Every address the host resolves to (an IP literal resolves to itself)."""
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def _is_public(address: str) -> bool:
    """A globally routable unicast address; IPv6 that embeds an IPv4 address (mapped, NAT64, 6to4) is judged
    by the IPv4 address too."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    candidates: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            candidates.append(ip.ipv4_mapped)
        if ip.sixtofour is not None:
            candidates.append(ip.sixtofour)
        if ip in _NAT64:
            candidates.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return all(candidate.is_global and not candidate.is_multicast for candidate in candidates)


def _extract(body: bytes, content_type: str | None, url: str) -> tuple[str, int] | None:
    """The article's HTML (links and images absolute against the page URL) and its word count, or None."""
    document: str | bytes = body
    charset = _charset(content_type)
    if charset:
        try:
            document = body.decode(charset, errors="replace")
        except LookupError:
            document = body
    extracted = trafilatura.extract(
        document,
        url=url,
        output_format="html",
        include_images=True,
        include_links=True,
        include_tables=True,
        include_comments=False,
        favor_precision=True,
        with_metadata=False,
        deduplicate=False,
    )
    if not extracted or not extracted.strip():
        return None
    try:
        tree = lxml.html.document_fromstring(extracted)
    except (lxml.etree.ParserError, ValueError):
        return None
    tree.make_links_absolute(url, resolve_base_href=False, handle_failures="discard")
    container = tree.find("body")
    if container is None:
        return None
    body_html = (html.escape(container.text) if container.text else "") + "".join(
        lxml.html.tostring(child, encoding="unicode", with_tail=True) for child in container
    )
    for block in container.iter("p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "td", "th", "br", "blockquote"):
        block.tail = " " + (block.tail or "")  # "<p>eins</p><p>zwei</p>" is two words; only for counting
    words = count_words("".join(container.itertext()))
    return (body_html.strip(), words) if words else None


def _charset(content_type: str | None) -> str | None:
    for parameter in (content_type or "").split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            return value.strip().strip("\"'")
    return None
