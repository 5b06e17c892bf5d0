"""The poller against a misbehaving server (tests/hostile/fault_server.py, run as a subprocess): the deadline,
the body cap, redirects, what each HTTP status does to the feed, Retry-After, and the per-host limits that all
workers share. Real worker, real Redis, real store; each test checks what a user would notice: the feed's
state, its stories, when it is polled next, and what the server saw (its JSON-lines request log).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from tests.feeds import numbered, rss
from tests.helpers import configure, feed_row, poll_now, stories
from workers import hosts
from workers.broker import redis_client
from workers.errors import ConfigError, PermanentFetchError
from workers.feeds_config import FeedConfig, load_feeds
from workers.fetch import fetch
from workers.fetch_policy import retry_delay
from workers.monitor import health
from workers.poll import PollOutcome, poll
from workers.refetch import refetch, wait_for_polls
from workers.report import feed_status, runs_settled
from workers.schedule import claim_due_feeds, new_poll_id
from workers.settings import get_settings
from workers.store.db import transaction
from workers.store.models import PollRun, utcnow
from workers.tasks import enqueue_polls, enqueue_stories

pytestmark = pytest.mark.usefixtures("worker")

SERVER = Path(__file__).resolve().parent / "hostile" / "fault_server.py"
DEADLINE = 3  # FEEDWORKERS_FETCH_DEADLINE in these tests: /slow/drip would send for an hour
INTERVAL = 60


class Fault:
    """The running fault server: URLs with a tag (a query that keeps tests apart) and its request log."""

    def __init__(self, port: int, log: Path) -> None:
        self.port, self.log = port, log
        self.host = f"127.0.0.1:{port}"

    def url(self, path: str, tag: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}?t={tag}"

    def lines(self, event: str) -> list[dict[str, Any]]:
        found = []
        for line in self.log.read_text().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a line being written right now
            if record.get("event") == event:
                found.append(record)
        return found

    def requests(self, *, tag: str | None = None, prefix: str = "/", since: float = 0.0) -> list[dict[str, Any]]:
        return [
            r
            for r in self.lines("request")
            if r["path"].startswith(prefix) and r["t"] >= since and (tag is None or r["query"] == f"t={tag}")
        ]


@pytest.fixture(scope="module")
def fault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fault]:
    folder = tmp_path_factory.mktemp("fault")
    port_file, log = folder / "port", folder / "requests.jsonl"
    command = [sys.executable, str(SERVER), "0", "--port-file", str(port_file), "--log", str(log)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        started = time.monotonic()
        while not port_file.exists():
            assert process.poll() is None and time.monotonic() - started < 15, "the fault server did not start"
            time.sleep(0.05)
        yield Fault(int(port_file.read_text()), log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _forget_hosts() -> None:
    """Every host's slots, gaps and pauses: a Retry-After of one test must not defer the next one's polls."""
    client = redis_client()
    for key in client.scan_iter("fw:host:*"):
        client.delete(key)


@pytest.fixture
def quick(settings: Any, monkeypatch: pytest.MonkeyPatch, fault: Fault) -> Iterator[Any]:
    """Settings with a 3 s deadline, a 1 s connect timeout and no gap between requests to one host."""
    monkeypatch.setenv("FEEDWORKERS_FETCH_DEADLINE", str(DEADLINE))
    monkeypatch.setenv("FEEDWORKERS_FETCH_CONNECT_TIMEOUT", "1")
    monkeypatch.setenv("FEEDWORKERS_HOST_MIN_INTERVAL", "0")
    monkeypatch.setattr(hosts, "DEFAULT_MIN_INTERVAL", 0.0)  # until settings.py has host_min_interval
    get_settings.cache_clear()
    _forget_hosts()
    yield get_settings()
    _forget_hosts()
    get_settings.cache_clear()


def _poll_direct(settings: Any, feed_id: str) -> tuple[PollOutcome, str]:
    """A poll that is not an operator's (it respects the host's Retry-After), run in the test's thread."""
    poll_id = new_poll_id()
    return poll(feed_id, poll_id, force=False, settings=settings, enqueue=enqueue_stories), poll_id


def _run_state(settings: Any, poll_id: str) -> str | None:
    with transaction(settings.resolved_database_url, readonly=True) as session:
        run = session.get(PollRun, poll_id)
        return run.state if run is not None else None


