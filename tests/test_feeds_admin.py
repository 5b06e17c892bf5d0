"""Feeds at run time (`feedworkers feeds …` and workers.feeds_admin) on the real store, CLI and workers.

What matters to a newsroom: a feed added while workers run is polled without a restart, a bad entry is
refused with a sentence that names the field, nothing that produced stories is ever deleted, and
`feeds sync` (feeds.yaml) never touches feeds added at run time.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.feeds import Item, numbered, rss
from tests.helpers import Entry, StoryRow, configure, count, feed_row, poll_now, stories
from workers.feeds_admin import (
    FeedAdminError,
    FeedNotFound,
    add_feed,
    list_feeds,
    remove_feed,
    set_enabled,
    sync_from_config,
)
from workers.feeds_config import FeedConfig
from workers.schedule import claim_due_feeds, request_polls
from workers.store.db import transaction
from workers.store.models import PollRun

FEEDWORKERS = Path(sys.executable).with_name("feedworkers")
URL = "https://wire.example/west.xml"
LIST_KEYS = {
    "feed", "title", "url", "enabled", "origin", "interval", "language", "priority", "full_text", "category", "tags",
    "last_poll", "consecutive_errors",
}  # fmt: skip


def _cli(*args: str, config_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The console script against this test's store (the FEEDWORKERS_* settings of the test process)."""
    env = dict(os.environ) | {"FEEDWORKERS_LOG_LEVEL": "WARNING"}
    if config_dir is not None:
        env["FEEDWORKERS_CONFIG_DIR"] = str(config_dir)
    return subprocess.run([str(FEEDWORKERS), *args], env=env, capture_output=True, text=True, timeout=120, check=False)


def _config_dir(environment: Path, tmp_path: Path, feeds_yaml: str) -> Path:
    """A config folder with the session's rule files and the feeds.yaml given."""
    folder = tmp_path / "config"
    shutil.copytree(environment / "config", folder)
    (folder / "feeds.yaml").write_text(feeds_yaml, encoding="utf-8")
    return folder


def _db(settings: Any) -> str:
    return settings.resolved_database_url


def test_an_added_feed_is_listed_with_origin_runtime(any_settings):
    """`add_feed` stores the entry as a runtime feed and returns what `list_feeds` shows for it."""
    added = add_feed(_db(any_settings), {"id": "wire-west", "url": URL, "interval": 120, "tags": ["agentur"]})

    (listed,) = list_feeds(_db(any_settings))
    assert listed == added
    assert set(listed) == LIST_KEYS
    assert (listed["origin"], listed["interval"], listed["tags"], listed["enabled"]) == (
        "runtime",
        120,
        ["agentur"],
        True,
    )


def test_an_added_feed_is_due_at_once(any_settings):
    """The scheduler's tick claims a new feed immediately, so running workers poll it without a restart."""
    add_feed(_db(any_settings), {"id": "wire-west", "url": URL})

    claimed = claim_due_feeds(_db(any_settings))

    assert [feed_id for feed_id, _ in claimed] == ["wire-west"]


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        pytest.param({"id": "wire-west", "url": "ftp://wire.example/x"}, "url", id="url-scheme"),
        pytest.param({"id": "wire-west", "url": "https://:80/x"}, "url", id="url-without-host"),
        pytest.param({"id": "wire-west", "url": "file:///etc/passwd"}, "url", id="local-file-at-run-time"),
        pytest.param({"id": "wire-west", "url": "javascript:alert(1)"}, "url", id="url-javascript"),
        pytest.param({"id": "wire-west", "url": URL, "interval": 5}, "interval", id="interval-too-short"),
        pytest.param({"id": "wire-west", "url": URL, "interval": "often"}, "interval", id="interval-not-a-number"),
        pytest.param({"id": "wire-west", "url": URL, "language": "deutsch"}, "language", id="language"),
        pytest.param({"id": "wire-west", "url": URL, "colour": "red"}, "colour", id="unknown-key"),
        pytest.param({"id": "Wire West", "url": URL}, "id", id="id"),
        pytest.param({"id": "wire-west", "url": URL, "tags": "agentur"}, "tags", id="tags-not-a-list"),
        pytest.param({"id": "wire-west", "url": URL, "priority": True}, "priority", id="priority"),
    ],
)
def test_an_invalid_entry_is_refused_naming_the_field_and_nothing_is_written(settings, raw, field):
    """A bad value is refused like in feeds.yaml: one sentence starting "feeds: " that names the field."""
    with pytest.raises(FeedAdminError) as refused:
        add_feed(_db(settings), raw)

    message = str(refused.value)
    assert message.startswith("feeds: ") and field in message
    assert "feeds.yaml" not in message, "there is no file or entry position to point at"
    assert list_feeds(_db(settings)) == []


