"""The one normalised story model that every stage shares, and its wire form."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, fields
from typing import Any

__all__ = ["Story", "story_key"]


def story_key(feed_id: str, identity: str) -> str:
    """The full-length key of a feed entry: SHA-256 of the feed id and the entry's identity."""
    return hashlib.sha256(f"{feed_id}\x00{identity}".encode()).hexdigest()


@dataclass(slots=True)
class Story:
    """A story as it travels from the poller through clean, dedup, tag and publish.

    The poller fills the source fields; each later stage returns a copy with its own fields set.
    Timestamps are ISO 8601 strings in UTC, so the wire form is plain JSON.
    """

    # identity and source (poll)
    id: str
    feed_id: str
    guid: str | None
    url: str | None
    title: str
    content_html: str
    summary_html: str = ""
    author: str | None = None
    published_at: str | None = None
    fetched_at: str = ""
    source_hash: str = ""
    poll_id: str | None = None
    canonical_url: str | None = None
    # from the feed's configuration, copied in by the poller so story work needs no feed lookup
    language_hint: str | None = None
    priority: int = 0
    attribution: str | None = None
    feed_tags: list[str] = field(default_factory=list)
    full_text: bool = False
    category_hint: str | None = None
    # clean
    body_html: str = ""
    body_text: str = ""
    summary: str = ""
    credits: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    content_hash: str = ""
    word_count: int = 0
    lead_image: str | None = None
    # where the body came from: "feed", or "full_text" when the article page was extracted
    body_source: str = "feed"
    # tag
    language: str | None = None
    tags: list[str] = field(default_factory=list)
    persons: list[str] = field(default_factory=list)
    organizations: list[str] = field(default_factory=list)
    places: list[str] = field(default_factory=list)
    category: str | None = None
    regional: bool = False
    keywords: list[str] = field(default_factory=list)

    def to_wire(self) -> dict[str, Any]:
        """A JSON-serialisable dict for a Celery message."""
        return asdict(self)

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Story:
        """Rebuild a Story from `to_wire` output, ignoring keys this version does not know."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
