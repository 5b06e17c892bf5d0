"""The near-duplicate index: MinHash signatures, banded (LSH) and kept in Redis so every worker shares it.

A story's text becomes 64 MinHash values over its word 3-shingles (datasketch), cut into 32 bands of 2.
Two texts share at least one band with probability 1 − (1 − J²)³², where J is their shingle Jaccard
similarity: 0.95 at J = 0.3, 0.996 at J = 0.4, about 0.0001 for unrelated news. The index only proposes
candidates; the dedup stage verifies each one against the store before merging.

Layout, chosen so a million stories fit in well under 1 KiB each: time is cut into slots of a quarter
window; band values are spread over `buckets` small Redis hashes per band and slot (small hashes are
stored compactly by Redis), the field is 5 bytes of the band value, the value the 8-byte story references
that share it. A slot's keys expire when the window has passed over them, so memory is bounded by the
window. A lookup is one Lua call that reads every band of the five slots the window touches, building
the key names itself (so the index needs a single Redis, not a cluster).
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import redis
from datasketch import MinHash

from workers.identity import shingles

__all__ = ["BANDS", "IndexLayout", "Signature", "add", "candidates", "clear", "signature", "story_ref"]

NUM_PERM = 64
BANDS = 32
ROWS = NUM_PERM // BANDS
_PREFIX = "fw:lsh"
_DAY = 86_400
# A band value shared by more stories than this keeps the newest ones only (the hash stays compact).
_MAX_REFS = 6
_REF_BYTES = 8

Signature = tuple[int, ...]  # one 64-bit value per band

# Each band key gets the field appended to its value unless the reference is there already.
_ADD = """
local ref, expire_at, keep = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
for i, key in ipairs(KEYS) do
  local field = ARGV[3 + i]
  local refs = redis.call('HGET', key, field) or ''
  local present = false
  for j = 1, #refs, 8 do
    if string.sub(refs, j, j + 7) == ref then present = true break end
  end
  if not present then
    refs = refs .. ref
    if #refs > keep * 8 then refs = string.sub(refs, #refs - keep * 8 + 1) end
    redis.call('HSET', key, field, refs)
  end
  redis.call('EXPIREAT', key, expire_at)
end
return 1
"""
# ARGV: key prefix, first and last slot, then each band's bucket, then each band's field.
_QUERY = """
local prefix, first, last = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local bands = (#ARGV - 3) / 2
local found = {}
for slot = first, last do
  for b = 1, bands do
    local refs = redis.call('HGET', prefix .. ':' .. slot .. ':' .. (b - 1) .. ':' .. ARGV[3 + b], ARGV[3 + bands + b])
    if refs then found[#found + 1] = refs end
  end
end
return found
"""


@dataclass(frozen=True, slots=True)
class IndexLayout:
    """How the index is cut: the window it covers and the number of hashes per band and slot."""

    window_seconds: float = 7 * _DAY
    buckets: int = 4096

    @property
    def slot_seconds(self) -> int:
        return max(3600, int(self.window_seconds // 4))

    @property
    def prefix(self) -> str:
        # The slot length is part of the name: another window starts a new index instead of misreading one.
        return f"{_PREFIX}:{self.slot_seconds}"

    def slot(self, now: float) -> int:
        return int(now // self.slot_seconds)

    def slots(self, now: float) -> range:
        """The slots a lookup at `now` must read: every one the window reaches into."""
        return range(self.slot(now - self.window_seconds), self.slot(now) + 1)

    def expire_at(self, slot: int) -> int:
        """When a slot's keys go: the window has passed over its last second."""
        return int((slot + 1) * self.slot_seconds + self.window_seconds)

    def keys(self, slot: int, bands: Signature) -> list[str]:
        return [f"{self.prefix}:{slot}:{band}:{bucket}" for band, bucket in enumerate(self.buckets_of(bands))]

    def buckets_of(self, bands: Signature) -> list[int]:
        return [value % self.buckets for value in bands]

    def fields(self, bands: Signature) -> list[bytes]:
        return [(value // self.buckets % (1 << 40)).to_bytes(5, "big") for value in bands]


@lru_cache(maxsize=1)
def _template() -> MinHash:
    # Building the random permutations is most of a MinHash's cost; every signature reuses one set.
    return MinHash(num_perm=NUM_PERM, seed=1)


def signature(tokens: list[str]) -> Signature | None:
    """The band values of a text's words, or None when it is too short to compare (under 8 words)."""
    if len(tokens) < 8:
        return None
    template = _template()
    minhash = MinHash(num_perm=NUM_PERM, permutations=template.permutations, scheme=template.scheme)
    minhash.update_batch([s.encode() for s in shingles(tokens)])
    values = minhash.hashvalues
    return tuple(
        int.from_bytes(hashlib.blake2b(values[b * ROWS : (b + 1) * ROWS].tobytes(), digest_size=8).digest(), "big") ^ b
        for b in range(BANDS)
    )


def story_ref(story_id: str) -> bytes:
    """The 8-byte reference the index keeps for a story (the store resolves and verifies it)."""
    return bytes.fromhex(story_id[: _REF_BYTES * 2])


def add(client: redis.Redis, layout: IndexLayout, bands: Signature, story_id: str, now: float | None = None) -> None:
    """Index `bands` as belonging to `story_id` for the next `window_seconds`."""
    slot = layout.slot(time.time() if now is None else now)
    script = _script(client, _ADD)
    args = [story_ref(story_id), layout.expire_at(slot), _MAX_REFS, *layout.fields(bands)]
    script(keys=layout.keys(slot, bands), args=args)


def candidates(
    client: redis.Redis, layout: IndexLayout, bands: Signature, now: float | None = None
) -> list[tuple[bytes, int]]:
    """References of indexed stories sharing a band with `bands`, with how many bands, most first."""
    slots = layout.slots(time.time() if now is None else now)
    args = [layout.prefix, slots.start, slots.stop - 1, *layout.buckets_of(bands), *layout.fields(bands)]
    found = _script(client, _QUERY)(keys=[], args=args)
    counts: Counter[bytes] = Counter()
    for refs in found:
        counts.update({refs[i : i + _REF_BYTES] for i in range(0, len(refs), _REF_BYTES)})
    return counts.most_common()


def clear(client: redis.Redis) -> int:
    """Delete the whole index (tests, and operators who change the layout); return the keys deleted."""
    deleted = 0
    batch: list[bytes] = []
    for key in client.scan_iter(match=f"{_PREFIX}:*", count=1000):
        batch.append(key)
        if len(batch) >= 1000:
            deleted += client.delete(*batch)
            batch = []
    if batch:
        deleted += client.delete(*batch)
    return deleted


_scripts: dict[tuple[int, str], Any] = {}


def _script(client: redis.Redis, source: str) -> Any:  # redis-py's Script objects are untyped
    key = (id(client), source)
    if key not in _scripts:
        _scripts[key] = client.register_script(source)
    return _scripts[key]
