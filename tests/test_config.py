"""Loading and validating config/feeds.yaml and config/clean.yaml."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from workers.boilerplate import load_rules
from workers.errors import ConfigError
from workers.feeds_config import load_feeds

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_FEEDS = ROOT / "config" / "feeds.yaml"
SHIPPED_RULES = ROOT / "config" / "clean.yaml"

VALID_FEED = "  - id: wire-west\n    url: https://wire.example/feed.xml\n"


def _feeds_file(folder: Path, text: str) -> Path:
    path = folder / "feeds.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _one_feed(folder: Path, extra: str) -> Path:
    """A feeds file with the feed wire-west plus the given (indented) lines."""
    return _feeds_file(folder, "feeds:\n" + VALID_FEED + extra)


def _path_of(file_url: str) -> Path:
    return Path(unquote(urlparse(file_url).path))


# --- the shipped configuration ------------------------------------------------------------------


def _assert_config_error(load, path, fragments) -> None:
    """`load(path)` raises ConfigError whose message starts with the file and contains every fragment."""
    with pytest.raises(ConfigError) as caught:
        load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    for fragment in fragments:
        assert fragment in message


def test_shipped_feeds_yaml_loads():
    """The feeds.yaml in the repository validates and declares the bundled sample feed."""
    feeds = load_feeds(SHIPPED_FEEDS)

    assert [feed.id for feed in feeds] == ["beispiel-agentur"]


def test_shipped_feed_url_is_an_absolute_file_url_of_the_bundled_sample():
    """The shipped feed's `file:` URL becomes an absolute file:// URL of examples/wire-sample.xml."""
    (feed,) = load_feeds(SHIPPED_FEEDS)

    assert feed.url.startswith("file:///")
    target = _path_of(feed.url)
    assert target.is_absolute()
    assert target.is_file()
    assert target == (ROOT / "examples" / "wire-sample.xml").resolve()


def test_shipped_clean_yaml_loads():
    """The clean.yaml in the repository validates and yields all of its named rules."""
    rules = load_rules(SHIPPED_RULES)

    assert {rule.name for rule in rules} == {
        "leading-press-release",
        "related-articles",
        "back-to-top",
        "share-bar",
        "photo-credit",
    }


# --- invalid feeds.yaml -------------------------------------------------------------------------

INVALID_FEEDS = [
    pytest.param(
        "feeds:\n" + VALID_FEED + "    interval: 0\n", ["feed 'wire-west'", "interval", "got 0"], id="interval-zero"
    ),
    pytest.param(
        "feeds:\n" + VALID_FEED + "    interval: fast\n", ["feed 'wire-west'", "interval", "'fast'"], id="interval-text"
    ),
    pytest.param(
        "feeds:\n  - id: Wire West\n    url: https://wire.example/feed.xml\n",
        ["feed #1", "id must match", "'Wire West'"],
        id="id-with-capitals-and-space",
    ),
    pytest.param("feeds:\n" + VALID_FEED + VALID_FEED, ["feed 'wire-west'", "id is used twice"], id="duplicate-id"),
    pytest.param(
        "feeds:\n  - id: wire-west\n    url: http:///feed.xml\n",
        ["feed 'wire-west'", "url has no valid host", "'http:///feed.xml'"],
        id="url-without-host",
    ),
    pytest.param(
        "feeds:\n  - id: wire-west\n    url: http://[::1/feed.xml\n",
        ["feed 'wire-west'", "url has no valid host"],
        id="url-malformed-ipv6",
    ),
    pytest.param(
        "feeds:\n  - id: wire-west\n    interval: 60\n",
        ["feed 'wire-west'", "url must start with", "None"],
        id="missing-url",
    ),
    pytest.param(
        "feeds:\n  - id: wire-west\n    url: ftp://wire.example/feed.xml\n",
        ["feed 'wire-west'", "url must start with", "'ftp://wire.example/feed.xml'"],
        id="ftp-url",
    ),
    pytest.param(
        "feeds:\n" + VALID_FEED + "    language: deutsch\n",
        ["feed 'wire-west'", "language", "'deutsch'"],
        id="language-word",
    ),
    pytest.param(
        "feeds:\n" + VALID_FEED + "    tags: agentur\n",
        ["feed 'wire-west'", "tags must be a list", "'agentur'"],
        id="tags-not-list",
    ),
    pytest.param(
        "feeds:\n" + VALID_FEED + '    enabled: "yes"\n', ["feed 'wire-west'", "enabled", "'yes'"], id="enabled-string"
    ),
    pytest.param(
        "feeds:\n" + VALID_FEED + "    intervall: 60\n",
        ["feed 'wire-west'", "unknown field 'intervall'"],
        id="unknown-key",
    ),
    pytest.param("feeds: [unclosed\n  - id: {\n", ["not valid YAML"], id="not-yaml"),
    pytest.param(
        "- id: wire-west\n  url: https://wire.example/feed.xml\n",
        ["expected a mapping", "'feeds'"],
        id="top-level-list",
    ),
]


