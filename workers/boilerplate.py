"""Boilerplate rules from `config/clean.yaml`: whole blocks of page furniture to drop or to keep as credits.

A rule matches the text of one top-level block of the body (a paragraph, heading, list, ...) and acts on
whole blocks only, so it never cuts text out of the middle of a paragraph. Positions:
`first` only while the body starts with matching blocks, `last` drops the matching block and everything
after it (related-article lists, footers), `any` drops matching blocks wherever they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml

from workers.errors import ConfigError

__all__ = ["Rule", "load_rules"]

Position = Literal["first", "last", "any"]
Action = Literal["remove", "credit"]
_POSITIONS = ("first", "last", "any")
_ACTIONS = ("remove", "credit")


@dataclass(frozen=True, slots=True)
class Rule:
    """One boilerplate rule; `feed` is None for a rule that applies to every feed."""

    name: str
    pattern: re.Pattern[str]
    position: Position = "any"
    action: Action = "remove"
    feed: str | None = None

    def matches(self, text: str) -> bool:
        return self.pattern.search(text) is not None


def load_rules(path: Path) -> tuple[Rule, ...]:
    """The rules in `path` (none when the file is missing); raise ConfigError naming the rule and field."""
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        return ()
    return _load(path, mtime)


@lru_cache(maxsize=4)
def _load(path: Path, _mtime: int) -> tuple[Rule, ...]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        msg = f"{path}: not valid YAML: {exc}"
        raise ConfigError(msg) from None
    rules = [_rule(path, raw, None) for raw in document.get("rules") or []]
    for feed_id, feed_rules in (document.get("feeds") or {}).items():
        rules.extend(_rule(path, raw, str(feed_id)) for raw in feed_rules or [])
    return tuple(rules)


def _rule(path: Path, raw: object, feed: str | None) -> Rule:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        msg = f"{path}: every rule needs a mapping with a 'name', got {raw!r}"
        raise ConfigError(msg)
    where = f"{path}: rule '{raw['name']}'"
    if ("text" in raw) == ("regex" in raw):
        msg = f"{where}: give exactly one of 'text' (a literal the block starts with) or 'regex'"
        raise ConfigError(msg)
    if "text" in raw:
        pattern = re.compile("^" + re.escape(str(raw["text"])), re.IGNORECASE)
    else:
        try:
            pattern = re.compile(str(raw["regex"]), re.IGNORECASE)
        except re.error as exc:
            msg = f"{where}: regex is invalid: {exc}"
            raise ConfigError(msg) from None
    position = raw.get("position", "any")
    if position not in _POSITIONS:
        msg = f"{where}: position must be one of {', '.join(_POSITIONS)}, got {position!r}"
        raise ConfigError(msg)
    action = raw.get("action", "remove")
    if action not in _ACTIONS:
        msg = f"{where}: action must be one of {', '.join(_ACTIONS)}, got {action!r}"
        raise ConfigError(msg)
    return Rule(name=raw["name"], pattern=pattern, position=position, action=action, feed=feed)
