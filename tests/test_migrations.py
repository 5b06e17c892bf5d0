"""Upgrading a store keeps everything in it: stories, their revisions and their entries' links."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from workers.store.db import get_engine
from workers.store.migrate import upgrade


def test_upgrading_a_sqlite_store_with_stories_keeps_revisions_and_links_and_claims_their_keys(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0001")
    now = datetime.now(UTC).isoformat(sep=" ")
    with get_engine(url).begin() as connection:
        connection.execute(
            text(
                "INSERT INTO feeds (id, url, interval, tags, enabled, origin, consecutive_errors, created_at) "
                "VALUES ('wire', 'https://wire.example/feed.xml', 300, '[]', 1, 'config', 0, :now)"
            ),
            {"now": now},
        )
        connection.execute(
            text(
                "INSERT INTO stories (id, feed_id, title, summary, body_html, body_text, tags, credits, fetched_at, "
                "updated_at, revision, content_hash, status, url) VALUES ('s1', 'wire', 'Titel', '', '<p>Text</p>', "
                "'Text', '[]', '[]', :now, :now, 2, 'old', 'published', 'http://www.wire.example/a/?utm_source=rss')"
            ),
            {"now": now},
        )
        for revision in (1, 2):
            connection.execute(
                text(
                    "INSERT INTO story_revisions (story_id, revision, title, body_html, content_hash, created_at) "
                    "VALUES ('s1', :revision, 'Titel', '<p>Text</p>', 'old', :now)"
                ),
                {"revision": revision, "now": now},
            )
        connection.execute(
            text(
                "INSERT INTO entries (feed_id, key, story_id, source_hash, first_seen_at, last_seen_at) "
                "VALUES ('wire', 's1', 's1', 'raw', :now, :now)"
            ),
            {"now": now},
        )

    upgrade(url)

    with get_engine(url).connect() as connection:
        revisions = connection.execute(text("SELECT revision, state FROM story_revisions ORDER BY revision")).all()
        entry = connection.execute(text("SELECT story_id, role, source_hash FROM entries")).one()
        keys = connection.execute(text("SELECT kind, story_id FROM story_keys ORDER BY kind")).all()
        story = connection.execute(text("SELECT revision, primary_key, canonical_url FROM stories")).one()
        foreign_keys = connection.execute(text("PRAGMA foreign_keys")).scalar()
    assert revisions == [(1, "published"), (2, "published")]
    assert tuple(entry) == ("s1", "primary", "raw")
    assert keys == [("text", "s1"), ("url", "s1")]
    assert tuple(story) == (2, "s1", "https://wire.example/a")
    assert foreign_keys == 1, "the store's connections enforce foreign keys again after the upgrade"
