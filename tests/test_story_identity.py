"""Story identity end to end on real parts: which feed entries are one story, which version is published,
which changes make a new revision, and how staff decisions (remove, lock) survive later polls.

Every test serves real RSS from the HTTP feed server, polls through Redis and the in-process Celery worker,
and reads back what a user sees: `stories()` (`feedworkers stories --json`), poll summaries, `story_detail`
(`feedworkers story`) and `feed_status` (`feedworkers status --json`). Story texts are German wire and regional
copy from the labelled corpus in tests/data/corpus.
"""

from __future__ import annotations

import html
import json
import os
import subprocess
import sys
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.feeds import Item, rss
from tests.helpers import StoryRow, configure, count, poll_now, revisions, stories
from workers.feeds_config import FeedConfig
from workers.report import feed_status, story_detail
from workers.store.db import transaction
from workers.store.models import StoryRevision
from workers.story_admin import set_story_state

pytestmark = pytest.mark.usefixtures("worker")

LABELS = json.loads((Path(__file__).resolve().parent / "data" / "corpus" / "labels.json").read_text(encoding="utf-8"))
RECORDS = {record["id"]: record for record in LABELS["stories"]}
FEEDWORKERS = Path(sys.executable).with_name("feedworkers")


def _dup_group(group_id: str) -> list[str]:
    (group,) = [g for g in LABELS["dup_groups"] if g["id"] == group_id]
    return [member["record"] for member in group["members"]]


def _hard_negative(pair_id: str) -> list[str]:
    (pair,) = [p for p in LABELS["hard_negative_pairs"] if p["id"] == pair_id]
    return list(pair["members"])


# D01: an agency rewrite (other headline, link, guid, dateline; sentences reordered, one dropped, one added).
ORIGINAL, REWRITE = _dup_group("D01")
# N01: two police reports from the same template, other town, shop, night and loot: never one story.
WEINHEIM, SCHWETZINGEN = _hard_negative("N01")


def paragraphs(record_id: str) -> list[str]:
    """The record's cleaned text as HTML paragraphs."""
    return [f"<p>{html.escape(p, quote=False)}</p>" for p in RECORDS[record_id]["clean_text"].split("\n\n")]


def corpus_item(record_id: str, **changes: Any) -> Item:
    """An RSS item carrying the corpus record's title, text, guid, link and date (any of them replaceable)."""
    record = RECORDS[record_id]
    values: dict[str, Any] = {
        "title": record["title"],
        "body": "".join(paragraphs(record_id)),
        "guid": record["guid"],
        "link": record["link"],
        "pub_date": format_datetime(datetime.fromisoformat(record["published"])),
    }
    return Item(**(values | changes))


def only_story(settings: Any) -> dict[str, Any]:
    published = stories(settings)
    assert len(published) == 1, [(s["feed"], s["title"]) for s in published]
    return published[0]


def detail(settings: Any, key: str) -> dict[str, Any]:
    found = story_detail(settings.resolved_database_url, key)
    assert found is not None, key
    return found


def status_of(settings: Any, feed_id: str) -> dict[str, Any]:
    (row,) = [row for row in feed_status(settings.resolved_database_url) if row["feed"] == feed_id]
    return row


def revision_states(settings: Any, story_id: str) -> list[tuple[int, str]]:
    with transaction(settings.resolved_database_url, readonly=True) as session:
        rows = session.execute(
            select(StoryRevision.revision, StoryRevision.state)
            .where(StoryRevision.story_id == story_id)
            .order_by(StoryRevision.revision)
        )
        return [(row.revision, row.state) for row in rows]


# --- the same story from two feeds ---------------------------------------------------------------------------


