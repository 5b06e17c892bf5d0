"""A benchmark of the story stages that are pure computation: clean and tag, per story, on one core.

The stories come from a labelled corpus's feed files (parsed as the poller would), so they are real
German and English wire copy with their boilerplate; each is cleaned and tagged `repeat` times.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from workers.boilerplate import load_rules
from workers.clean import clean
from workers.errors import ConfigError
from workers.parse import parse
from workers.settings import Settings
from workers.store.models import utcnow
from workers.story import Story
from workers.tag import tag, warm_up

__all__ = ["bench_stages"]


def bench_stages(corpus: Path, settings: Settings, repeat: int = 5) -> dict[str, Any]:
    """Median and p95 milliseconds per story for clean, tag and both, and the same per 2 KB of body."""
    stories = _stories(corpus)
    if not stories:
        msg = f"bench: no stories in {corpus / 'feeds'}; CORPUS_DIR must hold feeds/ with RSS or Atom files"
        raise ConfigError(msg)
    rules = load_rules(settings.clean_file)
    warm_up(settings)
    clean_ms: list[float] = []
    tag_ms: list[float] = []
    per_2kb: list[float] = []
    for _ in range(repeat):
        for story in stories:
            started = time.perf_counter()
            cleaned = clean(story, rules)
            between = time.perf_counter()
            tag(cleaned, settings)
            ended = time.perf_counter()
            clean_ms.append((between - started) * 1000)
            tag_ms.append((ended - between) * 1000)
            size = max(len(story.content_html.encode()), 1)
            per_2kb.append((ended - started) * 1000 * 2048 / size)
    both = [c + t for c, t in zip(clean_ms, tag_ms, strict=True)]
    return {
        "stories": len(stories),
        "repeat": repeat,
        "mean_body_kb": round(statistics.fmean(len(s.content_html.encode()) for s in stories) / 1024, 2),
        "clean_median_ms": round(statistics.median(clean_ms), 3),
        "tag_median_ms": round(statistics.median(tag_ms), 3),
        "clean_and_tag_median_ms": round(statistics.median(both), 3),
        "clean_and_tag_p95_ms": round(_p95(both), 3),
        "clean_and_tag_median_ms_per_2kb": round(statistics.median(per_2kb), 3),
    }


def _stories(corpus: Path) -> list[Story]:
    stories: list[Story] = []
    for path in sorted((corpus / "feeds").glob("*")):
        if path.is_file():
            parsed = parse(path.stem, path.read_bytes(), url=path.resolve().as_uri(), fetched_at=utcnow())
            stories.extend(parsed.stories)
    return stories


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
