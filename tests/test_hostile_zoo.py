"""The hostile-input kit (tests/hostile, see its README) run case by case through the real pipeline.

The zoo is generated once per module into a pytest tmp dir and served by the kit's fault server; each case
follows the kit's recommended loop: a store seeded from `/ok.xml`, the case's file polled through the real
queues and worker, then the expectation, markers, substrings, links and named checks of cases.json, the
`DVOK*` stories unchanged, and one more normal poll on the same worker. The checks mean what the kit says
(its `visible_text()` and `forbidden_hits()` are imported, not re-implemented), so a second kit of the same
kinds can be dropped in unchanged.

The control feed, the case and the normal poll after it go to three different servers (a second fault
server for `/ok.xml`, the conftest feed server for the last poll): the poller keeps a politeness gap between
requests to one host, and three polls of one host per case would make the module wait minutes for nothing.
"""

from __future__ import annotations

import hashlib
import html.parser
import json
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Self
from urllib.parse import quote, urlsplit

import pytest

from tests.feeds import numbered, rss
from tests.helpers import configure, feed_row, poll_now, stories
from tests.hostile.gen_zoo import forbidden_hits, visible_text
from workers.broker import redis_client
from workers.feeds_config import FeedConfig
from workers.monitor import status_report
from workers.report import list_stories

pytestmark = pytest.mark.usefixtures("worker")

KIT = Path(__file__).resolve().parent / "hostile"
CONTROL_FEED = "zoo-control"
AFTER_FEED = "zoo-after"
AFTER_ITEMS = numbered(2, prefix="zoo-after")
CONTROL_MARKERS = ("DVOK0001", "DVOK0002", "DVOK0003")
# The fields a marker is searched in (the kit: "guid, link, title, summary and content").
SEARCHED = ("guid", "url", "title", "summary", "body_html", "body_text")
MOJIBAKE = ("\ufffd", "Ã", "Â", "â€")
# An XML error as parsers report it: "line:column" (expat's "<unknown>:19:6") or "line N, column M".
XML_POSITION = re.compile(r"\d+:\d+|line \d+.{0,12}column \d+", re.IGNORECASE)
# The bulk cases are slow on purpose; every other case settles within seconds.
POLL_TIMEOUT = 150.0
MEMORY_LIMIT = 512 * 1024 * 1024


def _generate(out: Path) -> dict[str, Any]:
    subprocess.run([sys.executable, str(KIT / "gen_zoo.py"), "--out", str(out)], check=True, capture_output=True)
    return json.loads((out / "cases.json").read_text(encoding="utf-8"))


def _collected_cases() -> list[dict[str, Any]]:
    # Parametrisation needs the case ids at collection time, before any fixture exists; the kit is
    # deterministic, so the fixture's own generation must give the same cases (it checks that).
    with tempfile.TemporaryDirectory(prefix="hostile-zoo-ids-") as tmp:
        return list(_generate(Path(tmp))["cases"])


CASES = _collected_cases()
PASSED: set[str] = set()


@dataclass
class Zoo:
    """The generated zoo, the fault server that serves it (and its request log), and the control feed's server."""

    folder: Path
    document: dict[str, Any]
    origin: str
    log: Path
    control_origin: str

    def cases(self) -> dict[str, dict[str, Any]]:
        return {case["id"]: case for case in self.document["cases"]}

    def log_size(self) -> int:
        return self.log.stat().st_size if self.log.exists() else 0

    def log_events(self, since: int) -> list[dict[str, Any]]:
        with self.log.open("rb") as handle:
            handle.seek(since)
            return [json.loads(line) for line in handle.read().splitlines() if line.strip()]