def test_a_repost_with_a_tracking_link_is_one_story_with_two_sources(any_settings, feed_server):
    """A second feed re-posting a story under its own guid, with the link dressed up (http, www., utm_source,
    fbclid), adds no story: the story lists the second feed as a duplicate source found by URL."""
    settings = any_settings
    record = "dev-pf-logistik-v1"
    link = "https://kurpfalz-logistik.example/presse/2026/frischezentrum-viernheim"
    dressed = "http://www.kurpfalz-logistik.example/presse/2026/frischezentrum-viernheim?utm_source=x&fbclid=y"
    url_a = feed_server.serve("/url-a.xml", rss([corpus_item(record, guid="url-a-1", link=link)]))
    url_b = feed_server.serve("/url-b.xml", rss([corpus_item(record, guid="url-b-77", link=dressed)]))
    configure(settings, FeedConfig(id="url-press", url=url_a), FeedConfig(id="url-regional", url=url_b))

    first = poll_now(settings, "url-press")
    second = poll_now(settings, "url-regional")

    assert first["url-press"]["new"] == 1
    assert (second["url-regional"]["new"], second["url-regional"]["duplicates"]) == (0, 1)
    story = only_story(settings)
    assert (story["feed"], story["url"], story["revision"]) == ("url-press", link, 1)
    primary, duplicate = story["sources"]
    assert (primary["feed"], primary["role"]) == ("url-press", "primary")
    assert (duplicate["feed"], duplicate["role"], duplicate["method"]) == ("url-regional", "duplicate", "url")
    assert duplicate["duplicate_of"] == story["id"]
    assert duplicate["url"] == dressed
    assert count(settings, StoryRow) == 1


def test_an_identical_text_under_another_link_is_one_story_found_by_fingerprint(settings, feed_server):
    """The same headline and text on two unrelated sites is published once; the second site is a duplicate
    source matched by the text fingerprint."""
    record = "dev-pf-hochschule-v1"
    first_item = corpus_item(
        record, guid="fp-a-1", link="https://hochschule-neckar-odenwald.example/news/smart-farming"
    )
    second_item = corpus_item(record, guid="fp-b-9", link="https://bildungsportal.example/meldung/4711")
    url_a = feed_server.serve("/fp-a.xml", rss([first_item]))
    url_b = feed_server.serve("/fp-b.xml", rss([second_item]))
    configure(settings, FeedConfig(id="fp-press", url=url_a), FeedConfig(id="fp-portal", url=url_b))

    poll_now(settings, "fp-press")
    summary = poll_now(settings, "fp-portal")

    assert (summary["fp-portal"]["new"], summary["fp-portal"]["duplicates"]) == (0, 1)
    story = only_story(settings)
    assert story["feed"] == "fp-press"
    duplicate = story["sources"][1]
    assert (duplicate["feed"], duplicate["role"], duplicate["method"]) == ("fp-portal", "duplicate", "fingerprint")
    assert duplicate["similarity"] == 1.0
    assert duplicate["duplicate_of"] == story["id"]


def test_an_agency_rewrite_is_merged_as_a_near_duplicate(any_settings, feed_server):
    """Another agency's rewrite of the same story (new headline, link and guid, sentences reordered) is not
    published again: it becomes a near-duplicate source, with the similarity that linked it."""
    settings = any_settings
    url_a = feed_server.serve("/nd-a.xml", rss([corpus_item(ORIGINAL)]))
    url_b = feed_server.serve("/nd-b.xml", rss([corpus_item(REWRITE)]))
    configure(settings, FeedConfig(id="nd-ndw", url=url_a), FeedConfig(id="nd-dnk", url=url_b))

    poll_now(settings, "nd-ndw")
    summary = poll_now(settings, "nd-dnk")

    assert (summary["nd-dnk"]["new"], summary["nd-dnk"]["duplicates"]) == (0, 1)
    story = only_story(settings)
    assert (story["feed"], story["title"], story["revision"]) == ("nd-ndw", RECORDS[ORIGINAL]["title"], 1)
    primary, duplicate = story["sources"]
    assert primary["feed"] == "nd-ndw"
    assert (duplicate["feed"], duplicate["role"], duplicate["method"]) == ("nd-dnk", "duplicate", "near-dup")
    assert duplicate["title"] == RECORDS[REWRITE]["title"]
    assert 0.3 <= duplicate["similarity"] < 1.0
    assert count(settings, StoryRow) == 1


