"""Every stage logs one structured event per story with stable keys; all records share one format."""

from __future__ import annotations

import json
import logging

import structlog
from structlog.testing import capture_logs

from tests.helpers import configure
from tests.test_publish import _story
from workers.feeds_config import FeedConfig
from workers.logs import configure_logging
from workers.pipeline import process_story

KEYS = {"story_id", "feed_id", "stage", "outcome", "duration_ms"}


def test_each_stage_logs_one_event_per_story(settings):
    configure(settings, FeedConfig(id="wire-west", url="https://wire.example/feed.xml"))

    with capture_logs() as events:
        process_story(_story(), settings)

    stage_events = [e for e in events if "stage" in e]
    assert [e["stage"] for e in stage_events] == ["clean", "dedup", "tag", "publish"]
    for event in stage_events:
        assert KEYS <= event.keys()
        assert event["story_id"] == _story().id
    assert stage_events[-1]["outcome"] == "new"


def test_a_skipped_story_says_why(settings):
    configure(settings, FeedConfig(id="wire-west", url="https://wire.example/feed.xml"))
    process_story(_story(), settings)

    with capture_logs() as events:
        process_story(_story(), settings)

    dedup = next(e for e in events if e.get("stage") == "dedup")
    assert dedup["outcome"] == "skip"
    assert "same text" in dedup["reason"]


def test_json_lines_carry_foreign_records_too(capsys):
    """With JSON output, a plain logging record (as Celery writes) comes out as JSON with the same keys."""
    configure_logging("INFO", json=True)
    try:
        logging.getLogger("celery.worker").info("Connected to redis")
        structlog.get_logger("workers.stage").info("publish", stage="publish", outcome="new")
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    finally:
        configure_logging("WARNING")
    assert {"event": "Connected to redis", "logger": "celery.worker", "level": "info"}.items() <= lines[0].items()
    assert {"event": "publish", "stage": "publish", "outcome": "new"}.items() <= lines[1].items()
    assert all("timestamp" in line for line in lines)