def test_an_existing_id_is_refused_naming_its_origin(any_settings):
    """Adding an id the store has (here from feeds.yaml) is refused and leaves that feed as it was."""
    configure(any_settings, FeedConfig(id="wire-west", url=URL))

    with pytest.raises(FeedAdminError, match=r"^feeds: feed 'wire-west' exists \(origin config\); "):
        add_feed(_db(any_settings), {"id": "wire-west", "url": "https://other.example/feed.xml"})

    assert feed_row(any_settings, "wire-west").url == URL


def test_a_disabled_feed_is_not_claimed_by_the_scheduler(any_settings):
    """Disabling takes effect at the scheduler's next tick: a due feed is no longer claimed."""
    add_feed(_db(any_settings), {"id": "wire-west", "url": URL})

    row = set_enabled(_db(any_settings), "wire-west", False)

    assert row["enabled"] is False
    assert claim_due_feeds(_db(any_settings)) == []


def test_enabling_an_unknown_feed_is_refused_as_not_found(settings):
    """An unknown id raises FeedNotFound (the API's 404), naming the id and how to list feeds."""
    with pytest.raises(FeedNotFound, match=r"^feeds: unknown feed 'nope'; list the feeds with"):
        set_enabled(_db(settings), "nope", True)


def test_remove_deletes_the_feed_with_its_entries_and_poll_runs(any_settings):
    """A feed without stories goes, and with it the entries it saw and its poll runs, in one transaction."""
    add_feed(_db(any_settings), {"id": "wire-west", "url": URL})
    request_polls(_db(any_settings), ["wire-west"], force=False, trigger="refetch")
    with transaction(_db(any_settings)) as session:
        session.add(Entry(feed_id="wire-west", key="e" * 64, guid="g-1", last_outcome="invalid"))

    remove_feed(_db(any_settings), "wire-west")

    assert list_feeds(_db(any_settings)) == []
    assert (count(any_settings, Entry), count(any_settings, PollRun)) == (0, 0)


def test_remove_refuses_a_config_feed_still_in_feeds_yaml(settings):
    """A feed listed in feeds.yaml would come back with the next sync: remove it there first."""
    configure(settings, FeedConfig(id="wire-west", url=URL))

    with pytest.raises(FeedAdminError, match="remove it from config/feeds.yaml and run feeds sync"):
        remove_feed(_db(settings), "wire-west", config_ids={"wire-west"})

    assert feed_row(settings, "wire-west").enabled


def test_remove_refuses_an_unknown_feed(settings):
    """Removing an id the store does not have says so."""
    with pytest.raises(FeedNotFound, match="unknown feed 'nope'"):
        remove_feed(_db(settings), "nope")


@pytest.mark.usefixtures("worker")
def test_remove_refuses_a_feed_with_stories(settings, feed_server):
    """Stories keep their feed for good: a feed with stories can only be disabled."""
    url = feed_server.serve("/wire.xml", rss(numbered(3)))
    add_feed(_db(settings), {"id": "wire-west", "url": url})
    poll_now(settings, "wire-west")

    with pytest.raises(FeedAdminError, match=r"^feeds: feed 'wire-west' has 3 stories; disable it instead"):
        remove_feed(_db(settings), "wire-west")

    assert count(settings, StoryRow) == 3
    assert feed_row(settings, "wire-west").enabled