def test_two_police_reports_from_one_template_stay_two_stories_and_say_why(settings, feed_server):
    """Two burglary reports sharing the police boilerplate (other town, shop, loot) are both published, and
    the second story's decision names the closest story and why it was not merged."""
    url_a = feed_server.serve("/hn-a.xml", rss([corpus_item(WEINHEIM)]))
    url_b = feed_server.serve("/hn-b.xml", rss([corpus_item(SCHWETZINGEN)]))
    configure(settings, FeedConfig(id="hn-weinheim", url=url_a), FeedConfig(id="hn-schwetzingen", url=url_b))

    poll_now(settings, "hn-weinheim")
    summary = poll_now(settings, "hn-schwetzingen")

    assert (summary["hn-schwetzingen"]["new"], summary["hn-schwetzingen"]["duplicates"]) == (1, 0)
    published = {s["feed"]: s for s in stories(settings)}
    assert set(published) == {"hn-weinheim", "hn-schwetzingen"}
    first, second = published["hn-weinheim"], published["hn-schwetzingen"]
    assert [s["feed"] for s in second["sources"]] == ["hn-schwetzingen"]
    (decision,) = detail(settings, second["id"])["decisions"]
    assert decision["action"] == "new"
    assert f"closest story {first['id']}" in decision["reason"]
    assert "differ" in decision["reason"] or "below threshold" in decision["reason"]


# --- which version is published ------------------------------------------------------------------------------


def test_a_higher_priority_feed_takes_over_a_story_another_feed_published_first(settings, feed_server):
    """When the preferred agency (priority 10) sends its version of a story already published from another
    feed, its headline and text become the published version (revision 2); both sources stay listed."""
    url_low = feed_server.serve("/prio-low.xml", rss([corpus_item(REWRITE)]))
    url_high = feed_server.serve("/prio-high.xml", rss([corpus_item(ORIGINAL)]))
    configure(settings, FeedConfig(id="prio-dnk", url=url_low), FeedConfig(id="prio-ndw", url=url_high, priority=10))
    poll_now(settings, "prio-dnk")
    before = only_story(settings)
    assert (before["feed"], before["revision"]) == ("prio-dnk", 1)

    summary = poll_now(settings, "prio-ndw")

    assert (summary["prio-ndw"]["new"], summary["prio-ndw"]["duplicates"]) == (0, 1)
    story = only_story(settings)
    assert story["id"] == before["id"]
    assert (story["feed"], story["title"], story["revision"]) == ("prio-ndw", RECORDS[ORIGINAL]["title"], 2)
    assert story["body_text"].startswith("BRÜSSEL (ndw):")
    assert revisions(settings, story["id"]) == [1, 2]
    roles = {source["feed"]: source["role"] for source in story["sources"]}
    assert roles == {"prio-ndw": "primary", "prio-dnk": "duplicate"}
    assert story["sources"][0]["feed"] == "prio-ndw"


def test_the_taken_over_version_is_not_called_a_duplicate(settings, feed_server):
    """After a higher-priority feed took a story over, `feedworkers story <that feed's entry>` shows the story
    without calling the entry a duplicate: its version is the published one."""
    url_low = feed_server.serve("/tk-low.xml", rss([corpus_item(REWRITE)]))
    url_high = feed_server.serve("/tk-high.xml", rss([corpus_item(ORIGINAL)]))
    configure(settings, FeedConfig(id="tk-dnk", url=url_low), FeedConfig(id="tk-ndw", url=url_high, priority=10))
    poll_now(settings, "tk-dnk")
    poll_now(settings, "tk-ndw")
    story = only_story(settings)
    (primary,) = [source for source in story["sources"] if source["role"] == "primary"]
    assert primary["feed"] == "tk-ndw"

    shown = detail(settings, primary["entry_key"])

    assert shown["id"] == story["id"]
    assert "duplicate_of" not in shown


def test_with_equal_priorities_the_first_arrival_stays_published(settings, feed_server):
    """Without a priority the version that came first stays the published one; a later rewrite only adds a
    source and no revision."""
    url_first = feed_server.serve("/eq-first.xml", rss([corpus_item(REWRITE)]))
    url_later = feed_server.serve("/eq-later.xml", rss([corpus_item(ORIGINAL)]))
    configure(settings, FeedConfig(id="eq-dnk", url=url_first), FeedConfig(id="eq-ndw", url=url_later))
    poll_now(settings, "eq-dnk")

    summary = poll_now(settings, "eq-ndw")

    assert summary["eq-ndw"]["duplicates"] == 1
    story = only_story(settings)
    assert (story["feed"], story["title"], story["revision"]) == ("eq-dnk", RECORDS[REWRITE]["title"], 1)
    assert revisions(settings, story["id"]) == [1]
    roles = {source["feed"]: source["role"] for source in story["sources"]}
    assert roles == {"eq-dnk": "primary", "eq-ndw": "duplicate"}


