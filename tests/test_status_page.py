"""The status page in a real headless Chromium: enter the token, press "Refetch now", see the new story.

Everything is real: the feed server gets the request, the worker publishes the story, and the page shows
it by itself (its 5-second refresh, or at once when the poll it follows is done). Needs the Debian
chromium package (/usr/bin/chromium); the test is skipped with the install command when it is missing.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.feeds import Item, rss, story_text
from tests.helpers import configure, poll_now
from tests.test_api import TOKEN, serving, unique_feed
from workers.feeds_config import FeedConfig

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.usefixtures("worker")


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Chromium from the Debian package (playwright's own browser downloads are not used)."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        pytest.skip("the playwright Python package is missing: pip install -e '.[dev]'")
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install it with `apt-get install chromium` (Debian/Ubuntu)")
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        except Error as error:
            first_line = str(error).strip().splitlines()[0]
            pytest.skip(f"{CHROMIUM} does not start ({first_line}); reinstall it with `apt-get install chromium`")
        yield launched
        launched.close()


def test_refetch_button_fetches_the_feed_and_the_new_story_appears(settings, feed_server, browser, tmp_path):
    feed, wire = unique_feed("page"), unique_feed("wire")
    title = f"Stadtbibliothek öffnet sonntags ({feed})"
    story = Item(title, story_text(feed), guid=f"{feed}-1", link=f"https://page.example/{feed}/1")
    # The wire's story, already published, comes again in the page feed: the page marks it a duplicate.
    shared = Item(f"Freibad bleibt bis Oktober offen ({wire})", story_text(wire), guid=f"{wire}-1",
                  link=f"https://wire.example/{wire}/1")  # fmt: skip
    again = Item(shared.title, shared.body, guid=f"{feed}-2", link=f"https://page.example/{feed}/2")
    url = feed_server.serve("/page.xml", rss([story, again]))
    wire_url = feed_server.serve("/wire.xml", rss([shared]))
    configure(settings, FeedConfig(id=feed, url=url, title="Seitentest"), FeedConfig(id=wire, url=wire_url))
    poll_now(settings, wire)

    with serving(settings.model_copy(update={"api_token": TOKEN})) as base:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(base + "/")
        row = page.locator(f'#feeds tr[data-feed="{feed}"]')
        assert row.locator(".badge").first.inner_text() == "ok"
        assert page.locator("#stories").inner_text().count(title) == 0

        page.fill("#token", "not-the-token")
        row.get_by_role("button", name="Refetch now").click()
        page.locator(f'[data-answer="{feed}"]', has_text="401").wait_for(timeout=10_000)
        assert feed_server.hits("/page.xml") == 0

        page.fill("#token", TOKEN)
        page.locator(f'#feeds tr[data-feed="{feed}"]').get_by_role("button", name="Refetch now").click()

        page.locator(f'[data-answer="{feed}"]').filter(has_text="accepted").or_(
            page.locator(f'[data-answer="{feed}"]').filter(has_text="done")
        ).wait_for(timeout=10_000)
        page.locator("#stories a", has_text=title).wait_for(timeout=30_000)
        assert feed_server.hits("/page.xml") == 1
        link = page.locator("#stories a", has_text=title).get_attribute("href")
        assert link is not None and link.startswith("/api/stories/")
        page.locator(f'[data-answer="{feed}"]', has_text="done").wait_for(timeout=10_000)
        assert "1 new, 0 updated, 1 duplicates" in page.locator(f'[data-answer="{feed}"]').inner_text()
        duplicate = page.locator("#stories tr", has_text=shared.title)
        duplicate.locator(".marker.dup", has_text="duplicate ×2 sources").wait_for(timeout=10_000)

        # A second press within FEEDWORKERS_REFETCH_MIN_SECONDS is refused, and the page says for how long.
        page.locator(f'#feeds tr[data-feed="{feed}"]').get_by_role("button", name="Refetch now").click()
        page.locator(f'[data-answer="{feed}"]', has_text="try again in").wait_for(timeout=10_000)
        assert page.evaluate("localStorage.getItem('feedworkers-token')") == TOKEN
        time.sleep(0.2)  # let the last re-render paint before the screenshot
        _screenshot(page, tmp_path)
        assert errors == [], f"JavaScript errors on the page: {errors}"
    assert feed_server.hits("/page.xml") == 1, "the refused refetch fetched nothing"


def _screenshot(page: Any, tmp_path: Path) -> None:
    """Into the test's tmp_path, and also to FEEDWORKERS_SCREENSHOT when that is set (for docs and review)."""
    path = tmp_path / "status-page.png"
    page.screenshot(path=str(path), full_page=True)
    if target := os.environ.get("FEEDWORKERS_SCREENSHOT"):
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
