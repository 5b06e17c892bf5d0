"""A benchmark of the story stages that are pure computation: clean and tag, per story, on one core.

The stories come from a labelled corpus's feed files (parsed as the poller would), so they are real
German and English wire copy with their boilerplate. The budget is stated per 2 KB story, and wire copy
is often shorter, so besides the corpus stories as they are, the benchmark times 2 KB stories made of them:
each story's body followed by whole paragraphs of the next stories in the same language until the body
holds 2 KB. Scaling short stories up instead would charge every story's fixed costs several times over.
"""

from __future__ import annotations

import dataclasses
import re
import statistics
import time
from pathlib import Path
from typing import Any

from workers.boilerplate import Rule, load_rules
from workers.clean import clean
from workers.errors import ConfigError
from workers.language import detect_language
from workers.parse import parse
from workers.settings import Settings
from workers.store.models import utcnow
from workers.story import Story
from workers.tag import tag, warm_up

__all__ = ["TWO_KB", "bench_stages", "two_kb_stories"]

TWO_KB = 2048
_PARAGRAPH = re.compile(r"<p[\s>].*?</p>", re.DOTALL | re.IGNORECASE)


def bench_stages(corpus: Path, settings: Settings, repeat: int = 5) -> dict[str, Any]:
    """Median and p95 milliseconds per story for clean, tag and both, on the corpus and on 2 KB stories."""
    stories = _stories(corpus)
    if not stories:
        msg = f"bench: no stories in {corpus / 'feeds'}; CORPUS_DIR must hold feeds/ with RSS or Atom files"
        raise ConfigError(msg)
    rules = load_rules(settings.clean_file)
    warm_up(settings)
    natural = _time(stories, rules, settings, repeat)
    sized = two_kb_stories(stories, settings)
    composed = _time(sized, rules, settings, repeat)
    both = [c + t for c, t in zip(*natural, strict=True)]
    both_2kb = [c + t for c, t in zip(*composed, strict=True)]
    return {
        "stories": len(stories),
        "repeat": repeat,
        "mean_body_kb": round(statistics.fmean(len(s.content_html.encode()) for s in stories) / 1024, 2),
        "clean_median_ms": round(statistics.median(natural[0]), 3),
        "tag_median_ms": round(statistics.median(natural[1]), 3),
        "clean_and_tag_median_ms": round(statistics.median(both), 3),
        "clean_and_tag_p95_ms": round(_p95(both), 3),
        "two_kb_stories": len(sized),
        "two_kb_mean_body_kb": round(statistics.fmean(len(s.content_html.encode()) for s in sized) / 1024, 2),
        "two_kb_clean_median_ms": round(statistics.median(composed[0]), 3),
        "two_kb_tag_median_ms": round(statistics.median(composed[1]), 3),
        "two_kb_clean_and_tag_median_ms": round(statistics.median(both_2kb), 3),
        "two_kb_clean_and_tag_p95_ms": round(_p95(both_2kb), 3),
    }


def two_kb_stories(stories: list[Story], settings: Settings) -> list[Story]:
    """Each story with paragraphs of the following same-language stories appended until its body holds 2 KB."""
    languages = [detect_language(f"{s.title}\n{s.content_html}", settings.languages, s.language_hint) for s in stories]
    sized: list[Story] = []
    for number, story in enumerate(stories):
        body, size = [story.content_html], len(story.content_html.encode())
        others = [
            stories[k % len(stories)]
            for k in range(number + 1, number + len(stories))
            if languages[k % len(stories)] == languages[number]
        ]
        for paragraph in (p for other in others for p in _PARAGRAPH.findall(other.content_html)):
            if size >= TWO_KB:
                break
            body.append(paragraph)
            size += len(paragraph.encode())
        if size >= TWO_KB:
            sized.append(dataclasses.replace(story, content_html="\n".join(body)))
    return sized


def _time(stories: list[Story], rules: tuple[Rule, ...], settings: Settings, repeat: int) -> tuple[list[float], ...]:
    clean_ms: list[float] = []
    tag_ms: list[float] = []
    for _ in range(repeat):
        for story in stories:
            started = time.perf_counter()
            cleaned = clean(story, rules)
            between = time.perf_counter()
            tag(cleaned, settings)
            ended = time.perf_counter()
            clean_ms.append((between - started) * 1000)
            tag_ms.append((ended - between) * 1000)
    return clean_ms, tag_ms


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