@dataclass
class FaultServer:
    """One fault_server.py process on a free loopback port."""

    process: subprocess.Popen[bytes]
    origin: str
    log: Path

    @classmethod
    def start(cls, zoo: Path, work: Path) -> FaultServer:
        port_file, log = work / "port", work / "requests.jsonl"
        # --bomb-mib 1: the gzip bomb is built at start-up and no case here needs it big.
        process = subprocess.Popen(
            [sys.executable, str(KIT / "fault_server.py"), "0", "--port-file", str(port_file), "--log", str(log),
             "--zoo", str(zoo), "--bomb-mib", "1"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 15
        while not (port_file.exists() and port_file.read_text().strip()):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"fault_server.py did not start (exit status {process.poll()})")
            time.sleep(0.05)
        return cls(process, f"http://127.0.0.1:{int(port_file.read_text())}", log)

    def stop(self) -> None:
        """SIGTERM: the server logs its end and exits 0 within seconds (`wait` kills it if not)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait(self) -> None:
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def zoo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Zoo]:
    """Generate the zoo into a tmp dir; start a fault server for it and one for the control feed."""
    folder = tmp_path_factory.mktemp("zoo")
    document = _generate(folder)
    assert [c["id"] for c in document["cases"]] == [c["id"] for c in CASES], "gen_zoo.py is not deterministic"
    for case in document["cases"]:
        assert hashlib.sha256((folder / case["file"]).read_bytes()).hexdigest() == case["sha256"], case["file"]
    servers = [FaultServer.start(folder, tmp_path_factory.mktemp(name)) for name in ("zoo-server", "control-server")]
    try:
        yield Zoo(folder, document, servers[0].origin, servers[0].log, servers[1].origin)
    finally:
        for server in servers:
            server.stop()
        for server in servers:
            server.wait()


class _Summary:
    """A pytest plugin for this module's run: one line in the terminal summary, how many cases passed."""

    def __init__(self, selected: int) -> None:
        self.selected = selected

    def line(self) -> str:
        line = f"hostile zoo: {len(PASSED)}/{len(CASES)} cases passed"
        return line if self.selected == len(CASES) else f"{line} ({self.selected} selected)"

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        terminalreporter.write_sep("-", self.line())


@pytest.fixture(scope="module", autouse=True)
def _summary(request: pytest.FixtureRequest) -> None:
    """Register the summary line once per run (it is printed after the results, with pytest's summary)."""
    manager = request.config.pluginmanager
    if manager.get_plugin("hostile-zoo-summary") is None:
        selected = sum(1 for item in request.session.items if item.module is request.module)
        manager.register(_Summary(selected), "hostile-zoo-summary")


class _PeakMemory:
    """The process's resident memory sampled in the background (the worker runs in this process)."""

    def __init__(self) -> None:
        self.baseline = self.peak = _rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, _rss())

    @property
    def growth(self) -> int:
        return self.peak - self.baseline


def _rss() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux: the peak so far is the best there is
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@dataclass
class Run:
    """What one case left behind, and the problems found in it."""

    case: dict[str, Any]
    feed_id: str
    zoo: Zoo
    body: bytes
    stored: list[dict[str, Any]]
    feed: Any
    elapsed: float
    memory_growth: int
    events: list[dict[str, Any]]
    output: str
    problems: list[str] = field(default_factory=list)

    def problem(self, text: str) -> None:
        self.problems.append(text)

    def holding(self, marker: str) -> list[dict[str, Any]]:
        # Case-insensitive (links carry markers lowercased), and DVM0001 must not match DVM00012.
        pattern = re.compile(rf"{re.escape(marker)}(?![0-9])", re.IGNORECASE)
        return [s for s in self.stored if any(pattern.search(str(s.get(k) or "")) for k in SEARCHED)]


def _values(story: dict[str, Any]) -> list[str]:
    """Every stored value of a story, lists flattened."""
    values: list[str] = []
    for value in story.values():
        items = value if isinstance(value, list | tuple) else [value]
        for item in items:
            if isinstance(item, dict):
                values.extend(str(v) for v in item.values() if v is not None)
            elif item is not None:
                values.append(str(item))
    return values


