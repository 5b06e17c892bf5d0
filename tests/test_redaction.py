"""Secrets never reach a log line: URL passwords, bearer tokens, secret-named fields, also in tracebacks."""

from __future__ import annotations

import pytest
import structlog

from tests.helpers import configure, feed_row, poll_now
from workers.feeds_config import FeedConfig
from workers.logs import configure_logging
from workers.redact import redact_text


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Connected to redis://:s3cret-pw@queue:6379/0", "s3cret-pw"),
        ("store postgresql+psycopg://feedworkers:pa55word@db/feedworkers", "pa55word"),
        ("Authorization: Bearer abcdef123456", "abcdef123456"),
        ("GET https://wire.example/feed.xml?token=t0k3n-value&page=2", "t0k3n-value"),
        ("api_key=k3y-value", "k3y-value"),
        ('{"password": "hunter2"}', "hunter2"),
    ],
    ids=["broker-url", "database-url", "bearer", "query-token", "api-key", "json-password"],
)
def test_secrets_in_text_are_replaced(text: str, secret: str) -> None:
    redacted = redact_text(text)
    assert secret not in redacted
    assert "***" in redacted


@pytest.mark.parametrize(
    "text",
    ["Polizei meldet Unfall um 10:30 Uhr", "redis://queue:6379/0", "https://wire.example/feed.xml?page=2"],
    ids=["prose", "url-without-password", "url-without-token"],
)
def test_text_without_secrets_is_unchanged(text: str) -> None:
    assert redact_text(text) == text


def test_secret_named_fields_and_tracebacks_are_redacted_in_json_logs(capsys) -> None:
    configure_logging("INFO", json=True)
    log = structlog.get_logger("test")
    log.info("connecting", api_token="tok-123456", url="redis://:pw-987654@queue:6379/0")
    try:
        raise ConnectionError("could not reach postgresql://fw:pw-555555@db/fw")
    except ConnectionError:
        log.exception("store down")
    out = capsys.readouterr().out
    assert "tok-123456" not in out and "pw-987654" not in out and "pw-555555" not in out
    assert out.count("***") >= 3


def test_a_feed_url_with_credentials_never_shows_its_password_in_the_logs(settings, worker, capsys):
    # Nothing listens on port 9: the fetch error names the URL, which must reach the log without its password.
    configure(settings, FeedConfig(id="private", url="http://reader:feed-pw-4711@127.0.0.1:9/private.xml"))
    configure_logging("INFO", json=True)
    try:
        poll_now(settings, "private")
    finally:
        configure_logging("WARNING")
    out = capsys.readouterr().out
    assert "reader:***@127.0.0.1:9" in out, "the feed URL is logged, with its password replaced"
    assert "feed-pw-4711" not in out
    assert "feed-pw-4711" not in (feed_row(settings, "private").last_error or ""), "nor in status and the API"