def _wait_state(settings: Any, poll_id: str, states: tuple[str, ...], timeout: float = 15) -> str | None:
    ends = time.monotonic() + timeout
    while time.monotonic() < ends and _run_state(settings, poll_id) not in states:
        time.sleep(0.05)
    return _run_state(settings, poll_id)


def _health(settings: Any, feed_id: str) -> str:
    row = next(row for row in feed_status(settings.resolved_database_url) if row["feed"] == feed_id)
    return health(row, utcnow())


def _next_poll_in(settings: Any, feed_id: str) -> float:
    next_poll = feed_row(settings, feed_id).next_poll_at
    assert next_poll is not None
    return (next_poll - utcnow()).total_seconds()


@dataclass(frozen=True)
class Failure:
    """A hostile path, what the feed's error must say, and what the feed looks like afterwards."""

    path: str
    says: str
    status: int | None = None
    requests: int = 1  # requests the poll may make (all hops of a redirect chain)
    next_poll: tuple[float, float] = (INTERVAL - 5, INTERVAL + 5)  # seconds; the first error waits one interval
    errors: int = 1
    health: str = "degraded"
    enabled: bool = True


HOURS = 3600
FAILURES = [
    pytest.param(Failure("/slow/drip", f"timed out after {DEADLINE} s in all"), id="slow-drip-deadline"),
    pytest.param(Failure("/stall/headers", "timed out"), id="stalled-body-read-timeout"),
    pytest.param(Failure("/reset/mid-body", "could not be fetched"), id="reset-mid-body"),
    pytest.param(Failure("/short-body", "got an incomplete response"), id="short-body"),
    pytest.param(Failure("/huge/body", "is 67108864 bytes, over the cap", 200), id="huge-body"),
    pytest.param(Failure("/gzip/bomb", "exceeds the cap of 15728640 bytes (decompressed)", 200), id="gzip-bomb"),
    pytest.param(Failure("/redirect/loop", "redirected more than 5 times", requests=6), id="redirect-loop"),
    pytest.param(Failure("/redirect/chain/10", "redirected more than 5 times", requests=6), id="redirect-chain-10"),
    pytest.param(Failure("/redirect/scheme", "only http and https redirects are followed"), id="redirect-to-file"),
    pytest.param(Failure("/status/500", "returned HTTP 500", 500), id="http-500"),
    pytest.param(Failure("/status/502", "returned HTTP 502", 502), id="http-502"),
    pytest.param(Failure("/status/404", "returned HTTP 404 (the URL does not exist", 404), id="http-404-not-disabled"),
    pytest.param(
        Failure("/status/403", "returned HTTP 403", 403, next_poll=(2 * HOURS - 5, 2 * HOURS + 5)),
        id="http-403-hours",
    ),
    pytest.param(
        Failure(
            "/status/401",
            "needs credentials (HTTP 401)",
            401,
            next_poll=(6 * HOURS - 5, 6 * HOURS + 5),
            errors=3,
            health="failing",
        ),
        id="http-401-failing-at-once",
    ),
    pytest.param(
        Failure(
            "/status/410",
            "fetch: feed 'hostile' is gone (HTTP 410); disabled — remove it or fix its URL and enable it again",
            410,
            health="disabled",
            enabled=False,
        ),
        id="http-410-disabled",
    ),
]


