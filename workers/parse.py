"""Parse a fetched document with feedparser and turn each entry into a Story.

feedparser's own sanitiser is off: HTML is cleaned once, by the clean stage. Nothing outside this module
sees a feedparser type.

Hostile or broken documents (rules P1-P11 of tests/hostile/README.md): entity declarations are refused before
feedparser sees them (P2); empty, JSON, HTML or another root than rss, rdf:RDF or Atom feed is not a feed (P1).
XML that is not well-formed (forbidden control characters are removed, and count) keeps its complete entries,
each parsed on its own (xml_guard.recover_entries), and the feed's warning says where the XML broke; nothing
recovered is an error (P3). Entries without title or text, or unreadable, are skipped and counted (P5); HTML
over the per-entry limit is cut at a tag (P10); links are absolute http(s) (P8); dates are clamped or dropped
(P9); zero entries is not an error (P11).
"""

from __future__ import annotations

import calendar
import hashlib
import html
import re
import xml.sax
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

import feedparser
import structlog

from workers.clean import plain_text
from workers.errors import ParseError
from workers.identity import canonical_url
from workers.story import Story, story_key
from workers.xml_guard import Prolog, read_prolog, recover_entries, strip_forbidden_controls

__all__ = ["MAX_ENTRY_CHARS", "KeyBy", "ParsedFeed", "parse"]

KeyBy = Literal["guid", "link"]

_log = structlog.get_logger("workers.parse")

