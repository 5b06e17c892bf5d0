"""The near-duplicate index in the test session's Redis: it finds what was indexed, and forgets it with the window."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workers import dedup_index
from workers.broker import redis_client
from workers.dedup_index import BANDS, IndexLayout
from workers.identity import words

LAYOUT = IndexLayout(window_seconds=7 * 86_400, buckets=64)
STORY_ID = "ab" * 32


@pytest.fixture
def client():
    client = redis_client()
    dedup_index.clear(client)
    yield client
    dedup_index.clear(client)


def _random_bands(seed: int) -> tuple[int, ...]:
    rng = random.Random(seed)
    return tuple(rng.getrandbits(64) for _ in range(BANDS))


def test_an_indexed_story_is_found_by_its_own_signature_in_every_band(client):
    bands = _random_bands(1)
    dedup_index.add(client, LAYOUT, bands, STORY_ID)

    assert dedup_index.candidates(client, LAYOUT, bands) == [(bytes.fromhex(STORY_ID[:16]), BANDS)]


def test_an_unrelated_signature_finds_nothing(client):
    dedup_index.add(client, LAYOUT, _random_bands(1), STORY_ID)

    assert dedup_index.candidates(client, LAYOUT, _random_bands(2)) == []


def test_a_lightly_rewritten_text_shares_bands_with_the_original(client):
    original = (
        "Die Stadt Mannheim baut eine neue Fahrradstraße durch die Neckarstadt. Der Gemeinderat stimmte am "
        "Dienstag mit großer Mehrheit für das Projekt, das rund zwei Millionen Euro kosten soll. Die Bauarbeiten "
        "beginnen im Frühjahr und sollen bis zum Herbst abgeschlossen sein, teilte die Verwaltung mit."
    )
    rewrite = original.replace("Die Stadt Mannheim baut", "Mannheim bekommt").replace(", teilte die Verwaltung mit", "")
    dedup_index.add(client, LAYOUT, dedup_index.signature(words(original)), STORY_ID)

    found = dedup_index.candidates(client, LAYOUT, dedup_index.signature(words(rewrite)))

    assert [ref for ref, _ in found] == [bytes.fromhex(STORY_ID[:16])]


def test_the_index_forgets_a_story_once_the_window_has_passed_over_it(client):
    bands = _random_bands(3)
    then = time.time() - LAYOUT.window_seconds - 2 * LAYOUT.slot_seconds
    dedup_index.add(client, LAYOUT, bands, STORY_ID, now=then)

    assert dedup_index.candidates(client, LAYOUT, bands) == [], "a lookup now does not reach back that far"
    assert list(client.scan_iter(match="fw:lsh:*")) == [], "its keys have expired: Redis memory stays bounded"


def test_a_story_indexed_just_inside_the_window_is_still_found(client):
    bands = _random_bands(5)
    dedup_index.add(client, LAYOUT, bands, STORY_ID, now=time.time() - LAYOUT.window_seconds + 60)

    assert [ref for ref, _ in dedup_index.candidates(client, LAYOUT, bands)] == [bytes.fromhex(STORY_ID[:16])]


def test_every_index_key_expires_within_a_window_and_a_slot(client):
    dedup_index.add(client, LAYOUT, _random_bands(4), STORY_ID)

    ttls = [client.ttl(key) for key in client.scan_iter(match="fw:lsh:*")]

    assert len(ttls) == BANDS
    assert all(0 < ttl <= LAYOUT.window_seconds + LAYOUT.slot_seconds for ttl in ttls)


def test_the_scale_benchmark_reports_lookup_latency_and_memory_per_story(tmp_path):
    """A small run of `feedworkers bench index` (the real one fills a million stories)."""
    result = subprocess.run(
        [str(Path(sys.executable).with_name("feedworkers")), "bench", "index", "--stories", "3000", "--lookups", "200",
         "--json"],
        capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(result.stdout)
    assert figures["stories"] == 3000
    assert figures["stored_found_rate"] == 1.0
    assert figures["lookup_p99_ms"] > 0 and figures["bytes_per_story"] > 0