@pytest.mark.parametrize("case", FAILURES)
def test_a_misbehaving_server_fails_the_poll_clearly_and_keeps_the_stories(quick, fault, case):
    """Each fault ends in an error naming the feed, nothing new stored, the stored stories kept, and a next
    poll that backs off (hours for 401/403), or the feed disabled for 410; no poll outlasts the deadline."""
    tag = case.path.strip("/").replace("/", "-")
    configure(quick, FeedConfig(id="hostile", url=fault.url("/ok.xml", tag), interval=INTERVAL))
    assert poll_now(quick, "hostile")["hostile"]["new"] == 3
    configure(quick, FeedConfig(id="hostile", url=fault.url(case.path, tag), interval=INTERVAL))
    since, started = time.time(), time.monotonic()

    summary = poll_now(quick, "hostile")["hostile"]

    elapsed = time.monotonic() - started
    feed = feed_row(quick, "hostile")
    assert feed.last_error is not None and feed.last_error.startswith("fetch: feed 'hostile' "), feed.last_error
    assert case.says in feed.last_error
    assert summary["error"] == feed.last_error
    assert (feed.last_status, feed.consecutive_errors, feed.enabled) == (case.status, case.errors, case.enabled)
    assert _health(quick, "hostile") == case.health
    assert len(stories(quick, "hostile")) == 3
    assert elapsed < DEADLINE + 3, f"the poll took {elapsed:.1f} s"
    hops = fault.requests(since=since)
    assert 1 <= len(hops) <= case.requests, hops
    if case.enabled:
        low, high = case.next_poll
        assert low <= _next_poll_in(quick, "hostile") <= high
    assert "hostile" not in {feed for feed, _ in claim_due_feeds(quick.resolved_database_url)}


@pytest.mark.parametrize(
    ("path", "new", "requests"),
    [
        pytest.param("/redirect/chain/5", 3, 6, id="five-redirects-are-followed"),
        pytest.param("/content-type/wrong", 2, 1, id="rss-sent-as-html-is-parsed-by-content"),
        pytest.param("/ok.xml", 3, 1, id="control"),
    ],
)
def test_a_tolerable_response_stores_its_stories(quick, fault, path, new, requests):
    tag = "tolerable-" + path.strip("/").replace("/", "-")
    configure(quick, FeedConfig(id="tolerable", url=fault.url(path, tag), interval=INTERVAL))
    since = time.time()

    summary = poll_now(quick, "tolerable")["tolerable"]

    assert (summary["new"], summary["error"]) == (new, None)
    assert len(stories(quick, "tolerable")) == new
    assert len(fault.requests(since=since)) == requests
    assert INTERVAL - 5 <= _next_poll_in(quick, "tolerable") <= INTERVAL + 5


def test_a_rotating_etag_stores_each_story_once_and_polls_at_the_interval(quick, fault):
    configure(quick, FeedConfig(id="rotating", url=fault.url("/etag/rotating", "rotating"), interval=INTERVAL))

    summaries = [poll_now(quick, "rotating")["rotating"] for _ in range(3)]

    assert [s["new"] for s in summaries] == [2, 0, 0]
    assert len(stories(quick, "rotating")) == 2
    assert len(fault.requests(tag="rotating")) == 3  # one request per poll: no tight re-poll loop
    assert INTERVAL - 5 <= _next_poll_in(quick, "rotating") <= INTERVAL + 5


def test_a_gzip_bomb_is_inflated_in_bounded_steps(quick, fault):
    """The cap applies to decompressed bytes, and memory stays near the cap (not the 1 GiB the bomb holds)."""
    capped = quick.model_copy(update={"fetch_max_bytes": 1 << 20})
    tracemalloc.start()
    try:
        with pytest.raises(PermanentFetchError, match="exceeds the cap of 1048576 bytes"):
            fetch("bomb", fault.url("/gzip/bomb", "memory"), capped)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, f"peak {peak} bytes"


def test_a_server_that_does_not_accept_the_connection_hits_the_connect_timeout(quick):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        backlog = [socket.socket() for _ in range(4)]  # fill the accept queue: further SYNs are dropped
        for sock in backlog:
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", port))
        try:
            configure(quick, FeedConfig(id="unanswered", url=f"http://127.0.0.1:{port}/feed.xml", interval=INTERVAL))
            started = time.monotonic()
            summary = poll_now(quick, "unanswered")["unanswered"]
            elapsed = time.monotonic() - started
        finally:
            for sock in backlog:
                sock.close()
    assert "fetch: feed 'unanswered' timed out connecting to" in summary["error"]
    assert elapsed < 2.5