@pytest.mark.usefixtures("worker")
def test_remove_refuses_a_feed_whose_entry_is_a_source_of_another_feeds_story(settings, feed_server):
    """A feed whose only entry joined another feed's story as a duplicate is one of its sources; removing
    it would drop that source (and a published version it may have given), so it is refused too."""
    (item,) = numbered(1, prefix="shared")
    copy = Item(title=item.title, body=item.body, guid="copy-1", link="https://portal.example/copy/1")
    add_feed(_db(settings), {"id": "press", "url": feed_server.serve("/press.xml", rss([item]))})
    add_feed(_db(settings), {"id": "portal", "url": feed_server.serve("/portal.xml", rss([copy]))})
    poll_now(settings, "press")
    assert poll_now(settings, "portal")["portal"]["duplicates"] == 1

    with pytest.raises(FeedAdminError, match=r"^feeds: feed 'portal' has 1 stories; disable it instead"):
        remove_feed(_db(settings), "portal")

    assert count(settings, Entry) == 2


def test_sync_leaves_runtime_feeds_alone(any_settings, tmp_path):
    """feeds.yaml without the runtime feed adds its own feed and neither disables nor changes the runtime one."""
    add_feed(_db(any_settings), {"id": "late-wire", "url": URL, "interval": 90})
    feeds_file = tmp_path / "feeds.yaml"
    feeds_file.write_text("feeds:\n  - id: press\n    url: https://press.example/rss\n", encoding="utf-8")

    counts = sync_from_config(_db(any_settings), feeds_file)

    assert counts == {"added": 1, "updated": 0, "disabled": 0}
    late = {row["feed"]: row for row in list_feeds(_db(any_settings))}["late-wire"]
    assert (late["enabled"], late["origin"], late["interval"]) == (True, "runtime", 90)


def test_sync_of_an_invalid_file_is_refused_naming_the_file(settings, tmp_path):
    """An invalid feeds.yaml changes nothing and the error names the file and the field."""
    feeds_file = tmp_path / "feeds.yaml"
    feeds_file.write_text("feeds:\n  - id: press\n    url: https://press.example/rss\n    interval: 1\n")

    with pytest.raises(FeedAdminError, match=rf"^feeds: {re.escape(str(feeds_file))}: feed 'press': interval"):
        sync_from_config(_db(settings), feeds_file)

    assert list_feeds(_db(settings)) == []


@pytest.mark.usefixtures("worker")
def test_a_feed_added_at_run_time_is_polled_by_the_running_workers(settings, feed_server):
    """Workers started before the feed existed poll it through the real queues and store its stories."""
    url = feed_server.serve("/late.xml", rss(numbered(4, prefix="late")))

    add_feed(_db(settings), {"id": "late-wire", "url": url, "language": "de", "attribution": "Agentur"})
    summary = poll_now(settings, "late-wire")

    assert summary["late-wire"]["new"] == 4
    published = stories(settings, "late-wire")
    assert sorted(story["guid"] for story in published) == [f"late-{n}" for n in range(1, 5)]
    assert {story["attribution"] for story in published} == {"Agentur"}


def test_cli_add_then_list_json_shows_the_runtime_feed(any_settings):
    """`feeds add` with options exits 0; `feeds list --json` shows the feed with those values."""
    added = _cli("feeds", "add", "wire-west", URL, "--interval", "120", "--tag", "a", "--tag", "b", "--priority", "-1")
    listed = _cli("feeds", "list", "--json")

    assert added.returncode == 0, added.stderr
    assert listed.returncode == 0, listed.stderr
    (row,) = json.loads(listed.stdout)
    assert (row["feed"], row["origin"], row["interval"], row["tags"], row["priority"]) == (
        "wire-west", "runtime", 120, ["a", "b"], -1,
    )  # fmt: skip


