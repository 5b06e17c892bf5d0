"""Load and validate `config/feeds.yaml`: the declarative list of feeds."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from workers.errors import ConfigError

__all__ = ["MIN_INTERVAL", "FeedConfig", "load_feeds"]

MIN_INTERVAL = 30
_FEED_ID = re.compile(r"^[a-z0-9-]+$")
_LANGUAGE = re.compile(r"^[a-z]{2}$")
_KNOWN_KEYS = {
    "id", "url", "interval", "language", "attribution", "tags", "enabled", "title", "priority", "full_text", "category",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class FeedConfig:
    """One feed as configured."""

    id: str
    url: str
    interval: int = 300
    language: str | None = None
    attribution: str | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)
    enabled: bool = True
    title: str | None = None
    priority: int = 0
    full_text: bool = False
    category: str | None = None


def load_feeds(path: Path) -> list[FeedConfig]:
    """Read and validate the feeds file; raise ConfigError naming the file, the feed and the field."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        msg = f"{path}: file not found; create it or set FEEDWORKERS_CONFIG_DIR to the folder that holds feeds.yaml"
        raise ConfigError(msg) from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        msg = f"{path}: not valid YAML: {exc}"
        raise ConfigError(msg) from None
    if document is None:
        document = {"feeds": []}
    if not isinstance(document, dict) or not isinstance(document.get("feeds", []), list):
        msg = f"{path}: expected a mapping with a list under 'feeds'"
        raise ConfigError(msg)
    feeds: list[FeedConfig] = []
    seen: set[str] = set()
    for position, raw in enumerate(document.get("feeds") or [], start=1):
        feed = _parse_feed(path, position, raw)
        if feed.id in seen:
            msg = f"{path}: feed '{feed.id}': id is used twice; feed ids must be unique"
            raise ConfigError(msg)
        seen.add(feed.id)
        feeds.append(feed)
    return feeds


def _has_host(url: str) -> bool:
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a malformed port or IPv6 literal
    except ValueError:
        return False
    return bool(parts.hostname)


def _parse_feed(path: Path, position: int, raw: Any) -> FeedConfig:
    if not isinstance(raw, dict):
        msg = f"{path}: feed #{position}: expected a mapping with id, url and interval"
        raise ConfigError(msg)
    feed_id = raw.get("id")
    if not isinstance(feed_id, str) or not _FEED_ID.match(feed_id):
        msg = f"{path}: feed #{position}: id must match [a-z0-9-]+, got {feed_id!r}"
        raise ConfigError(msg)
    where = f"{path}: feed '{feed_id}'"
    unknown = sorted(set(raw) - _KNOWN_KEYS)
    if unknown:
        msg = f"{where}: unknown field {unknown[0]!r}; known fields are {', '.join(sorted(_KNOWN_KEYS))}"
        raise ConfigError(msg)
    url = raw.get("url")
    # Only these schemes: anything else (javascript:, data:, ftp:) is never fetched; `file:` is the operator's
    # own drop folder and is never followed from a redirect (fetch.py).
    if not isinstance(url, str) or not url.startswith(("http://", "https://", "file:")):
        msg = f"{where}: url must start with http://, https:// or file: (a local feed file), got {url!r}"
        raise ConfigError(msg)
    if any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in url):
        msg = f"{where}: url contains spaces or control characters, got {url!r}; percent-encode them (%20)"
        raise ConfigError(msg)
    if url.startswith("http") and not _has_host(url):
        msg = f"{where}: url has no valid host, got {url!r}"
        raise ConfigError(msg)
    if url.startswith("file://") and urlsplit(url).netloc not in ("", "localhost"):
        msg = f"{where}: a file: url names a file on this machine (file:///absolute/path), got {url!r}"
        raise ConfigError(msg)
    if url.startswith("file:") and not url.startswith("file://"):
        # `file:relative/path` is resolved against the folder of the feeds file.
        url = (path.parent / url.removeprefix("file:")).resolve().as_uri()
    interval = raw.get("interval", 300)
    if isinstance(interval, bool) or not isinstance(interval, int):
        msg = f"{where}: interval must be a whole number of seconds, got {interval!r}"
        raise ConfigError(msg)
    if interval < MIN_INTERVAL:
        msg = f"{where}: interval must be ≥ {MIN_INTERVAL} seconds, got {interval}"
        raise ConfigError(msg)
    language = raw.get("language")
    if language is not None and (not isinstance(language, str) or not _LANGUAGE.match(language)):
        msg = f"{where}: language must be a two-letter ISO 639-1 code like 'de', got {language!r}"
        raise ConfigError(msg)
    attribution = raw.get("attribution")
    if attribution is not None and not isinstance(attribution, str):
        msg = f"{where}: attribution must be text, got {attribution!r}"
        raise ConfigError(msg)
    tags = raw.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
        msg = f"{where}: tags must be a list of non-empty strings, got {tags!r}"
        raise ConfigError(msg)
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        msg = f"{where}: enabled must be true or false, got {enabled!r}"
        raise ConfigError(msg)
    title = raw.get("title")
    priority = raw.get("priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int):
        msg = f"{where}: priority must be a whole number (higher wins when duplicates meet), got {priority!r}"
        raise ConfigError(msg)
    full_text = raw.get("full_text", False)
    if not isinstance(full_text, bool):
        msg = f"{where}: full_text must be true or false, got {full_text!r}"
        raise ConfigError(msg)
    category = raw.get("category")
    if category is not None and (not isinstance(category, str) or not category.strip()):
        msg = f"{where}: category must be the name of a category in tags.yaml, got {category!r}"
        raise ConfigError(msg)
    return FeedConfig(
        id=feed_id,
        url=url,
        interval=interval,
        language=language,
        attribution=attribution.strip() if attribution else None,
        tags=tuple(t.strip() for t in tags),
        enabled=enabled,
        title=str(title) if title is not None else None,
        priority=priority,
        full_text=full_text,
        category=category.strip() if category else None,
    )