@pytest.mark.parametrize(
    ("path", "low", "high"),
    [
        pytest.param("/status/429", 4.5, 5.5, id="429-seconds"),
        pytest.param("/status/429-date", 8.5, 10.5, id="429-http-date"),
        pytest.param("/status/503", 6.5, 7.5, id="503-seconds"),
    ],
)
def test_retry_after_pauses_the_whole_host_for_every_worker(quick, fault, path, low, high):
    """After a 429/503 with Retry-After no request reaches that host before the time it named: a scheduled
    poll of another feed there, run by the worker, is deferred to that time and fetches then."""
    tag = "ra-" + path.rsplit("/", 1)[1]
    db = quick.resolved_database_url
    configure(
        quick,
        FeedConfig(id="busy", url=fault.url(path, tag), interval=30),
        FeedConfig(id="neighbour", url=fault.url("/ok.xml", tag), interval=30),
    )
    first, _ = _poll_direct(quick, "busy")
    assert (first.state, first.http_status) == ("failed", int(path[8:11]))
    until = hosts.not_before(redis_client(), fault.host)
    assert until is not None and low <= until - fault.requests(tag=tag)[0]["t"] <= high
    assert _next_poll_in(quick, "busy") >= until - time.time() - 1

    # The scheduler claims the neighbour (due, never polled); the worker defers it without a request.
    [(claimed, poll_id)] = claim_due_feeds(db)
    enqueue_polls([(claimed, poll_id)])
    assert (claimed, _wait_state(quick, poll_id, ("deferred", "ok", "failed"))) == ("neighbour", "deferred")
    assert abs(_next_poll_in(quick, "neighbour") - (until - time.time())) < 1.5
    again, _ = _poll_direct(quick, "busy")
    assert again.state == "deferred" and "Retry-After" in (again.error or "")
    assert fault.requests(prefix="/ok.xml", tag=tag) == []

    # At the end of the pause both are due; the worker fetches the neighbour, then the busy feed again.
    time.sleep(max(0.0, until - time.time()) + 0.1)
    claimed = dict(claim_due_feeds(db))
    assert set(claimed) == {"busy", "neighbour"}
    for feed_id in ("neighbour", "busy"):
        enqueue_polls([(feed_id, claimed[feed_id])])
        assert wait_for_polls(quick, [claimed[feed_id]], 15)

    assert _run_state(quick, claimed["busy"]) == "failed"
    assert feed_row(quick, "busy").last_status == first.http_status
    assert len(stories(quick, "neighbour")) == 3
    requested = fault.requests(tag=tag)
    assert len(requested) == 3  # busy, neighbour once the pause is over, busy again
    assert all(r["t"] >= until - 0.01 for r in requested[1:]), requested
    assert [r.get("early_by_s", 0) for r in requested if r["path"] == path] == [0, 0]


def test_an_operator_refetch_waits_for_retry_after_too_and_says_until_when(quick, fault):
    """The server's Retry-After binds people as well: the refetch ends "deferred" with the time, sends nothing,
    and goes out once the pause is over."""
    configure(quick, FeedConfig(id="asked", url=fault.url("/ok.xml", "asked"), interval=INTERVAL))
    hosts.set_not_before(redis_client(), fault.host, time.time() + 3)

    held = poll_now(quick, "asked")["asked"]
    assert (held["status"], held["new"]) == ("deferred (the host asked to wait)", 0)
    assert "asked for no requests before then (Retry-After)" in (held["error"] or "")
    assert fault.requests(tag="asked") == []
    time.sleep(3.2)
    assert poll_now(quick, "asked")["asked"]["new"] == 3


def test_a_dripping_server_does_not_delay_a_poll_of_another_host(quick, fault, feed_server):
    configure(
        quick,
        FeedConfig(id="drip", url=fault.url("/slow/drip", "isolated"), interval=INTERVAL),
        FeedConfig(id="calm", url=feed_server.serve("/calm.xml", rss(numbered(2, prefix="calm"))), interval=INTERVAL),
    )
    [(_, drip)] = refetch(quick, ["drip"])
    while not fault.requests(tag="isolated"):
        time.sleep(0.05)
    started = time.monotonic()
    [(_, calm)] = refetch(quick, ["calm"])
    while not runs_settled(quick.resolved_database_url, [calm]) and time.monotonic() - started < 10:
        time.sleep(0.05)
    calm_took = time.monotonic() - started
    drip_done = runs_settled(quick.resolved_database_url, [drip])

    assert calm_took < 1.5 and not drip_done, (calm_took, drip_done)
    assert len(stories(quick, "calm")) == 2
    assert wait_for_polls(quick, [drip], DEADLINE + 5)
    assert f"timed out after {DEADLINE} s in all" in (feed_row(quick, "drip").last_error or "")


