"""What staff do to a stored story: remove it for good (a tombstone), or lock it against overwrites."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import update

from workers.errors import FeedworkersError
from workers.store.db import transaction
from workers.store.models import Story as StoryRow
from workers.store.models import utcnow

__all__ = ["StoryNotFound", "set_story_state"]

Change = Literal["remove", "restore", "lock", "unlock"]

_VALUES: dict[str, dict[str, object]] = {
    # A removed story stays as a tombstone: its entries, keys and index entries keep matching, so no later
    # poll, refetch or --force brings it back, from this feed or another.
    "remove": {"status": "removed"},
    "restore": {"status": "published"},
    # A locked story is never overwritten; new versions are kept as pending revisions.
    "lock": {"locked": True},
    "unlock": {"locked": False},
}


class StoryNotFound(FeedworkersError):
    """No story has the id given."""


def set_story_state(database_url: str, story_id: str, change: Change) -> None:
    """Apply `change` to the story; raise StoryNotFound naming the id when there is none."""
    with transaction(database_url) as session:
        changed = session.execute(
            update(StoryRow).where(StoryRow.id == story_id).values(_VALUES[change] | {"updated_at": utcnow()})
        ).rowcount
    if changed != 1:
        msg = f"story: no story with id {story_id!r}; list ids with `feedworkers stories`"
        raise StoryNotFound(msg)