def test_cli_add_with_a_bad_value_exits_1_naming_the_field(settings):
    """A value the feeds.yaml check refuses (even one that is not a number) exits 1 with one sentence, writes nothing."""
    refused = _cli("feeds", "add", "wire-west", URL, "--interval", "soon")

    assert refused.returncode == 1
    assert refused.stderr.strip() == "feeds: feed 'wire-west': interval must be a whole number of seconds, got 'soon'"
    assert list_feeds(_db(settings)) == []


def test_cli_disable_of_a_config_feed_notes_that_sync_applies_feeds_yaml_again(settings):
    """Disabling a feed from feeds.yaml works, and says the next sync brings back what the file says."""
    configure(settings, FeedConfig(id="wire-west", url=URL))

    disabled = _cli("feeds", "disable", "wire-west")

    assert disabled.returncode == 0, disabled.stderr
    assert "next `feedworkers feeds sync`" in disabled.stderr
    assert not feed_row(settings, "wire-west").enabled


def test_cli_remove_refuses_a_feed_listed_in_feeds_yaml(settings, environment, tmp_path):
    """`feeds remove` reads feeds.yaml and refuses a feed still listed there, exit 1."""
    folder = _config_dir(environment, tmp_path, f"feeds:\n  - id: wire-west\n    url: {URL}\n")
    configure(settings, FeedConfig(id="wire-west", url=URL))

    refused = _cli("feeds", "remove", "wire-west", config_dir=folder)

    assert refused.returncode == 1
    assert refused.stderr.startswith("feeds: feed 'wire-west' is in config/feeds.yaml; remove it from")
    assert feed_row(settings, "wire-west").enabled


def test_cli_sync_prints_the_counts_and_keeps_runtime_feeds(settings, environment, tmp_path):
    """`feeds sync` applies feeds.yaml, prints added/updated/disabled, and leaves a runtime feed enabled."""
    folder = _config_dir(environment, tmp_path, f"feeds:\n  - id: wire-west\n    url: {URL}\n")
    add_feed(_db(settings), {"id": "late-wire", "url": "https://late.example/rss"})

    synced = _cli("feeds", "sync", config_dir=folder)

    assert synced.returncode == 0, synced.stderr
    assert "1 added, 0 updated, 0 disabled" in synced.stdout
    assert feed_row(settings, "late-wire").enabled


def test_a_runtime_feed_written_into_feeds_yaml_belongs_to_the_file_after_sync(settings) -> None:
    from workers.feeds_admin import add_feed, list_feeds
    from workers.schedule import sync_feeds

    add_feed(settings.resolved_database_url, {"id": "adopted", "url": "http://127.0.0.1:9/adopted.xml"})
    sync_feeds(settings.resolved_database_url, [FeedConfig(id="adopted", url="http://127.0.0.1:9/adopted.xml")])
    sync_feeds(settings.resolved_database_url, [])  # and removed from the file again: disabled like any config feed
    [feed] = [f for f in list_feeds(settings.resolved_database_url) if f["feed"] == "adopted"]
    assert (feed["origin"], feed["enabled"]) == ("config", False)


def test_a_feed_gone_for_good_stays_disabled_on_sync_until_its_url_changes(settings) -> None:
    from workers.schedule import sync_feeds
    from workers.store.db import transaction
    from workers.store.models import Feed

    gone = FeedConfig(id="gone", url="http://127.0.0.1:9/gone.xml")
    sync_feeds(settings.resolved_database_url, [gone])
    with transaction(settings.resolved_database_url) as session:  # what a poll answered with 410 leaves behind
        row = session.get(Feed, "gone")
        row.enabled, row.last_status = False, 410
    sync_feeds(settings.resolved_database_url, [gone])
    still = [f["enabled"] for f in list_feeds(settings.resolved_database_url) if f["feed"] == "gone"]
    sync_feeds(settings.resolved_database_url, [FeedConfig(id="gone", url="http://127.0.0.1:9/moved.xml")])
    moved = [f["enabled"] for f in list_feeds(settings.resolved_database_url) if f["feed"] == "gone"]
    assert (still, moved) == ([False], [True])
