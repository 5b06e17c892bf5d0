"""`feedworkers eval dedup|tags` score the real pipeline on the labelled corpus (a copy of shared/corpus/dev)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FEEDWORKERS = Path(sys.executable).with_name("feedworkers")
CORPUS = Path(__file__).parent / "data" / "corpus"
ROOT = Path(__file__).resolve().parent.parent


def _environment(**settings: str) -> dict[str, str]:
    # The command makes its own data folder, Redis and store; only the rule files come from the config.
    env = {key: value for key, value in os.environ.items() if not key.startswith("FEEDWORKERS_")}
    return env | {"FEEDWORKERS_CONFIG_DIR": str(ROOT / "config")} | settings


def _eval(corpus: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FEEDWORKERS), "eval", "dedup", str(corpus), *args],
        env=_environment(**settings), capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


@pytest.mark.slow
def test_the_dev_corpus_meets_the_dedup_targets():
    """Precision ≥ 0.99, recall ≥ 0.95, no hard negative merged, every update handled right."""
    result = _eval(CORPUS, "--json")

    assert result.returncode == 0, result.stderr[-3000:]
    score = json.loads(result.stdout)
    assert score["true_pairs"] == 18 and score["hard_negative_pairs"] == 8 and score["updates"] == 14
    assert score["unmatched_records"] == []
    assert score["precision"] >= 0.99, score["wrong_pairs"]
    assert score["recall"] >= 0.95, score["missed_pairs"]
    assert score["hard_negatives_merged"] == []
    assert score["update_accuracy"] == 1.0, score["wrong_updates"]


@pytest.mark.slow
def test_the_threshold_being_tuned_is_the_one_evaluated_and_misses_are_listed():
    """An operator trying a stricter threshold sees the rewrites it would miss, pair by pair."""
    result = _eval(CORPUS, FEEDWORKERS_DEDUP_THRESHOLD="0.9")

    assert result.returncode == 0, result.stderr[-3000:]
    recall = float(result.stdout.split("recall ")[1].split()[0])
    assert recall < 0.95
    assert "missed pair: dev-" in result.stdout
    assert "hard negatives merged: 0 of 8" in result.stdout


@pytest.mark.slow
def test_the_dev_corpus_meets_the_tagging_and_cleaning_targets():
    """Entity F1 ≥ 0.85 each, category ≥ 0.90, regional ≥ 0.95, boilerplate and language 100 %."""
    result = subprocess.run(
        [str(FEEDWORKERS), "eval", "tags", str(CORPUS), "--json"],
        env=_environment(), capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr[-3000:]
    score = json.loads(result.stdout)
    assert score["stories_scored"] >= 55
    for field in ("persons", "organizations", "places"):
        assert score[field]["f1"] >= 0.85, score[field]["misses"]
    assert score["category_accuracy"] >= 0.90, score["category_confusion"]
    assert score["regional_accuracy"] >= 0.95, score["wrong"]
    assert score["language_accuracy"] == 1.0, score["wrong"]
    assert score["boilerplate_clean"] == 1.0, score["boilerplate_failures"]


def test_a_folder_without_labels_is_refused_with_what_it_must_hold(tmp_path):
    result = _eval(tmp_path)

    assert result.returncode == 1
    assert f"eval: {tmp_path / 'labels.json'} not found; CORPUS_DIR must hold labels.json, feeds/ and feeds_v2/" in (
        result.stderr
    )
