"""Dedup stage: is this story new, a changed version of a stored one, or nothing new at all?

This version knows one identity: the same feed and guid (or link). Same content → skip; changed content →
revision n+1 of the stored story. The decision is only advice: publish enforces it with database
constraints and sends the story back here when a concurrent worker got there first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select

from workers.store.db import transaction
from workers.store.models import Story as StoryRow
from workers.story import Story

__all__ = ["Decision", "decide"]

Action = Literal["new", "update", "skip"]


@dataclass(frozen=True, slots=True)
class Decision:
    """What publish should do: `story_id` is the stored story, `revision` the one the decision saw."""

    action: Action
    story_id: str
    revision: int = 0
    reason: str = ""


def decide(database_url: str, story: Story) -> Decision:
    """Compare the cleaned story with what the store holds for the same feed entry."""
    # A story's id is the key of the entry it came from, and both are written in one transaction.
    with transaction(database_url, readonly=True) as session:
        row = session.execute(
            select(StoryRow.id, StoryRow.revision, StoryRow.content_hash).where(StoryRow.id == story.id)
        ).first()
    if row is None:
        return Decision("new", story.id, 0, "first time this entry is seen")
    if row.content_hash == story.content_hash:
        return Decision("skip", row.id, row.revision, f"same content as revision {row.revision} (same feed and guid)")
    return Decision("update", row.id, row.revision, f"content changed since revision {row.revision}")