def test_a_busy_host_defers_polls_instead_of_blocking_workers(quick, fault, monkeypatch):
    """Two drips hold the host's two slots: another poll there is deferred within the short wait (a scheduled
    one to a few seconds later, an operator's sent again once a slot is free)."""
    monkeypatch.setattr(hosts, "TURN_WAIT", 0.5)
    configure(
        quick,
        FeedConfig(id="drip-a", url=fault.url("/slow/drip", "busy-a"), interval=INTERVAL),
        FeedConfig(id="drip-b", url=fault.url("/slow/drip", "busy-b"), interval=INTERVAL),
        FeedConfig(id="waiting", url=fault.url("/ok.xml", "busy-ok"), interval=INTERVAL),
    )
    since = time.time()
    drips = [poll_id for _, poll_id in refetch(quick, ["drip-a", "drip-b"])]
    while len(fault.requests(prefix="/slow/drip", since=since)) < 2:
        time.sleep(0.05)

    started = time.monotonic()
    deferred, _ = _poll_direct(quick, "waiting")
    took = time.monotonic() - started
    assert deferred.state == "deferred" and "is busy" in (deferred.error or ""), deferred
    assert took < 1.5
    assert hosts.BUSY_RETRY - 1 < _next_poll_in(quick, "waiting") <= hosts.BUSY_RETRY
    summary = poll_now(quick, "waiting", timeout=DEADLINE + 15)["waiting"]

    assert wait_for_polls(quick, drips, DEADLINE + 5)
    assert (summary["new"], summary["error"]) == (3, None)
    [fetched] = fault.requests(tag="busy-ok")
    assert fetched["t"] >= min(r["t"] for r in fault.requests(prefix="/slow/drip", since=since)) + DEADLINE - 0.5


def test_requests_to_one_host_keep_the_minimum_gap(quick, fault, monkeypatch):
    monkeypatch.setenv("FEEDWORKERS_HOST_MIN_INTERVAL", "0.5")
    monkeypatch.setattr(hosts, "DEFAULT_MIN_INTERVAL", 0.5)
    get_settings.cache_clear()
    feeds = [FeedConfig(id=f"gap-{n}", url=fault.url("/ok.xml", f"gap-{n}"), interval=INTERVAL) for n in range(4)]
    configure(quick, *feeds)
    since = time.time()

    summary = poll_now(get_settings(), *(feed.id for feed in feeds))

    assert all(row["error"] is None for row in summary.values()), summary
    starts = sorted(r["t"] for r in fault.requests(prefix="/ok.xml", since=since))
    assert len(starts) == 4
    assert min(b - a for a, b in pairwise(starts)) >= 0.45, starts


def test_consecutive_errors_back_off_exponentially_and_a_success_recovers(quick, fault):
    configure(quick, FeedConfig(id="flaky", url=fault.url("/status/500", "flaky"), interval=INTERVAL))
    seen = []
    for _ in range(3):
        poll_now(quick, "flaky")
        seen.append(
            (feed_row(quick, "flaky").consecutive_errors, round(_next_poll_in(quick, "flaky")), _health(quick, "flaky"))
        )
    assert [(errors, state) for errors, _, state in seen] == [(1, "degraded"), (2, "degraded"), (3, "failing")]
    assert [abs(delay - INTERVAL * 2**n) <= 5 for n, (_, delay, _) in enumerate(seen)] == [True] * 3

    configure(quick, FeedConfig(id="flaky", url=fault.url("/ok.xml", "flaky"), interval=INTERVAL))
    assert poll_now(quick, "flaky")["flaky"]["new"] == 3
    assert (feed_row(quick, "flaky").consecutive_errors, _health(quick, "flaky")) == (0, "ok")
    assert INTERVAL - 5 <= _next_poll_in(quick, "flaky") <= INTERVAL + 5