# --- updates of one entry ------------------------------------------------------------------------------------

UPDATE_RECORD = "dev-ndw-bundestag-v1"
ADDENDUM = "Nachtrag: Die Meldung wurde am Abend um eine Stellungnahme der zuständigen Behörde ergänzt."


def _added_paragraph(item: Item) -> Item:
    item.body += f"<p>{ADDENDUM}</p>"
    return item


def _changed_headline(item: Item) -> Item:
    item.title = "Schwimmbad-Förderung: Bundestag verlängert Programm bis 2030"
    return item


def _doubled_spaces(item: Item) -> Item:
    item.body = item.body.replace(" ", "  ", 5).replace("</p><p>", "</p>\n\n<p>")
    return item


def _entity_quote(item: Item) -> Item:
    item.body = item.body.replace('"', "&quot;")
    return item


@pytest.mark.parametrize("change", [_added_paragraph, _changed_headline], ids=["new-paragraph", "new-headline"])
def test_a_material_change_of_an_entry_becomes_revision_2(any_settings, feed_server, change):
    """A new paragraph or a new headline under the same guid updates the published story to revision 2."""
    settings = any_settings
    url = feed_server.serve("/upd-m.xml", rss([corpus_item(UPDATE_RECORD, guid="upd-m-1")]))
    configure(settings, FeedConfig(id="upd-material", url=url))
    poll_now(settings, "upd-material")
    before = only_story(settings)

    changed = change(corpus_item(UPDATE_RECORD, guid="upd-m-1"))
    feed_server.serve("/upd-m.xml", rss([changed]))
    summary = poll_now(settings, "upd-material")

    assert (summary["upd-material"]["updated"], summary["upd-material"]["new"]) == (1, 0)
    story = only_story(settings)
    assert story["id"] == before["id"]
    assert story["revision"] == 2
    assert story["title"] == changed.title
    if change is _added_paragraph:
        assert ADDENDUM in story["body_text"]
        assert "Nachtrag" not in before["body_text"]
    assert revisions(settings, story["id"]) == [1, 2]


@pytest.mark.parametrize("change", [_doubled_spaces, _entity_quote], ids=["whitespace", "entity"])
def test_a_trivial_change_of_an_entry_makes_no_revision(any_settings, feed_server, change):
    """Whitespace or entity encoding changing in the feed leaves the story at revision 1, with no new stored
    version."""
    settings = any_settings
    body = "".join(paragraphs(UPDATE_RECORD)) + '<p>Die Ministerin sprach von einem "guten Tag für Familien".</p>'
    first = corpus_item(UPDATE_RECORD, guid="upd-t-1", body=body)
    url = feed_server.serve("/upd-t.xml", rss([first]))
    configure(settings, FeedConfig(id="upd-trivial", url=url))
    poll_now(settings, "upd-trivial")
    before = only_story(settings)

    changed = change(corpus_item(UPDATE_RECORD, guid="upd-t-1", body=body))
    assert changed.body != first.body
    feed_server.serve("/upd-t.xml", rss([changed]))
    summary = poll_now(settings, "upd-trivial")

    assert feed_server.hits("/upd-t.xml", status=200) == 2
    assert (summary["upd-trivial"]["updated"], summary["upd-trivial"]["skipped"]) == (0, 1)
    story = only_story(settings)
    assert story["revision"] == 1
    assert (story["body_text"], story["body_html"]) == (before["body_text"], before["body_html"])
    assert revisions(settings, story["id"]) == [1]
    assert count(settings, StoryRevision) == 1


# --- staff decisions -----------------------------------------------------------------------------------------


