"""Tag stage: language, persons, organizations, places, category, regional flag, keywords and tags.

Every tagger is a function in its own module; this stage only runs them in order, because later ones
use earlier answers (the category and the regional flag look at the places found).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from py3langid.langid import MODEL_FILE, LanguageIdentifier

from workers.classify import categorize, load_taxonomy
from workers.entities import extract_entities
from workers.entities import warm_up as warm_up_entities
from workers.keywords import keywords
from workers.region import is_regional, load_region
from workers.settings import Settings
from workers.story import Story

__all__ = ["detect_language", "tag", "warm_up"]

# Below this many letters a detector guesses; the feed's language hint is the better answer there.
_MIN_LETTERS = 40
# The headline and lead tell German from English as surely as the whole text, at a fraction of the cost.
_SAMPLE_CHARS = 1500


@lru_cache(maxsize=4)
def _identifier(languages: tuple[str, ...]) -> Any:
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(languages))
    return identifier


def warm_up(settings: Settings) -> None:
    """Load the language model, gazetteers and rule files now rather than on a worker's first story."""
    if len(settings.languages) > 1:
        _identifier(tuple(settings.languages))
    warm_up_entities()
    load_taxonomy(settings.tags_file)
    load_region(settings.region_file)


def detect_language(text: str, languages: Sequence[str], hint: str | None = None) -> str | None:
    """ISO 639-1 code of `text`, one of `languages`; the hint when the text is too short to tell."""
    if sum(ch.isalpha() for ch in text[:2000]) < _MIN_LETTERS:
        return hint
    if len(languages) == 1:
        return languages[0]
    language, _confidence = _identifier(tuple(languages)).classify(text[:_SAMPLE_CHARS])
    return str(language)


def tag(story: Story, settings: Settings) -> Story:
    """Return the story with every tag field set."""
    title, body = story.title, story.body_text
    language = detect_language(f"{title}\n{body}", settings.languages, story.language_hint)
    entities = extract_entities(title, body, language)
    category, rule_tags = categorize(
        title, body, load_taxonomy(settings.tags_file), hint=story.category_hint, places=entities.places
    )
    return dataclasses.replace(
        story,
        language=language,
        persons=entities.persons,
        organizations=entities.organizations,
        places=entities.places,
        category=category,
        regional=is_regional(title, body, entities.places, load_region(settings.region_file)),
        keywords=keywords(title, body, language),
        tags=list(dict.fromkeys([*story.tags, *story.feed_tags, *rule_tags])),
    )
