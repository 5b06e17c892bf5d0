"""Tag stage: the story's language (restricted to the configured languages) and the feed's tags."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from py3langid.langid import MODEL_FILE, LanguageIdentifier

from workers.story import Story

__all__ = ["detect_language", "tag", "warm_up"]

# Below this many letters a detector guesses; the feed's language hint is the better answer there.
_MIN_LETTERS = 40


@lru_cache(maxsize=4)
def _identifier(languages: tuple[str, ...]) -> Any:
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(languages))
    return identifier


def warm_up(languages: Sequence[str]) -> None:
    """Load the language model now (about 0.5 s) rather than on a worker's first story."""
    if len(languages) > 1:
        _identifier(tuple(languages))


def detect_language(text: str, languages: Sequence[str], hint: str | None = None) -> str | None:
    """ISO 639-1 code of `text`, one of `languages`; the hint when the text is too short to tell."""
    if sum(ch.isalpha() for ch in text[:2000]) < _MIN_LETTERS:
        return hint
    if len(languages) == 1:
        return languages[0]
    language, _confidence = _identifier(tuple(languages)).classify(text[:5000])
    return str(language)


def tag(story: Story, *, languages: Sequence[str], feed_tags: Sequence[str]) -> Story:
    """Return the story with `language` and `tags` set."""
    text = f"{story.title}\n{story.body_text}"
    language = detect_language(text, languages, story.language_hint)
    tags = list(dict.fromkeys([*story.tags, *feed_tags]))
    return dataclasses.replace(story, language=language, tags=tags)