@pytest.mark.parametrize(
    ("interval", "errors", "retry_after", "expected"),
    [
        (300, 0, None, timedelta(minutes=5)),
        (300, 1, None, timedelta(minutes=10)),
        (300, 3, None, timedelta(minutes=40)),
        (300, 7, None, timedelta(hours=6)),  # capped
        (300, 500, None, timedelta(hours=6)),
        (300, 0, 900.0, timedelta(minutes=15)),  # Retry-After wins when later
        (300, 7, 8 * 3600.0, timedelta(hours=8)),  # ... even beyond the cap
        (300, 0, 1e12, timedelta(hours=24)),  # ... up to a day
    ],
)
def test_retry_delay_is_exponential_capped_and_honours_retry_after(interval, errors, retry_after, expected):
    assert retry_delay(interval, errors, retry_after) == expected


def test_host_slots_are_shared_limited_and_free_themselves():
    client, host = redis_client(), "limits.example:80"
    _forget_hosts()
    limits = {"concurrency": 2, "min_interval": 0.0, "hold": 30.0}
    first, second = (hosts.take_turn(client, host, **limits) for _ in range(2))
    assert isinstance(first, hosts.Turn) and isinstance(second, hosts.Turn)
    third = hosts.take_turn(client, host, wait=0.3, **limits)
    assert isinstance(third, hosts.Deferred) and third.why == "busy"
    hosts.give_back(first, client)
    assert isinstance(hosts.take_turn(client, host, wait=0.3, **limits), hosts.Turn)

    # A worker killed mid-fetch never gives its slot back: it expires after `hold`.
    _forget_hosts()
    assert isinstance(hosts.take_turn(client, host, concurrency=1, min_interval=0.0, hold=0.5), hosts.Turn)
    started = time.monotonic()
    assert isinstance(hosts.take_turn(client, host, concurrency=1, min_interval=0.0, hold=0.5, wait=2), hosts.Turn)
    assert 0.2 < time.monotonic() - started < 1.2
    _forget_hosts()


def test_many_workers_never_exceed_the_host_limits():
    host, holders, most, lock = "crowd.example:443", [0], [0], threading.Lock()
    got: list[float] = []
    _forget_hosts()

    def worker() -> None:
        turn = hosts.take_turn(redis_client(), host, concurrency=2, min_interval=0.1, hold=30.0, wait=5.0)
        assert isinstance(turn, hosts.Turn)
        with lock:
            got.append(time.time())
            holders[0] += 1
            most[0] = max(most[0], holders[0])
        time.sleep(0.3)
        with lock:
            holders[0] -= 1
        hosts.give_back(turn)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    _forget_hosts()
    assert (len(got), most[0]) == (6, 2)
    got.sort()
    assert min(b - a for a, b in pairwise(got)) >= 0.09


def test_a_pause_is_never_shortened_and_is_capped_at_a_day():
    client, host, now = redis_client(), "paused.example:443", time.time()
    _forget_hosts()
    assert hosts.set_not_before(client, host, now + 100, now=now) == pytest.approx(now + 100, abs=0.01)
    assert hosts.set_not_before(client, host, now + 10, now=now) == pytest.approx(now + 100, abs=0.01)
    assert hosts.set_not_before(client, host, now + 1e9, now=now) == pytest.approx(now + 86400, abs=0.01)
    turn = hosts.take_turn(client, host, concurrency=2, min_interval=0.0, hold=30.0)
    assert isinstance(turn, hosts.Deferred) and turn.why == "retry-after"
    assert isinstance(
        hosts.take_turn(client, host, concurrency=2, min_interval=0.0, hold=30.0, respect_not_before=False), hosts.Turn
    )
    _forget_hosts()


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("javascript:alert(1)", "url must start with http://, https:// or file:"),
        ("data:text/xml,<rss/>", "url must start with http://, https:// or file:"),
        ("ftp://wire.example/feed.xml", "url must start with http://, https:// or file:"),
        ("http:///feed.xml", "url has no valid host"),
        ("https://wire.example/a feed.xml", "url contains spaces or control characters"),
        ("file://fileserver/share/feed.xml", "a file: url names a file on this machine"),
    ],
)
def test_a_feed_url_that_cannot_be_fetched_safely_is_refused_when_loaded(tmp_path, url, says):
    path = tmp_path / "feeds.yaml"
    path.write_text(f"feeds:\n  - id: wire\n    url: '{url}'\n")
    with pytest.raises(ConfigError) as refused:
        load_feeds(path)
    assert f"feed 'wire': {says}" in str(refused.value)
    assert repr(url) in str(refused.value)
