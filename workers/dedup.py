"""Dedup stage: is this entry a new story, a new version of one, a duplicate of one, or nothing new?

Identity, in order: the same feed entry (guid, else canonical link, else content fingerprint); then,
across feeds, the same canonical URL or the same folded text (exact keys claimed in `story_keys`); then a
near-duplicate: candidates from the shared MinHash index in Redis, each verified against the stored text.
Differing numbers or names are evidence against a merge, so two police reports from different towns stay
apart however alike their boilerplate.

The decision is advice: publish enforces it with database constraints, re-checks new near-duplicate
candidates under a lock, and sends the story back here when another worker got there first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal

import redis
from sqlalchemy import Row, bindparam, or_, select
from sqlalchemy.orm import Session

from workers import dedup_index
from workers.dedup_index import IndexLayout, Signature
from workers.identity import contradictions, dateline_place, facts, numbers, shingles, url_key, words
from workers.settings import Settings
from workers.store.db import transaction
from workers.store.models import Entry, Feed, StoryKey
from workers.store.models import Story as StoryRow
from workers.story import Story

__all__ = ["Decision", "Verdict", "decide", "layout", "new_duplicate", "story_bands", "verify"]

Action = Literal["new", "update", "merge", "pending", "skip"]

# Both versions having this many numbers the other lacks (scores, dates, figures) means other facts.
_CONFLICTING_NUMBERS = 2
# Share of capitalised words (names, places, and in German also nouns) two versions of a story keep:
# 0.62 or more for the agency rewrites of the dev corpus; template reports about other towns or teams
# fall below it (they are stopped by their facts as well).
_MIN_NAME_OVERLAP = 0.45
_SENTENCE = re.compile(r"(?<=[.!?:;])\s+|\n+")


@dataclass(frozen=True, slots=True)
class Decision:
    """What publish should do with the entry, and why.

    `story_id` is the story concerned (the entry's own key for a new story); `revision` the revision the
    decision saw; `takeover` means this version becomes the published one; `considered` the candidate
    references already verified, so publish only re-checks ones that appeared since.
    """

    action: Action
    story_id: str
    revision: int = 0
    reason: str = ""
    method: str | None = None
    similarity: float | None = None
    takeover: bool = False
    bands: Signature | None = None
    considered: frozenset[bytes] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The verification of one near-duplicate candidate."""

    story_id: str
    similarity: float
    merge: bool
    reason: str


def layout(settings: Settings) -> IndexLayout:
    return IndexLayout(window_seconds=settings.dedup_window_days * 86_400, buckets=settings.dedup_index_buckets)


def story_bands(story: Story) -> Signature | None:
    """The index signature of the story's body (headlines differ between agencies, so they are left out)."""
    return dedup_index.signature(words(story.body_text))


def decide(settings: Settings, client: redis.Redis, story: Story) -> Decision:
    """Decide what the cleaned `story` is, reading the store and the near-duplicate index."""
    with transaction(settings.resolved_database_url, readonly=True) as session:
        entry = session.get(Entry, (story.feed_id, story.id))
        if entry is not None and entry.story_id is not None:
            row = _story_row(session, entry.story_id)
            if row is not None:
                return _known_entry(story, entry, row)
        claimed = _exact_match(session, story)
        if claimed is not None:
            method, story_id = claimed
            row = _story_row(session, story_id)
            if row is not None:
                reason = "same canonical URL" if method == "url" else "same title and text"
                return _duplicate(story, row, method, 1.0, f"{reason} as story {story_id}")
        bands = story_bands(story)
        if bands is None:
            return Decision("new", story.id, reason="first time seen; too short for near-duplicate search")
        verdicts, considered = _near_duplicates(session, settings, client, story, bands, frozenset())
        best = max((v for v in verdicts if v.merge), key=lambda v: v.similarity, default=None)
        row = _story_row(session, best.story_id) if best is not None else None
    if best is not None and row is not None:
        duplicate = _duplicate(story, row, "near-dup", best.similarity, best.reason)
        return replace(duplicate, bands=bands, considered=considered)
    closest = max(verdicts, key=lambda v: v.similarity, default=None)
    reason = "first time seen; no similar story"
    if closest is not None:
        reason = f"first time seen; closest story {closest.story_id} not merged: {closest.reason}"
    return Decision("new", story.id, reason=reason, bands=bands, considered=considered)


def new_duplicate(
    session: Session, settings: Settings, client: redis.Redis, story: Story, decision: Decision
) -> str | None:
    """Inside publish's locked transaction: the id of a story that became this one's near-duplicate
    since `decision` was made (published by a concurrent worker), or None."""
    if decision.bands is None:
        return None
    verdicts, _ = _near_duplicates(session, settings, client, story, decision.bands, decision.considered)
    merged = [v for v in verdicts if v.merge]
    return merged[0].story_id if merged else None


def verify(story: Story, candidate_text: str, threshold: float) -> tuple[float, bool, str]:
    """Compare the story's body with a candidate's: (similarity, merge?, why)."""
    ours, theirs = words(story.body_text), words(candidate_text)
    a, b = shingles(ours), shingles(theirs)
    similarity = len(a & b) / len(a | b) if a and b else 0.0
    if similarity < threshold:
        return similarity, False, f"similarity {similarity:.2f} below threshold {threshold:.2f}"
    conflicts = contradictions(facts(story.body_text), facts(candidate_text))
    if conflicts:
        word, ours_, theirs_ = min(conflicts, key=lambda conflict: conflict[0])
        shown = f"'{word} {'/'.join(sorted(ours_))}' vs '{word} {'/'.join(sorted(theirs_))}'"
        return similarity, False, f"similarity {similarity:.2f} but the facts differ ({shown})"
    only_ours = numbers(story.body_text) - numbers(candidate_text)
    only_theirs = numbers(candidate_text) - numbers(story.body_text)
    if len(only_ours) >= _CONFLICTING_NUMBERS and len(only_theirs) >= _CONFLICTING_NUMBERS:
        shown = f"{', '.join(sorted(only_ours)[:4])} vs {', '.join(sorted(only_theirs)[:4])}"
        return similarity, False, f"similarity {similarity:.2f} but the numbers differ ({shown})"
    places = dateline_place(story.body_text), dateline_place(candidate_text)
    if all(places) and places[0] != places[1]:
        return similarity, False, f"similarity {similarity:.2f} but the datelines differ ({places[0]} vs {places[1]})"
    names_ours, names_theirs = _names(story.body_text), _names(candidate_text)
    if names_ours and names_theirs:
        overlap = len(names_ours & names_theirs) / len(names_ours | names_theirs)
        if overlap < _MIN_NAME_OVERLAP:
            differ = ", ".join(sorted(names_ours - names_theirs)[:3])
            return similarity, False, f"similarity {similarity:.2f} but the names differ ({differ} …)"
    return similarity, True, f"near-duplicate at similarity {similarity:.2f}"


def _names(text: str) -> set[str]:
    """Capitalised words that do not open a sentence: names and places (and German nouns)."""
    found: set[str] = set()
    for sentence in _SENTENCE.split(text):
        for token in re.findall(r"\w[\w-]*", sentence)[1:]:
            if token[0].isupper():
                found.add(token)
    return found


def _story_row(session: Session, story_id: str) -> Row | None:
    return session.execute(
        select(
            StoryRow.id,
            StoryRow.status,
            StoryRow.locked,
            StoryRow.revision,
            StoryRow.content_hash,
            StoryRow.primary_key,
            StoryRow.feed_id,
            Feed.priority,
        )
        .join(Feed, Feed.id == StoryRow.feed_id)
        .where(StoryRow.id == story_id)
    ).first()


def _known_entry(story: Story, entry: Entry, row: Row) -> Decision:
    """A later version of an entry already linked to story `row`."""
    if row.status == "removed":
        return Decision("skip", row.id, row.revision, f"story {row.id} was removed (tombstone)", method="guid")
    if story.content_hash in (entry.content_hash, row.content_hash):
        return Decision("skip", row.id, row.revision, "same text as the stored version", method="guid")
    primary = row.primary_key == story.id
    if not primary and story.priority < row.priority:
        reason = f"linked source changed, but feed '{row.feed_id}' has the higher priority; recorded only"
        return Decision("skip", row.id, row.revision, reason, method="guid")
    if row.locked:
        return Decision("pending", row.id, row.revision, "story is locked by staff; kept as pending", method="guid")
    reason = "material change" if primary else f"material change from linked feed '{story.feed_id}'"
    return Decision("update", row.id, row.revision, reason, method="guid", takeover=not primary)


def _duplicate(story: Story, row: Row, method: str, similarity: float, why: str) -> Decision:
    """A first arrival that duplicates story `row`: linked to it, or its new published version."""
    common = {"method": method, "similarity": round(similarity, 4)}
    if row.status == "removed":
        return Decision("skip", row.id, row.revision, f"{why}, which was removed (tombstone)", **common)
    if story.priority > row.priority and story.content_hash != row.content_hash:
        reason = f"{why}; feed '{story.feed_id}' (priority {story.priority}) outranks '{row.feed_id}' ({row.priority})"
        if row.locked:
            return Decision("pending", row.id, row.revision, f"{reason}; story is locked, kept as pending", **common)
        return Decision("merge", row.id, row.revision, reason, takeover=True, **common)
    return Decision("merge", row.id, row.revision, f"{why}; linked as another source", **common)


def _exact_match(session: Session, story: Story) -> tuple[str, str] | None:
    """("url" or "fingerprint", story id) of a story that claimed this entry's URL or text."""
    wanted = {"url": url_key(story.url), "text": story.content_hash}
    values = [value for value in wanted.values() if value]
    rows = session.execute(_EXACT_KEYS, {"values": values}).all() if values else []
    for kind in ("url", "text"):
        for row in rows:
            if row.kind == kind and row.value == wanted[kind]:
                return ("url" if kind == "url" else "fingerprint", row.story_id)
    return None


# Built once (a statement built per story with its values costs more than the query): both kinds, so the
# (kind, value) primary key serves the look-up.
_EXACT_KEYS = select(StoryKey.kind, StoryKey.value, StoryKey.story_id).where(
    StoryKey.kind.in_(("url", "text")), StoryKey.value.in_(bindparam("values", expanding=True))
)


def _near_duplicates(
    session: Session,
    settings: Settings,
    client: redis.Redis,
    story: Story,
    bands: Signature,
    skip: frozenset[bytes],
) -> tuple[list[Verdict], frozenset[bytes]]:
    """Verdicts on the index's candidates (those not in `skip`), and every reference that resolved."""
    found = dedup_index.candidates(client, layout(settings), bands)
    refs = [ref for ref, _count in found if ref not in skip][: settings.dedup_max_candidates]
    if not refs:
        return [], skip
    rows = _rows_by_ref(session, refs)
    window = timedelta(days=settings.dedup_window_days)
    ours = _when(story.published_at or story.fetched_at)
    verdicts = []
    for row in rows:
        if row.id == story.id:
            continue
        theirs = row.published_at or row.fetched_at
        if ours and theirs and abs(ours - theirs) > window:
            verdicts.append(Verdict(row.id, 0.0, False, "outside the duplicate window"))
            continue
        similarity, merge, reason = verify(story, row.body_text, settings.dedup_threshold)
        verdicts.append(Verdict(row.id, round(similarity, 4), merge, reason))
    return verdicts, skip | {dedup_index.story_ref(row.id) for row in rows}


def _rows_by_ref(session: Session, refs: Iterable[bytes]) -> list[Row]:
    # A reference is the first 8 bytes of a story id: a range on the primary key finds it.
    ranges = [
        (StoryRow.id >= ref.hex()) & (StoryRow.id < ref.hex() + "g")  # "g" sorts after every hex digit
        for ref in refs
    ]
    return list(
        session.execute(
            select(StoryRow.id, StoryRow.body_text, StoryRow.published_at, StoryRow.fetched_at).where(or_(*ranges))
        )
    )


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
