"""`feedworkers eval tags`: score cleaning and tagging of the published stories against a labelled corpus.

The corpus goes through the real pipeline (see `workers.evaluate.corpus_run`). Each entry is scored by the
label record of its latest version, against the story it is the published version of; an entry linked as a
duplicate of another story is not scored (what is published for it is the other source's story).
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from workers.evaluate import corpus_run, feed_ids
from workers.store.db import transaction
from workers.store.models import Entry
from workers.store.models import Story as StoryRow

__all__ = ["ENTITY_FIELDS", "TagScore", "evaluate_tags"]

ENTITY_FIELDS = ("persons", "organizations", "places")
_SPACE = re.compile(r"\s+")


@dataclass(slots=True)
class FieldScore:
    true_positives: int = 0
    predicted: int = 0
    expected: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.true_positives / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.expected if self.expected else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(slots=True)
class TagScore:
    """Per-field entity scores, category, regional, language and boilerplate results."""

    scored: int = 0
    linked: int = 0
    entities: dict[str, FieldScore] = field(default_factory=lambda: {name: FieldScore() for name in ENTITY_FIELDS})
    category_right: int = 0
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    regional_right: int = 0
    language_right: int = 0
    boilerplate_clean: int = 0
    boilerplate_failures: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)

    def _share(self, count: int) -> float:
        return round(count / self.scored, 4) if self.scored else 1.0

    def as_dict(self) -> dict[str, Any]:
        share = self._share
        return {
            "stories_scored": self.scored,
            "entries_linked_as_duplicates": self.linked,
            **{
                name: {
                    "precision": round(score.precision, 4),
                    "recall": round(score.recall, 4),
                    "f1": round(score.f1, 4),
                    "misses": score.misses,
                }
                for name, score in self.entities.items()
            },
            "category_accuracy": share(self.category_right),
            "category_confusion": {f"{want} → {got}": n for (want, got), n in sorted(self.confusion.items())},
            "regional_accuracy": share(self.regional_right),
            "language_accuracy": share(self.language_right),
            "boilerplate_clean": share(self.boilerplate_clean),
            "boilerplate_failures": self.boilerplate_failures,
            "wrong": self.wrong,
        }


def evaluate_tags(corpus: Path, *, config_dir: Path, concurrency: int = 2, keep: Path | None = None) -> TagScore:
    """Run `corpus` through the pipeline and score every published story against its label record."""
    with corpus_run(corpus, config_dir=config_dir, concurrency=concurrency, keep=keep) as run:
        return _score(run.database_url, run.labels)


def _score(database_url: str, labels: dict[str, Any]) -> TagScore:
    ids = feed_ids(labels)
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for record in labels["stories"]:
        unit = (ids[record["feed_file"]], record["guid"])
        if unit not in latest or record.get("version", 1) > latest[unit].get("version", 1):
            latest[unit] = record
    score = TagScore()
    with transaction(database_url, readonly=True) as session:
        entries = {(e.feed_id, e.guid): e for e in session.scalars(select(Entry))}
        for unit, record in sorted(latest.items()):
            entry = entries.get(unit)
            story = session.get(StoryRow, entry.story_id) if entry is not None and entry.story_id else None
            if story is None or story.primary_key != entry.key:
                score.linked += 1
                continue
            _score_story(score, record, story)
    return score


def _score_story(score: TagScore, record: dict[str, Any], story: StoryRow) -> None:
    score.scored += 1
    name = record["id"]
    for field_name in ENTITY_FIELDS:
        got, want = set(getattr(story, field_name) or []), set(record.get(field_name) or [])
        result = score.entities[field_name]
        result.true_positives += len(got & want)
        result.predicted += len(got)
        result.expected += len(want)
        if got != want:
            extra, missing = sorted(got - want), sorted(want - got)
            result.misses.append(f"{name}: extra {extra}, missing {missing}")
    score.confusion[(record["category"], story.category or "-")] += 1
    checks = {
        "category": (story.category == record["category"], story.category),
        "regional": (story.regional == record["regional"], story.regional),
        "language": (story.language == record["language"], story.language),
    }
    score.category_right += checks["category"][0]
    score.regional_right += checks["regional"][0]
    score.language_right += checks["language"][0]
    for check, (right, got) in checks.items():
        if not right:
            score.wrong.append(f"{name}: {check} {got!r}, expected {record[check]!r}")
    failures = _boilerplate_failures(record, story)
    if failures:
        score.boilerplate_failures.extend(f"{name}: {failure}" for failure in failures)
    else:
        score.boilerplate_clean += 1


def _boilerplate_failures(record: dict[str, Any], story: StoryRow) -> list[str]:
    """The corpus's cleaning checks: junk gone from text and HTML, the story's own sentences kept."""
    text = _normal(f"{story.title}\n{story.body_text}\n{story.summary}").casefold()
    body = _normal(story.body_text)
    failures = [
        f"still contains {junk!r}" for junk in record.get("must_not_contain", []) if _normal(junk).casefold() in text
    ]
    failures += [f"lost {kept[:60]!r}" for kept in record.get("must_contain", []) if _normal(kept) not in body]
    failures += [
        f"HTML still contains {junk!r}"
        for junk in record.get("must_not_contain_html", [])
        if junk.casefold() in (story.body_html or "").casefold()
    ]
    return failures


def _normal(text: str) -> str:
    return _SPACE.sub(" ", unicodedata.normalize("NFC", html.unescape(text))).strip()
