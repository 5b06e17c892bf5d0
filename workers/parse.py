"""Parse a fetched document with feedparser and turn each entry into a Story.

feedparser's own sanitiser is off: HTML is cleaned once, by the clean stage. Nothing outside this module
sees a feedparser type.
"""

from __future__ import annotations

import calendar
import hashlib
import html
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

import feedparser

from workers.errors import ParseError
from workers.identity import canonical_url
from workers.story import Story, story_key

__all__ = ["KeyBy", "ParsedFeed", "parse"]

KeyBy = Literal["guid", "link"]

# An internal DTD subset that declares entities is how billion-laughs and XXE attacks start; no real
# feed needs one, so such documents are refused before any parser sees them (feedparser would not).
_ENTITY_MARKERS = tuple(
    marker.encode(codec) for marker in ("<!ENTITY", "<!entity") for codec in ("utf-8", "utf-16-le", "utf-16-be")
)
_FUTURE_SLACK = timedelta(days=1)
# Complaints that say nothing about well-formedness: an encoding label that was wrong or missing.
_NOT_MALFORMED = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)


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
    if not body.strip():
        msg = f"parse: feed '{feed_id}' is an empty document; check the feed URL"
        raise ParseError(msg)
    if any(marker in body for marker in _ENTITY_MARKERS):
        msg = f"parse: feed '{feed_id}' declares XML entities (a DTD internal subset); refused as unsafe"
        raise ParseError(msg)
    # The served Content-Type is not trusted (feeds come as text/html too); application/xml makes
    # feedparser take the encoding from the BOM or the XML declaration, falling back as it must.
    headers = {"content-location": url, "content-type": "application/xml"}
    parsed = feedparser.parse(body, sanitize_html=False, response_headers=headers)
    if not parsed.get("version") and not parsed.entries:
        msg = f"parse: feed '{feed_id}' is not a feed: {_describe(body, parsed)}; check the feed URL"
        raise ParseError(msg)
    warning = None
    if parsed.get("bozo") and not isinstance(parsed.get("bozo_exception"), _NOT_MALFORMED):
        warning = f"parse: feed '{feed_id}' is not well-formed XML: {parsed.get('bozo_exception')}"
    base = parsed.get("href") or url
    links = [canonical_url(_absolute_link(entry.get("link"), base)) for entry in parsed.entries]
    broken_guids = _same_guid_everywhere(parsed.entries)
    identities = _identities(parsed.entries, links, "link" if broken_guids else key_by)
    stories: list[Story] = []
    invalid = 0
    fetched_iso = fetched_at.isoformat()
    for entry, identity in zip(parsed.entries, identities, strict=True):
        story = _story(feed_id, entry, identity, base, fetched_at, fetched_iso, language_hint)
        if story is None:
            invalid += 1
        else:
            stories.append(story)
    title = parsed.feed.get("title") if parsed.get("feed") else None
    return ParsedFeed(
        title=title,
        stories=stories,
        entries=len(parsed.entries),
        invalid=invalid,
        warning=warning,
        broken_guids=broken_guids,
    )


def _describe(body: bytes, parsed: Any) -> str:
    head = body[:2048].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
        return "an HTML document"
    if head.startswith((b"{", b"[")):
        return "a JSON document"
    error = parsed.get("bozo_exception")
    return f"no RSS or Atom root element ({error})" if error else "no RSS or Atom root element"


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
    base: str,
    fetched_at: datetime,
    fetched_iso: str,
    language_hint: str | None,
) -> Story | None:
    title = entry.get("title", "") or ""
    content_html, summary_html = _content(entry)
    if not title.strip() and not re.sub(r"<[^>]*>|\s", "", content_html):
        return None
    link = _absolute_link(entry.get("link"), base)
    guid = entry.get("id") or None
    return Story(
        canonical_url=canonical_url(link),
        id=story_key(feed_id, identity),
        feed_id=feed_id,
        guid=guid,
        url=link,
        title=title,
        content_html=content_html,
        summary_html=summary_html if summary_html != content_html else "",
        author=entry.get("author") or None,
        published_at=_published(entry, fetched_at),
        fetched_at=fetched_iso,
        source_hash=_hash(title, link or "", content_html, summary_html),
        language_hint=language_hint,
    )


def _absolute_link(link: str | None, base: str) -> str | None:
    if not link:
        return None
    absolute = urljoin(base, link.strip())
    return absolute if urlsplit(absolute).scheme in ("http", "https") else None


def _published(entry: Any, fetched_at: datetime) -> str | None:
    """The entry's date, clamped to fetch time + 1 day; None when missing or unusable."""
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        # dict.get skips feedparser's deprecated key remapping (and its warning).
        value = dict.get(entry, key)
        if not value:
            continue
        try:
            when = datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
        except (OverflowError, ValueError, OSError):
            continue
        if when.year < 1970:
            continue
        return min(when, fetched_at + _FUTURE_SLACK).isoformat()
    return None


def _hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