@pytest.mark.parametrize(("text", "fragments"), INVALID_FEEDS)
def test_invalid_feeds_file_raises_config_error_naming_file_feed_and_field(tmp_path, text, fragments):
    """An invalid feeds file raises ConfigError whose message starts with the file and names feed, field and value."""
    path = _feeds_file(tmp_path, text)

    _assert_config_error(load_feeds, path, fragments)


def test_interval_below_minimum_message_is_exact(tmp_path):
    """An interval below 30 seconds produces exactly `<path>: feed '<id>': interval must be ≥ 30 seconds, got 0`."""
    path = _one_feed(tmp_path, "    interval: 0\n")

    with pytest.raises(ConfigError) as caught:
        load_feeds(path)

    assert str(caught.value) == f"{path}: feed 'wire-west': interval must be ≥ 30 seconds, got 0"


def test_missing_feeds_file_says_how_to_fix_it(tmp_path):
    """A missing feeds file raises ConfigError naming the file and pointing at FEEDWORKERS_CONFIG_DIR."""
    path = tmp_path / "nowhere" / "feeds.yaml"

    _assert_config_error(load_feeds, path, ["not found", "FEEDWORKERS_CONFIG_DIR"])


# --- defaults and URL resolution ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "default"),
    [
        pytest.param("interval", 300, id="interval"),
        pytest.param("enabled", True, id="enabled"),
        pytest.param("tags", (), id="tags"),
    ],
)
def test_omitted_field_gets_its_default(tmp_path, field, default):
    """A feed that gives only id and url gets the documented default for each optional field."""
    (feed,) = load_feeds(_one_feed(tmp_path, ""))

    assert getattr(feed, field) == default


@pytest.mark.parametrize(
    ("url", "relative_target"),
    [
        pytest.param("file:wire.xml", "config/wire.xml", id="same-folder"),
        pytest.param("file:samples/wire.xml", "config/samples/wire.xml", id="subfolder"),
        pytest.param("file:../examples/wire.xml", "examples/wire.xml", id="parent-folder"),
    ],
)
def test_relative_file_url_resolves_against_the_feeds_file_folder(tmp_path, url, relative_target):
    """A `file:relative/path` URL becomes the absolute file:// URL of that path below the feeds file's folder."""
    (tmp_path / "config").mkdir()
    path = _feeds_file(tmp_path / "config", f"feeds:\n  - id: local\n    url: {url}\n")

    (feed,) = load_feeds(path)

    assert feed.url == (tmp_path / relative_target).resolve().as_uri()


def test_absolute_file_url_is_kept_as_given(tmp_path):
    """A `file:///absolute/path` URL is not rewritten."""
    target = (tmp_path / "elsewhere" / "wire.xml").as_uri()
    path = _feeds_file(tmp_path, f"feeds:\n  - id: local\n    url: {target}\n")

    (feed,) = load_feeds(path)

    assert feed.url == target


# --- invalid clean.yaml -------------------------------------------------------------------------

INVALID_RULES = [
    pytest.param(
        "rules:\n  - name: broken\n    regex: '(unclosed'\n", ["rule 'broken'", "regex is invalid"], id="invalid-regex"
    ),
    pytest.param(
        "rules:\n  - name: both\n    text: Teilen\n    regex: '^Teilen'\n",
        ["rule 'both'", "exactly one of 'text'", "'regex'"],
        id="text-and-regex",
    ),
    pytest.param(
        "rules:\n  - name: neither\n    position: first\n",
        ["rule 'neither'", "exactly one of 'text'", "'regex'"],
        id="neither-text-nor-regex",
    ),
    pytest.param(
        "rules:\n  - name: misplaced\n    text: Teilen\n    position: middle\n",
        ["rule 'misplaced'", "position must be one of first, last, any", "'middle'"],
        id="unknown-position",
    ),
    pytest.param(
        "rules: []\nfeeds:\n  wire-west:\n    - name: feed-rule\n      regex: '[unclosed'\n",
        ["rule 'feed-rule'", "regex is invalid"],
        id="invalid-regex-in-feed-rules",
    ),
]


@pytest.mark.parametrize(("text", "fragments"), INVALID_RULES)
def test_invalid_clean_rule_raises_config_error_naming_file_and_rule(tmp_path, text, fragments):
    """An invalid boilerplate rule raises ConfigError whose message starts with the file and names the rule and field."""
    path = tmp_path / "clean.yaml"
    path.write_text(text, encoding="utf-8")

    _assert_config_error(load_rules, path, fragments)