# P10: an entry's HTML beyond this is cut (a 5 MiB description is a publisher's accident, not an article).
MAX_ENTRY_CHARS = 1024 * 1024
_AUTHOR_MAX = 300
_FUTURE_SLACK = timedelta(days=1)
# Complaints that say nothing about well-formedness: an encoding label that was wrong or missing.
_NOT_MALFORMED = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
_FEED_ROOTS = frozenset(("rss", "rdf", "feed"))
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_NEEDS_CLEANING = re.compile(r"[<&\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_VISIBLE = re.compile(r"[^\s\u200b-\u200d\u2060\ufeff]")


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """The stories of one document, how many entries were unusable, and the parser's complaint if any.

    `broken_guids` says why the document's guids cannot identify its entries (they were keyed by link).
    """

    title: str | None
    stories: list[Story]
    entries: int
    invalid: int
    warning: str | None
    broken_guids: str | None = None


def parse(
    feed_id: str,
    body: bytes,
    *,
    url: str,
    fetched_at: datetime,
    language_hint: str | None = None,
    key_by: KeyBy = "guid",
) -> ParsedFeed:
    """Parse `body` fetched from `url`; raise ParseError naming the feed when it is not a usable feed.

    Entries are keyed by guid, falling back to the canonical link and then to a content fingerprint;
    with `key_by="link"` (a feed known for broken guids) the link comes first.
    """
    body, control = strip_forbidden_controls(body)
    prolog = _refuse_unsafe_or_empty(feed_id, body)
    parsed = _feedparser(feed_id, body, url)
    root = (prolog.root_local_name or "").lower()
    if not parsed.get("version") and root not in _FEED_ROOTS:
        msg = f"parse: feed '{feed_id}' is not a feed: {_describe(prolog, parsed)}; check the feed URL"
        raise ParseError(msg)
    xml_error = _xml_error(parsed)
    entries, in_document = list(parsed.entries), len(parsed.entries)
    if xml_error:
        recovered = recover_entries(body, parsed.get("encoding"), entries, partial(_chunk_entry, feed_id, url))
        entries, in_document = recovered
    base = parsed.get("href") or url
    absolute = [_absolute_link(entry.get("link"), base) for entry in entries]
    links = [canonical_url(link) for link in absolute]  # once per entry: URL normalising is not cheap
    broken_guids = _same_guid_everywhere(entries)
    identities = _identities(entries, links, "link" if broken_guids else key_by)
    stories: list[Story] = []
    fetched_iso = fetched_at.isoformat()
    for entry, identity, link, canonical in zip(entries, identities, absolute, links, strict=True):
        try:
            story = _story(feed_id, entry, identity, (link, canonical), fetched_at, fetched_iso, language_hint)
        except Exception as error:  # noqa: BLE001 - one unreadable entry must not cost the feed its other stories
            _log.warning("entry skipped", feed_id=feed_id, reason=f"{type(error).__name__}: {error}")
            story = None
        if story is not None:
            stories.append(story)
    warning = None
    if xml_error and not stories:
        msg = f"parse: feed '{feed_id}' is not well-formed XML ({xml_error}) and has no complete entry"
        raise ParseError(msg)
    if xml_error or control:
        problems = "; ".join(p for p in (f"{control}, removed" if control else None, xml_error) if p)
        warning = (
            f"parse: feed '{feed_id}' is not well-formed XML ({problems}); {len(stories)} of its {in_document} "
            "entries kept"
        )
    title = parsed.feed.get("title") if parsed.get("feed") else None
    return ParsedFeed(
        title=title,
        stories=stories,
        entries=in_document,
        invalid=in_document - len(stories),
        warning=warning,
        broken_guids=broken_guids,
    )


def _refuse_unsafe_or_empty(feed_id: str, body: bytes) -> Prolog:
    """Refuse an empty or JSON document, or one whose DOCTYPE declares entities (P1, P2)."""
    prolog = read_prolog(body)
    if prolog.kind == "empty":
        msg = f"parse: feed '{feed_id}' is an empty document; check the feed URL"
        raise ParseError(msg)
    if prolog.declares_entities:
        msg = (
            f"parse: feed '{feed_id}' declares XML entities in its DOCTYPE "
            "(entity expansion / external entities are refused)"
        )
        raise ParseError(msg)
    if prolog.kind in ("JSON", "JSON Feed"):
        kind = "a JSON Feed document (only RSS and Atom are read)" if prolog.kind == "JSON Feed" else "a JSON document"
        msg = f"parse: feed '{feed_id}' is not a feed: {kind}; check the feed URL"
        raise ParseError(msg)
    return prolog


def _describe(prolog: Prolog, parsed: Any) -> str:
    if prolog.kind == "HTML":
        return "an HTML document"
    if prolog.root:
        return f"no RSS or Atom root element (the root element is <{prolog.root}>)"
    error = parsed.get("bozo_exception")
    return f"no RSS or Atom root element ({error})" if error else "no RSS or Atom root element"


def _xml_error(parsed: Any) -> str | None:
    """The well-formedness error, with its line and column; None for a well-formed document."""
    error = parsed.get("bozo_exception")
    if not parsed.get("bozo") or error is None or isinstance(error, _NOT_MALFORMED):
        return None
    if isinstance(error, xml.sax.SAXParseException):
        line, column = error.getLineNumber(), error.getColumnNumber()
        if isinstance(line, int) and isinstance(column, int):
            # expat counts columns from 0; editors and people count from 1.
            return f"{error.getMessage()} at line {line}, column {column + 1}"
    return str(error) or type(error).__name__


def _feedparser(feed_id: str, body: bytes, url: str) -> Any:
    # The served Content-Type is not trusted (feeds come as text/html too); application/xml makes
    # feedparser take the encoding from the BOM or the XML declaration, falling back as it must.
    headers = {"content-location": url, "content-type": "application/xml"}
    try:
        return feedparser.parse(body, sanitize_html=False, response_headers=headers)
    except Exception as error:  # noqa: BLE001 - the loose parser itself gave up (P3): this feed's error, not the worker's
        msg = f"parse: feed '{feed_id}' could not be parsed at all ({type(error).__name__}: {error})"
        raise ParseError(msg) from None


def _chunk_entry(feed_id: str, url: str, document: bytes) -> list[Any]:
    # The chunk's entry is the document's last: anything entry-like before it came from a broken head.
    try:
        return list(_feedparser(feed_id, document, url).entries[-1:])
    except ParseError:
        return []


def _same_guid_everywhere(entries: list[Any]) -> str | None:
    """Why the document's guids identify nothing: every entry (two or more) carries the same one."""
    guids = [e.get("id") for e in entries]
    if len(guids) >= 2 and guids[0] and all(guid == guids[0] for guid in guids):
        return f"every entry carries the same guid {guids[0][:80]!r}"
    return None


def _identities(entries: list[Any], links: list[str | None], key_by: KeyBy) -> list[str]:
    """Each entry's identity: guid, else canonical link, else a hash of title and content (with
    `key_by="link"`: canonical link first).

    Entries of one document that share a guid (or link) are told apart by link (or guid), then by title.
    """
    firsts = [(e.get("id") if key_by == "guid" else link) or None for e, link in zip(entries, links, strict=True)]
    seconds = [(link if key_by == "guid" else e.get("id")) or None for e, link in zip(entries, links, strict=True)]
    counts = Counter(first for first in firsts if first)
    pairs = Counter(zip(firsts, seconds, strict=True))
    identities = []
    for entry, first, second in zip(entries, firsts, seconds, strict=True):
        if first:
            identity = first if key_by == "guid" else f"link:{first}"
            if counts[first] > 1:
                identity = f"{identity}\n{second or ''}"
                if pairs[(first, second)] > 1:
                    identity = f"{identity}\n{entry.get('title', '')}"
        elif second:
            identity = f"link:{second}" if key_by == "guid" else second
        else:
            identity = "sha256:" + _hash(entry.get("title", ""), _content(entry)[0])
        identities.append(identity)
    return identities


def _content(entry: Any) -> tuple[str, str]:
    """(full content HTML, summary HTML); plain-text content is escaped so it stays text."""
    summary = _as_html(entry.get("summary_detail"), entry.get("summary", ""))
    contents = entry.get("content") or []
    if contents:
        best = max(contents, key=lambda c: len(c.get("value", "")))
        return _as_html(best, best.get("value", "")), summary
    return summary, ""


def _as_html(detail: Any, value: str) -> str:
    if detail and detail.get("type") == "text/plain":
        return html.escape(value)
    return value or ""


def _story(
    feed_id: str,
    entry: Any,
    identity: str,
    links: tuple[str | None, str | None],
    fetched_at: datetime,
    fetched_iso: str,
    language_hint: str | None,
) -> Story | None:
    title = entry.get("title", "") or ""
    content_html, summary_html = _content(entry)
    if not _has_text(title) and not _has_text(content_html):
        return None
    content_html, cut = _capped(content_html)
    summary_html, cut_summary = _capped(summary_html)
    if cut or cut_summary:
        _log.warning("entry truncated", feed_id=feed_id, limit=MAX_ENTRY_CHARS, title=title[:120])
    link, canonical = links
    guid = _CONTROLS.sub("", entry.get("id") or "").strip() or None
    author = plain_text(entry.get("author") or "")[:_AUTHOR_MAX]
    return Story(
        canonical_url=canonical,
        id=story_key(feed_id, identity),
        feed_id=feed_id,
        guid=guid,
        url=link,
        title=title,
        content_html=content_html,
        summary_html=summary_html if summary_html != content_html else "",
        author=author or None,
        published_at=_published(entry, fetched_at),
        fetched_at=fetched_iso,
        source_hash=_hash(title, link or "", content_html, summary_html),
        language_hint=language_hint,
    )


def _has_text(markup: str) -> bool:
    """True when a reader would see text: not only tags, entities for spaces, control characters or scripts."""
    if not _VISIBLE.search(markup):
        return False
    if not _NEEDS_CLEANING.search(markup):
        return True
    return bool(_VISIBLE.search(plain_text(markup)))


def _capped(markup: str) -> tuple[str, bool]:
    """The HTML cut to MAX_ENTRY_CHARS, never inside a tag (the sanitiser closes what stays open)."""
    if len(markup) <= MAX_ENTRY_CHARS:
        return markup, False
    cut = markup[:MAX_ENTRY_CHARS]
    tag = cut.rfind("<")
    if tag > cut.rfind(">"):
        cut = cut[:tag]
    return cut, True


def _absolute_link(link: str | None, base: str) -> str | None:
    link = _CONTROLS.sub("", link or "").strip()
    if not link:
        return None
    try:
        absolute = urljoin(base, link)
        return absolute if urlsplit(absolute).scheme in ("http", "https") else None
    except ValueError:  # a malformed URL (an unbalanced IPv6 bracket, say) is no link at all
        return None


def _published(entry: Any, fetched_at: datetime) -> str | None:
    """The entry's date, clamped to fetch time + 1 day; None when missing or unusable."""
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        # dict.get skips feedparser's deprecated key remapping (and its warning).
        value = dict.get(entry, key)
        if not value:
            continue
        try:
            when = datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
        except (OverflowError, ValueError, OSError, TypeError):
            continue  # year -1 (feedparser's reading of 1899-12-31T23:59:59Z), year 10000 and the like
        if when.year < 1970:
            continue
        return min(when, fetched_at + _FUTURE_SLACK).isoformat()
    return None


def _hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
