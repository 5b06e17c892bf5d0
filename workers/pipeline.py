"""The story pipeline in one place: clean → dedup → tag → publish, one log event per stage.

This is the only module that knows the order of the stages; each stage is a function in its own module.
"""

from __future__ import annotations

from typing import Any

from workers.boilerplate import load_rules
from workers.broker import redis_client
from workers.clean import clean
from workers.dedup import decide
from workers.fulltext import fetch_full_text, wants_full_text
from workers.logs import stage_event
from workers.publish import Conflict, publish
from workers.settings import Settings
from workers.story import Story
from workers.tag import tag
from workers.trace import StoryTrace

__all__ = ["process_story"]

# Each conflict means another worker just stored this story; deciding again then always settles it.
_MAX_DECISIONS = 3


def process_story(story: Story, settings: Settings) -> str:
    """Run a polled story through every stage; return new, updated, merged, pending or skipped."""
    client = redis_client()
    trace = StoryTrace(story.id, settings.trace_days)
    try:
        return _run(story, settings, client, trace)
    finally:
        trace.flush(client)  # also when a stage failed: the trace says which and why


def _run(story: Story, settings: Settings, client: Any, trace: StoryTrace) -> str:
    context = {"story_id": story.id, "feed_id": story.feed_id, "poll_id": story.poll_id, "on_done": trace.add}
    with stage_event("clean", **context) as event:
        if wants_full_text(story, settings):
            story, event["full_text"] = fetch_full_text(story, settings)
        story = clean(story, load_rules(settings.clean_file))
        if story.removed:
            event["removed"] = story.removed
    for _attempt in range(_MAX_DECISIONS):
        with stage_event("dedup", **context) as event:
            decision = decide(settings, client, story)
            event["outcome"] = decision.action
            event["reason"] = decision.reason
            if decision.method:
                event["method"] = decision.method
            if decision.action != "new":
                event["other_story_id"] = decision.story_id
            if decision.similarity is not None:
                event["similarity"] = decision.similarity
        with stage_event("tag", **context) as event:
            if decision.action in ("skip", "merge") and not decision.takeover:
                event["outcome"] = "skipped"
            elif story.language is None:
                story = tag(story, settings)
                event.update(language=story.language, category=story.category, regional=story.regional)
        with stage_event("publish", **context) as event:
            try:
                outcome = publish(settings, client, story, decision)
            except Conflict as conflict:
                event["outcome"] = "conflict"
                event["reason"] = str(conflict)
                continue
            event["outcome"] = outcome
            if outcome in ("new", "updated") or decision.takeover:
                event["revision"] = decision.revision + 1
                event["title"] = story.title[:120]
            return outcome
    msg = f"publish: story {story.id} of feed '{story.feed_id}' kept conflicting after {_MAX_DECISIONS} decisions"
    raise Conflict(msg)