class _Urls(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls.extend(value or "" for name, value in attrs if name in ("href", "src"))


def _content_urls(markup: str) -> list[str]:
    parser = _Urls()
    parser.feed(markup)
    parser.close()
    return parser.urls


def _is_http(url: str, *, mailto: bool = False) -> bool:
    parts = urlsplit(url)
    if mailto and parts.scheme == "mailto":
        return bool(parts.path)  # the sanitiser keeps mailto links (P7): absolute, though not http(s)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


# -- the named checks of cases.json ("checks") ----------------------------------------------------


def _links_absolute(run: Run) -> None:
    for story in run.stored:
        if story["url"] and not _is_http(story["url"]):
            run.problem(f"links_absolute: stored link {story['url']!r} is not an absolute http(s) URL")


def _content_urls_absolute(run: Run) -> None:
    for story in run.stored:
        for url in _content_urls(story["body_html"] or ""):
            if not _is_http(url, mailto=True):
                run.problem(f"content_urls_absolute: {url!r} in the body of {story['title']!r} is not absolute")


def _published_not_future(run: Run) -> None:
    for story in run.stored:
        if story["published_at"] and story["fetched_at"]:
            latest = datetime.fromisoformat(story["fetched_at"]) + timedelta(days=1)
            if datetime.fromisoformat(story["published_at"]) > latest:
                run.problem(f"published_not_future: {story['published_at']} is after fetch time + 1 day")


def _no_mojibake(run: Run) -> None:
    for story in run.stored:
        found = [bad for bad in MOJIBAKE if bad in story["title"]]
        if found:
            run.problem(f"no_mojibake: title {story['title']!r} contains {found}")


def _title_stored_maybe_truncated(run: Run) -> None:
    if not run.stored:
        run.problem("title_stored_maybe_truncated: the story with the long title was not stored")


def _no_fetch_of_canary(run: Run) -> None:
    fetched = [e["path"] for e in run.events if e.get("event") == "request" and e["path"].startswith("/canary/")]
    if fetched:
        run.problem(f"no_fetch_of_canary: the fault server saw requests for {fetched}")


def _finishes_within_60s(run: Run) -> None:
    if run.elapsed > 60:
        run.problem(f"finishes_within_60s: the case took {run.elapsed:.1f} s")


def _memory_bounded(run: Run) -> None:
    if run.memory_growth > MEMORY_LIMIT:
        run.problem(f"memory_bounded: resident memory grew by {run.memory_growth / 2**20:.0f} MiB")


def _worker_survives(run: Run) -> None:
    # The poll settled (poll_now returned) and the normal poll after the case is checked for every case;
    # here: when nothing was stored, the failure is on record as a parse error.
    if not run.stored and run.case["expectation"] == "parse_error" and not (run.feed.last_error or ""):
        run.problem("worker_survives: no error recorded for the feed")


# The local files a case's external entities name ("file:///etc/passwd"), to compare with what was stored.
_LOCAL_FILE = re.compile(rb"""(["'])file:(?://[^/"']*)?(/[^"']+)\1""")


def _no_local_file_leak(run: Run) -> None:
    secrets: list[str] = []
    for match in _LOCAL_FILE.finditer(run.body):
        try:
            text = Path(match.group(2).decode("utf-8", "replace")).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue  # nothing on this machine to leak
        secrets.extend(line.strip() for line in text.splitlines() if len(line.strip()) >= 8)
    hay = "\n".join(
        [*(v for s in run.stored for v in _values(s)), run.feed.last_error or "", run.output, *map(str, run.events)]
    )
    leaked = [line for line in secrets if line in hay]
    if leaked:
        run.problem(f"no_local_file_leak: local file content found, e.g. {leaked[0]!r}")


CHECKS: dict[str, Callable[[Run], None]] = {
    "links_absolute": _links_absolute,
    "content_urls_absolute": _content_urls_absolute,
    "published_not_future": _published_not_future,
    "no_mojibake": _no_mojibake,
    "title_stored_maybe_truncated": _title_stored_maybe_truncated,
    "no_fetch_of_canary": _no_fetch_of_canary,
    "finishes_within_60s": _finishes_within_60s,
    "memory_bounded": _memory_bounded,
    "worker_survives": _worker_survives,
    "no_local_file_leak": _no_local_file_leak,
}


# -- the expectation, markers, substrings and links --------------------------------------------------


def _check_expectation(run: Run) -> None:
    case, feed = run.case, run.feed
    count = len(run.stored)
    if case["expectation"] == "parse_error":
        error = feed.last_error or ""
        if count:
            run.problem(f"parse_error: {count} stories stored, expected none")
        if not error.startswith(f"parse: feed '{run.feed_id}'"):
            run.problem(f"parse_error: the feed's error does not name the stage and feed: {error!r}")
        elif "\n" in error or len(error) > 400:
            run.problem(f"parse_error: the feed's error is not one readable sentence: {error!r}")
        if feed.consecutive_errors < 1:
            run.problem("parse_error: the poll was not counted as failed")
        hits = forbidden_hits([error], case["forbidden_substrings"])
        if hits:
            run.problem(f"forbidden substrings in the recorded error: {hits}")
        return
    if feed.consecutive_errors:
        run.problem(f"{case['expectation']}: the poll failed: {feed.last_error}")
    if not case["stored_min"] <= count <= case["stored_max"]:
        run.problem(f"stored {count} stories, expected {case['stored_min']}..{case['stored_max']}")


def _check_markers(run: Run) -> None:
    case = run.case
    for marker in case["markers_stored"]:
        if not run.holding(marker):
            run.problem(f"marker {marker} is not stored")
    for marker in case["markers_skipped"]:
        if run.holding(marker):
            run.problem(f"marker {marker} is stored but must be skipped")
    prefix = case.get("marker_prefix")
    if prefix:
        pattern = re.compile(rf"{re.escape(prefix)}\d+")
        found = {m for s in run.stored for k in SEARCHED for m in pattern.findall(str(s.get(k) or ""))}
        if not case["stored_min"] <= len(found) <= case["stored_max"]:
            run.problem(f"{len(found)} distinct {prefix}* markers stored, expected {case['stored_min']}..")
    for marker, url in (case.get("expected_links") or {}).items():
        links = [s["url"] for s in run.holding(marker)]
        if links != [url] * len(links) or not links:
            run.problem(f"link of {marker}: {links}, expected {url!r}")


def _check_substrings(run: Run) -> None:
    case = run.case
    values = [v for s in run.stored for v in _values(s)]
    hits = forbidden_hits(values, case["forbidden_substrings"])
    if hits:
        run.problem(f"forbidden substrings stored: {hits!r}")
    visible = [visible_text(s.get(k)) for s in run.stored for k in ("title", "summary", "body_html")]
    for required in case["required_substrings"]:
        if not any(required in text for text in visible):
            run.problem(f"required text {required!r} is not in any stored title or body")


def _check_health(run: Run, settings: Any) -> None:
    if run.case.get("feed_health") != "degraded":
        return
    error = run.feed.last_error or ""
    if run.feed.consecutive_errors or not error.startswith(f"parse: feed '{run.feed_id}'"):
        run.problem(f"degraded: expected a parse warning and no failed poll, got {error!r}")
    elif not XML_POSITION.search(error):
        run.problem(f"degraded: the warning does not give the XML error's line and column: {error!r}")
    report = status_report(settings, redis_client())
    health = {f["feed"]: f["health"] for f in report["feeds"]}.get(run.feed_id)
    if health != "degraded":
        run.problem(f"degraded: status_report shows the feed as {health!r}")


# -- the test --------------------------------------------------------------------------------------


def _feed_id(case_id: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", case_id.lower()).strip("-")[:90] or "zoo-case"


def _control(settings: Any) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in stories(settings, CONTROL_FEED)}


@pytest.mark.parametrize("case_id", [case["id"] for case in CASES])
def test_hostile_case(
    case_id: str, zoo: Zoo, settings: Any, feed_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """One case of the kit: the expectation of cases.json holds, the control stories stay, the worker goes on."""
    case = zoo.cases()[case_id]
    feed_id = _feed_id(case_id)
    configure(
        settings,
        FeedConfig(id=CONTROL_FEED, url=f"{zoo.control_origin}/ok.xml"),
        FeedConfig(id=feed_id, url=f"{zoo.origin}/zoo/{quote(case['file'])}"),
        FeedConfig(id=AFTER_FEED, url=feed_server.serve("/after.xml", rss(AFTER_ITEMS))),
    )
    poll_now(settings, CONTROL_FEED)
    control = _control(settings)
    assert sorted(m for s in control.values() for m in CONTROL_MARKERS if m in s["title"]) == list(CONTROL_MARKERS)

    log_offset = zoo.log_size()
    started = time.monotonic()
    with _PeakMemory() as memory:
        poll_now(settings, feed_id, timeout=POLL_TIMEOUT)
    elapsed = time.monotonic() - started
    captured = capsys.readouterr()
    run = Run(
        case=case,
        feed_id=feed_id,
        zoo=zoo,
        body=(zoo.folder / case["file"]).read_bytes(),
        # helpers.stories stops at 10,000: a bulk case may hold more
        stored=list_stories(settings.resolved_database_url, feed=feed_id, limit=max(10_000, 2 * case["stored_max"])),
        feed=feed_row(settings, feed_id),
        elapsed=elapsed,
        memory_growth=memory.growth,
        events=zoo.log_events(log_offset),
        output=captured.out + captured.err,
    )
    _check_expectation(run)
    _check_markers(run)
    _check_substrings(run)
    _check_health(run, settings)
    for name in case["checks"]:
        check = CHECKS.get(name)
        if check is None:
            run.problem(f"unknown check {name!r}: teach this test what it means")
        else:
            check(run)
    if _control(settings) != control:
        run.problem("the control stories (DVOK*) changed during the case")

    after = poll_now(settings, AFTER_FEED)[AFTER_FEED]
    if (after["new"], after["errors"]) != (len(AFTER_ITEMS), 0):
        run.problem(f"the worker did not handle a normal poll after the case: {after}")
    if _control(settings) != control:
        run.problem("the control stories (DVOK*) changed after the next poll")

    problems = run.problems
    assert not problems, f"{case_id} ({case['kind']}, {case['expectation']}):\n  " + "\n  ".join(problems)
    PASSED.add(case_id)
