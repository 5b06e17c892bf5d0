"""`feedworkers eval dedup`: run a labelled corpus through the real pipeline and score the identity rules.

The corpus format is the one of `shared/corpus/dev/` (see its README): `feeds/` is polled first, then
`feeds_v2/`, each with `feedworkers run --once` in a private data folder (its own embedded Redis, worker
processes and SQLite store), so what is scored is exactly what production does.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from workers.errors import ConfigError
from workers.store.db import dispose_engines, transaction
from workers.store.models import Decision, Entry, utcnow

__all__ = ["CorpusRun", "DedupScore", "corpus_run", "evaluate_dedup", "feed_ids"]

_TUNING = ("FEEDWORKERS_DEDUP_", "FEEDWORKERS_LANGUAGES", "FEEDWORKERS_FULL_TEXT_")
_RULE_FILES = ("clean.yaml", "tags.yaml", "region.yaml")


@dataclass(slots=True)
class DedupScore:
    """Pairwise duplicate scores, hard negatives merged, and update handling."""

    true_pairs: int = 0
    predicted_pairs: int = 0
    correct_pairs: int = 0
    hard_negatives: int = 0
    hard_negatives_merged: list[str] = field(default_factory=list)
    updates: int = 0
    updates_right: int = 0
    missed_pairs: list[str] = field(default_factory=list)
    wrong_pairs: list[str] = field(default_factory=list)
    wrong_updates: list[str] = field(default_factory=list)
    unmatched_records: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def update_accuracy(self) -> float:
        return self.updates_right / self.updates if self.updates else 1.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "true_pairs": self.true_pairs,
            "predicted_pairs": self.predicted_pairs,
            "correct_pairs": self.correct_pairs,
            "hard_negative_pairs": self.hard_negatives,
            "hard_negatives_merged": self.hard_negatives_merged,
            "updates": self.updates,
            "updates_right": self.updates_right,
            "update_accuracy": round(self.update_accuracy, 4),
            "missed_pairs": self.missed_pairs,
            "wrong_pairs": self.wrong_pairs,
            "wrong_updates": self.wrong_updates,
            "unmatched_records": self.unmatched_records,
        }


@dataclass(frozen=True, slots=True)
class CorpusRun:
    """A labelled corpus after both polls: its labels, the store it went into, and when poll 2 began."""

    labels: dict[str, Any]
    database_url: str
    second_poll: datetime


@contextmanager
def corpus_run(
    corpus: Path, *, config_dir: Path, concurrency: int = 2, keep: Path | None = None
) -> Iterator[CorpusRun]:
    """Poll `corpus/feeds`, then `corpus/feeds_v2`, through the real pipeline in a private folder.

    The rule files of `config_dir` (clean.yaml, tags.yaml, region.yaml) are used; the store is deleted
    afterwards unless `keep` names a folder for it.
    """
    labels = _labels(corpus)
    workdir = Path(tempfile.mkdtemp(prefix="feedworkers-eval-")) if keep is None else keep
    try:
        config = workdir / "config"
        config.mkdir(parents=True, exist_ok=True)
        for name in _RULE_FILES:
            if (config_dir / name).is_file():
                shutil.copy(config_dir / name, config / name)
        database_url = f"sqlite:///{(workdir / 'eval.db').resolve()}"
        # A private data folder, Redis and store; the tuning settings (FEEDWORKERS_DEDUP_*) are what is evaluated.
        environment = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("FEEDWORKERS_") or key.startswith(_TUNING)
        }
        environment |= {
            "FEEDWORKERS_CONFIG_DIR": str(config),
            "FEEDWORKERS_DATA_DIR": str(workdir / "data"),
            "FEEDWORKERS_DATABASE_URL": database_url,
            "FEEDWORKERS_LOG_LEVEL": "WARNING",
        }
        _write_feeds(config / "feeds.yaml", corpus, labels, "file_v1")
        _run_once(environment, concurrency, "file_v1")
        second_poll = utcnow()
        _write_feeds(config / "feeds.yaml", corpus, labels, "file_v2")
        _run_once(environment, concurrency, "file_v2")
        yield CorpusRun(labels, database_url, second_poll)
    finally:
        dispose_engines()
        if keep is None:
            shutil.rmtree(workdir, ignore_errors=True)


def evaluate_dedup(corpus: Path, *, config_dir: Path, concurrency: int = 2, keep: Path | None = None) -> DedupScore:
    """Poll `corpus/feeds`, then `corpus/feeds_v2`, through the pipeline; score against `labels.json`."""
    with corpus_run(corpus, config_dir=config_dir, concurrency=concurrency, keep=keep) as run:
        return _score(run.database_url, run.labels, run.second_poll)


def _labels(corpus: Path) -> dict[str, Any]:
    path = corpus / "labels.json"
    try:
        labels = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        msg = f"eval: {path} not found; CORPUS_DIR must hold labels.json, feeds/ and feeds_v2/"
        raise ConfigError(msg) from None
    except json.JSONDecodeError as error:
        msg = f"eval: {path} is not valid JSON: {error}"
        raise ConfigError(msg) from None
    for key in ("feeds", "stories", "dup_groups", "hard_negative_pairs", "updates"):
        if key not in labels:
            msg = f"eval: {path} has no '{key}'; is this a labelled corpus in the format of shared/corpus/dev?"
            raise ConfigError(msg)
    return labels


def _write_feeds(path: Path, corpus: Path, labels: dict[str, Any], poll: str) -> None:
    feeds = []
    for feed in labels["feeds"]:
        source = (corpus / feed[poll]).resolve()
        if not source.is_file():
            msg = f"eval: feed '{feed['id']}': {source} not found"
            raise ConfigError(msg)
        entry = {"id": feed["id"], "url": source.as_uri(), "interval": 3600, "language": feed.get("language")}
        if feed.get("attribution"):
            entry["attribution"] = feed["attribution"]
        if "priority" in feed:
            entry["priority"] = int(feed["priority"])
        feeds.append(entry)
    path.write_text(yaml.safe_dump({"feeds": feeds}, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _run_once(environment: dict[str, str], concurrency: int, poll: str) -> None:
    command = [sys.executable, "-m", "workers.cli", "run", "--once", "--concurrency", str(concurrency)]
    result = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=900, check=False)
    if result.returncode != 0:
        msg = f"eval: `feedworkers run --once` for the {poll} poll exited with {result.returncode}: {result.stderr[-2000:]}"
        raise RuntimeError(msg)


def _score(database_url: str, labels: dict[str, Any], second_poll: datetime) -> DedupScore:
    with transaction(database_url, readonly=True) as session:
        entries = {
            (row.feed_id, row.guid): (row.key, row.story_id)
            for row in session.execute(select(Entry.feed_id, Entry.guid, Entry.key, Entry.story_id))
        }
        # Entries that got a new version (published or pending) in the second poll.
        revised = set(
            session.scalars(
                select(Decision.entry_key).where(Decision.revision.is_not(None), Decision.created_at >= second_poll)
            )
        )
    ids = feed_ids(labels)
    score = DedupScore()
    story_of: dict[str, str | None] = {}
    key_of: dict[str, str] = {}
    group_of: dict[str, str] = {}
    for record in labels["stories"]:
        unit = (ids[record["feed_file"]], record["guid"])
        found = entries.get(unit)
        if found is None:
            score.unmatched_records.append(record["id"])
            continue
        key_of[record["id"]], story_of[record["id"]] = found
        if record.get("dup_group"):
            group_of[record["id"]] = record["dup_group"]
    # One unit per entry: the record that introduced it.
    units = sorted({_first_record(labels, record) for record in labels["stories"]} & set(story_of))
    for a, b in itertools.combinations(units, 2):
        same_truth = a in group_of and group_of.get(a) == group_of.get(b)
        same_story = story_of[a] is not None and story_of[a] == story_of[b]
        score.true_pairs += same_truth
        score.predicted_pairs += same_story
        score.correct_pairs += same_truth and same_story
        if same_truth and not same_story:
            score.missed_pairs.append(f"{a} / {b}")
        if same_story and not same_truth:
            score.wrong_pairs.append(f"{a} / {b}")
    for pair in labels["hard_negative_pairs"]:
        a, b = pair["members"]
        score.hard_negatives += 1
        if story_of.get(a) is not None and story_of.get(a) == story_of.get(b):
            score.hard_negatives_merged.append(pair["id"])
    for update in labels["updates"]:
        key = key_of.get(update["previous_record"])
        if key is None:
            continue
        score.updates += 1
        if (key in revised) == bool(update["expect_new_revision"]):
            score.updates_right += 1
        else:
            want = "a new revision" if update["expect_new_revision"] else "no new revision"
            score.wrong_updates.append(f"{update['record']} ({update['update']}): expected {want}")
    return score


def feed_ids(labels: dict[str, Any]) -> dict[str, str]:
    """Feed id by corpus file name, for both polls."""
    return {feed[poll]: feed["id"] for feed in labels["feeds"] for poll in ("file_v1", "file_v2")}


def _first_record(labels: dict[str, Any], record: dict[str, Any]) -> str:
    """The version-1 record of an entry (or its own id when it first appeared in the second poll)."""
    if record.get("version", 1) == 1:
        return record["id"]
    name = record["feed_file"].split("/")[-1]
    for other in labels["stories"]:
        same_entry = other["guid"] == record["guid"] and other["feed_file"].split("/")[-1] == name
        if same_entry and other.get("version", 1) == 1:
            return other["id"]
    return record["id"]
