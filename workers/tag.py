"""Tag stage: language, persons, organizations, places, category, regional flag, keywords and tags.

Every tagger is a function in its own module; this stage only runs them in order, because later ones
use earlier answers (the category and the regional flag look at the places found).
"""

from __future__ import annotations

import dataclasses

from workers.classify import categorize, load_taxonomy
from workers.entities import extract_entities
from workers.entities import warm_up as warm_up_entities
from workers.keywords import keywords
from workers.language import detect_language
from workers.language import warm_up as warm_up_language
from workers.region import is_regional, load_region
from workers.settings import Settings
from workers.story import Story

__all__ = ["tag", "warm_up"]


def warm_up(settings: Settings) -> None:
    """Load the language model, gazetteers and rule files now rather than on a worker's first story."""
    warm_up_language(settings.languages)
    warm_up_entities()
    load_taxonomy(settings.tags_file)
    load_region(settings.region_file)


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