def test_a_locked_story_keeps_its_text_and_holds_the_new_version_as_pending(settings, feed_server):
    """After staff lock a story, a material update from the feed does not overwrite it: the published text
    and revision stay, the new version is kept as a pending revision and the poll counts it as held."""
    record = "dev-ndw-kaefer-v1"
    url = feed_server.serve("/lock.xml", rss([corpus_item(record)]))
    configure(settings, FeedConfig(id="lock-ndw", url=url))
    poll_now(settings, "lock-ndw")
    before = only_story(settings)
    set_story_state(settings.resolved_database_url, before["id"], "lock")

    feed_server.serve("/lock.xml", rss([_added_paragraph(corpus_item(record))]))
    summary = poll_now(settings, "lock-ndw")

    assert (summary["lock-ndw"]["held"], summary["lock-ndw"]["updated"]) == (1, 0)
    story = only_story(settings)
    assert story["revision"] == 1
    assert (story["title"], story["body_text"]) == (before["title"], before["body_text"])
    assert revision_states(settings, story["id"]) == [(1, "published"), (2, "pending")]
    shown = detail(settings, story["id"])
    assert shown["locked"] is True
    assert [r["state"] for r in shown["revisions"]] == ["published", "pending"]


def test_after_unlock_the_next_material_change_is_published(settings, feed_server):
    """Once staff unlock a story that held a pending version, the next material update from the feed is
    published again, numbered after the pending one."""
    record = "dev-ndw-kaefer-v1"
    url = feed_server.serve("/unlock.xml", rss([corpus_item(record)]))
    configure(settings, FeedConfig(id="unlock-ndw", url=url))
    poll_now(settings, "unlock-ndw")
    story_id = only_story(settings)["id"]
    set_story_state(settings.resolved_database_url, story_id, "lock")
    feed_server.serve("/unlock.xml", rss([_added_paragraph(corpus_item(record))]))
    assert poll_now(settings, "unlock-ndw")["unlock-ndw"]["held"] == 1
    set_story_state(settings.resolved_database_url, story_id, "unlock")

    latest = _added_paragraph(corpus_item(record, title="Laufkäfer-Neufund: Art aus dem Bayerischen Wald benannt"))
    feed_server.serve("/unlock.xml", rss([latest]))
    summary = poll_now(settings, "unlock-ndw")

    assert (summary["unlock-ndw"]["updated"], summary["unlock-ndw"]["errors"]) == (1, 0)
    story = only_story(settings)
    assert story["title"] == latest.title
    states = revision_states(settings, story_id)
    assert (2, "pending") in states
    assert states[-1] == (story["revision"], "published")


def test_a_removed_story_never_comes_back(settings, feed_server):
    """A story staff removed stays gone: not when its entry changes, not on a forced refetch, and not when
    another feed carries an exact copy; no new story is created for any of them."""
    record = "dev-dnk-lumen-v1"
    url = feed_server.serve("/gone.xml", rss([corpus_item(record)]))
    copy = corpus_item(record, guid="gone-copy-1", link="https://raumfahrt-portal.example/lumen-2-gestartet")
    url_copy = feed_server.serve("/gone-copy.xml", rss([copy]))
    configure(settings, FeedConfig(id="gone-dnk", url=url), FeedConfig(id="gone-copy", url=url_copy))
    poll_now(settings, "gone-dnk")
    story_id = only_story(settings)["id"]
    set_story_state(settings.resolved_database_url, story_id, "remove")
    assert stories(settings) == []

    feed_server.serve("/gone.xml", rss([_added_paragraph(corpus_item(record))]))
    changed = poll_now(settings, "gone-dnk")
    forced = poll_now(settings, "gone-dnk", force=True)
    copied = poll_now(settings, "gone-copy")

    for summary, feed in ((changed, "gone-dnk"), (forced, "gone-dnk"), (copied, "gone-copy")):
        assert (summary[feed]["new"], summary[feed]["updated"], summary[feed]["duplicates"]) == (0, 0, 0)
        assert summary[feed]["skipped"] == 1
    assert stories(settings) == []
    assert count(settings, StoryRow) == 1
    shown = detail(settings, story_id)
    assert (shown["status"], shown["revision"]) == ("removed", 1)
    reasons = [d["reason"] for d in shown["decisions"] if d["action"] == "skip"]
    assert len(reasons) == 3
    assert all("removed" in reason for reason in reasons), reasons


# --- feeds whose guids identify nothing ----------------------------------------------------------------------


