"""A scale benchmark of the near-duplicate index: fill it with synthetic stories, then time lookups.

The stories' insertion times are spread evenly over the window, so the index has the per-slot keys of a
real deployment; band values and story ids are random (a fixed seed makes runs comparable). By default
the index lives in a private Redis server started for the run in a temporary folder and stopped
afterwards; with `redis_url` (redis://, unix:// or redis+socket://) an existing, empty database is used
instead, and the index keys are deleted from it afterwards.
"""

from __future__ import annotations

import math
import random
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import redis

from workers import dedup_index
from workers.dedup_index import BANDS, IndexLayout, Signature
from workers.embedded_redis import EmbeddedRedis
from workers.errors import ConfigError

__all__ = ["bench_index"]

_DAY = 86_400
_BATCH = 1000
# Keys sampled for the encoding and size figures in the result.
_SAMPLE_KEYS = 500


def bench_index(
    stories: int = 1_000_000,
    lookups: int = 10_000,
    buckets: int | None = None,
    window_days: float = 7.0,
    redis_url: str | None = None,
    seed: int = 1,
) -> dict[str, Any]:
    """Fill the index with `stories` synthetic stories, time `lookups` lookups, return the figures."""
    if stories < 1 or lookups < 2 or window_days <= 0 or (buckets is not None and buckets < 1):
        msg = "bench: need stories ≥ 1, lookups ≥ 2, window_days > 0 and buckets ≥ 1"
        raise ConfigError(msg)
    layout = IndexLayout(window_seconds=window_days * _DAY, **({"buckets": buckets} if buckets else {}))
    if redis_url:
        from workers.broker import _client  # the project's URL forms, including redis+socket://

        client = _client(redis_url)
        keys = client.dbsize()
        if keys:
            msg = f"bench: the Redis database at {redis_url} holds {keys} key(s); the benchmark needs an empty one"
            raise ConfigError(msg)
        try:
            return _run(client, layout, stories, lookups, seed)
        finally:
            dedup_index.clear(client)
    with tempfile.TemporaryDirectory(prefix="feedworkers-bench-") as folder:
        server = EmbeddedRedis(Path(folder))
        try:
            server.ensure()
            client = redis.Redis(unix_socket_path=str(server.socket))
            # The private server is thrown away: its append-only file would only slow the fill down.
            client.config_set("appendonly", "no")
            return _run(client, layout, stories, lookups, seed)
        finally:
            server.stop()


def _run(client: redis.Redis, layout: IndexLayout, stories: int, lookups: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    # The window starts mid-slot, so its first and last slots are partly covered as in real use, and ends
    # half a slot or more from now: expiry times are absolute, and no key may expire during the run.
    slot = layout.slot_seconds
    start = (int((time.time() - layout.window_seconds) // slot) + 1) * slot + slot / 2
    end = start + layout.window_seconds
    stored_count = min(lookups // 2, stories)
    wanted = set(random.Random(seed + 1).sample(range(stories), stored_count))
    stored: list[tuple[Signature, bytes]] = []

    add = dedup_index._script(client, dedup_index._ADD)
    memory_before = _used_memory(client)
    began = time.perf_counter()
    pipe = client.pipeline(transaction=False)
    for i in range(stories):
        now = start + (i + 0.5) * layout.window_seconds / stories
        bands = tuple(rng.getrandbits(64) for _ in range(BANDS))
        story_id = f"{rng.getrandbits(256):064x}"
        slot = layout.slot(now)
        ref = dedup_index.story_ref(story_id)
        args = [ref, layout.expire_at(slot), dedup_index._MAX_REFS, *layout.fields(bands)]
        add(keys=layout.keys(slot, bands), args=args, client=pipe)
        if i in wanted:
            stored.append((bands, ref))
        if len(pipe) >= _BATCH:
            pipe.execute()
    pipe.execute()
    fill_seconds = time.perf_counter() - began
    memory_after = _used_memory(client)

    fresh_rng = random.Random(seed + 2)
    fresh = [tuple(fresh_rng.getrandbits(64) for _ in range(BANDS)) for _ in range(lookups - stored_count)]
    dedup_index.candidates(client, layout, fresh[0], now=end)  # loads the query script; not timed
    timings: list[float] = []
    found = 0
    fresh_candidates = 0
    # Alternate stored and fresh lookups so that neither kind gets a warmer server.
    order: list[tuple[Signature, bytes | None]] = [
        item for pair in zip(stored, [(bands, None) for bands in fresh], strict=False) for item in pair
    ]
    order += [(bands, None) for bands in fresh[len(stored) :]]
    for bands, ref in order:
        began = time.perf_counter()
        result = dedup_index.candidates(client, layout, bands, now=end)
        timings.append(time.perf_counter() - began)
        if ref is None:
            fresh_candidates += len(result)
        elif any(candidate == ref for candidate, _ in result):
            found += 1
    timings.sort()

    index_keys = client.dbsize()
    encodings, fields = _sample_keys(client)
    return {
        "stories": stories,
        "buckets": layout.buckets,
        "bands": BANDS,
        "window_days": layout.window_seconds / _DAY,
        "slot_hours": layout.slot_seconds / 3600,
        "fill_seconds": round(fill_seconds, 2),
        "inserts_per_second": round(stories / fill_seconds),
        "used_memory_bytes": memory_after - memory_before,
        "bytes_per_story": round((memory_after - memory_before) / stories, 1),
        "lookup_p50_ms": round(_percentile(timings, 50) * 1000, 3),
        "lookup_p99_ms": round(_percentile(timings, 99) * 1000, 3),
        "lookup_max_ms": round(timings[-1] * 1000, 3),
        "stored_found_rate": round(found / len(stored), 4) if stored else None,
        "fresh_mean_candidates": round(fresh_candidates / len(fresh), 4) if fresh else None,
        "redis_version": client.info("server")["redis_version"],
        "index_keys": index_keys,
        "mean_fields_per_key": round(fields, 1),
        "hash_encodings": encodings,
    }


def _used_memory(client: redis.Redis) -> int:
    return int(client.info("memory")["used_memory"])


def _percentile(sorted_values: list[float], percent: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, math.ceil(percent / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def _sample_keys(client: redis.Redis) -> tuple[dict[str, int], float]:
    """How a sample of the index's hashes is encoded, and their mean number of fields."""
    encodings: Counter[str] = Counter()
    fields = 0
    sampled = 0
    for _ in range(_SAMPLE_KEYS):
        key = client.randomkey()
        if key is None:
            break
        encoding = client.object("encoding", key)
        encodings[encoding.decode() if isinstance(encoding, bytes) else str(encoding)] += 1
        fields += client.hlen(key)
        sampled += 1
    return dict(encodings), fields / sampled if sampled else 0.0