def test_a_feed_giving_every_entry_the_same_guid_is_keyed_by_link(settings, feed_server):
    """Three different stories that all carry one guid are three stories, and the feed's status says it is
    keyed by link because of the shared guid."""
    records = ("dev-dnk-konjunktur-v1", "dev-dnk-un-bonn-v1", "dev-dnk-ligurien-v1")
    items = [corpus_item(record, guid="https://sameguid.example/feed") for record in records]
    url = feed_server.serve("/sameguid.xml", rss(items))
    configure(settings, FeedConfig(id="sameguid", url=url))

    summary = poll_now(settings, "sameguid")

    assert summary["sameguid"]["new"] == 3
    published = stories(settings)
    assert sorted(s["title"] for s in published) == sorted(RECORDS[r]["title"] for r in records)
    status = status_of(settings, "sameguid")
    assert status["keyed_by"] == "link"
    assert "same guid" in status["keyed_by_reason"]


def test_a_feed_minting_new_guids_each_poll_is_keyed_by_link_and_adds_no_stories(settings, feed_server):
    """A feed that serves the same stories under new guids on every poll publishes nothing new; its status
    says it is keyed by link because the guids change, and later churn is not even enqueued."""
    records = ("dev-pf-solarpark-v1", "dev-pf-nikolauslauf-v1", "dev-pf-spinnerei-v1")

    def serve(generation: int) -> str:
        items = [corpus_item(record, guid=f"churn-{generation}-{n}") for n, record in enumerate(records)]
        return feed_server.serve("/churn.xml", rss(items))

    configure(settings, FeedConfig(id="churn", url=serve(1)))
    assert poll_now(settings, "churn")["churn"]["new"] == 3
    ids = {s["id"] for s in stories(settings)}

    serve(2)
    summary = poll_now(settings, "churn")

    assert summary["churn"]["new"] == 0
    assert {s["id"] for s in stories(settings)} == ids
    assert count(settings, StoryRow) == 3
    status = status_of(settings, "churn")
    assert status["keyed_by"] == "link"
    assert "guids change" in status["keyed_by_reason"]

    serve(3)
    third = poll_now(settings, "churn")

    assert (third["churn"]["new"], third["churn"]["updated"], third["churn"]["duplicates"]) == (0, 0, 0)
    assert count(settings, StoryRow) == 3


# --- explaining it -------------------------------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The console script against this test session's store and Redis (the FEEDWORKERS_* test settings)."""
    env = dict(os.environ) | {"FEEDWORKERS_LOG_LEVEL": "WARNING"}
    return subprocess.run([str(FEEDWORKERS), *args], env=env, capture_output=True, text=True, timeout=120, check=False)


def test_the_cli_explains_which_story_a_duplicate_joined(settings, feed_server):
    """`feedworkers story <id the duplicate arrived with>` says which story it is a duplicate of and lists the
    sources and decisions; `feedworkers stories --json` carries sources, revision and duplicate_of."""
    original, repost = _dup_group("D09")
    url_a = feed_server.serve("/cli-a.xml", rss([corpus_item(original)]))
    url_b = feed_server.serve("/cli-b.xml", rss([corpus_item(repost)]))
    configure(settings, FeedConfig(id="cli-press", url=url_a), FeedConfig(id="cli-depesche", url=url_b))
    poll_now(settings, "cli-press")
    poll_now(settings, "cli-depesche")
    story = only_story(settings)
    duplicate_key = story["sources"][1]["entry_key"]
    assert duplicate_key != story["id"]

    shown = _cli("story", duplicate_key)
    listed = _cli("stories", "--json")

    assert shown.returncode == 0, shown.stderr
    assert f"entry {duplicate_key} is a duplicate of story {story['id']}" in shown.stdout
    sources = shown.stdout.split("\nsources:\n")[1].split("\nrevisions:\n")[0]
    assert "primary" in sources and "cli-press" in sources
    assert "duplicate" in sources and "cli-depesche" in sources
    decisions = shown.stdout.split("\ndecisions:\n")[1]
    assert "cli-depesche" in decisions and "merge" in decisions
    assert f"as story {story['id']}" in decisions
    assert listed.returncode == 0, listed.stderr
    (row,) = json.loads(listed.stdout)
    assert (row["id"], row["revision"]) == (story["id"], 1)
    assert [s["feed"] for s in row["sources"]] == ["cli-press", "cli-depesche"]
    assert "duplicate_of" not in row["sources"][0]
    assert row["sources"][1]["duplicate_of"] == story["id"]
