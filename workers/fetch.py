"""Fetch a feed politely: conditional GET, gzip, a hard total deadline, a body cap and checked redirects.

Every limit holds against a hostile server: the deadline covers connect, headers and body of every hop (a
server that drips a byte a second trips no read timeout, so a watchdog shuts the socket when time is up);
the cap counts decompressed bytes, inflated in bounded steps (a gzip bomb never sits in memory); a body
shorter than announced is an error; every redirect is checked (http/https only, `fetch_max_redirects`).
What an HTTP status means for the feed is decided in fetch_policy.
"""

from __future__ import annotations

import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Self
from urllib.parse import unquote, urljoin, urlsplit

import httpx

from workers.errors import PermanentFetchError, TransientFetchError
from workers.fetch_policy import raise_for_status
from workers.settings import Settings

__all__ = ["FetchResult", "Page", "fetch", "fetch_page"]

_REDIRECTS = (301, 302, 303, 307, 308)
# The encodings `_decoded` inflates itself, in steps of at most _INFLATE_STEP bytes.
_ACCEPT_ENCODING = "gzip, deflate"
_INFLATE_STEP = 64 * 1024
# No single read waits longer than this (nor than what is left of the deadline).
_READ_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What a fetch brought: a 200 with a body, or a 304 without one."""

    status: int
    url: str
    body: bytes = b""
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    """A web page (a story's article): the URL it was finally served from, its bytes and Content-Type."""

    url: str
    body: bytes
    content_type: str | None


@lru_cache(maxsize=2)
def _client(user_agent: str) -> httpx.Client:
    # One client per process; redirects are followed by hand so every hop is checked. No keep-alive: each
    # request opens its own connection, whose socket the deadline's watchdog learns from the connect trace.
    return httpx.Client(
        follow_redirects=False,
        headers={"User-Agent": user_agent, "Accept-Encoding": _ACCEPT_ENCODING},
        limits=httpx.Limits(max_keepalive_connections=0),
    )


class _Deadline:
    """The whole time one fetch may take, redirects included. When it runs out the socket is shut down,
    which ends a read waiting on the server in any phase (connect, headers, body)."""

    def __init__(self, settings: Settings) -> None:
        self.seconds, self.connect_timeout = settings.fetch_deadline, settings.fetch_connect_timeout
        self.ends = time.monotonic() + self.seconds
        self.expired = False
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(self.seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> Self:
        self._timer.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._timer.cancel()

    @property
    def over(self) -> bool:
        return self.expired or time.monotonic() >= self.ends

    def stream(self, client: httpx.Client, url: str, headers: dict[str, str]) -> Any:
        """`client.stream` with timeouts no longer than what is left, traced so the socket is known."""
        left = max(0.001, self.ends - time.monotonic())
        timeout = httpx.Timeout(min(_READ_TIMEOUT, left), connect=min(self.connect_timeout, left))
        return client.stream("GET", url, headers=headers, timeout=timeout, extensions={"trace": self._trace})

    def _trace(self, event: str, info: dict[str, Any]) -> None:
        # httpcore's trace hook: the socket of the connection just opened (or wrapped in TLS).
        if event in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            with self._lock:
                self._socket = info["return_value"].get_extra_info("socket")
                if self.expired:
                    self._shut()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            self._shut()

    def _shut(self) -> None:
        if self._socket is not None:
            with suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)


def fetch(
    feed_id: str,
    url: str,
    settings: Settings,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
) -> FetchResult:
    """Fetch `url`; raise TransientFetchError or PermanentFetchError with a message naming the feed."""
    if url.startswith("file://"):
        return _read_file(feed_id, url, settings.fetch_max_bytes)
    headers = {"Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    client = _client(settings.user_agent)
    with _Deadline(settings) as deadline:
        for _hop in range(settings.fetch_max_redirects + 1):
            try:
                result = _request(client, feed_id, url, headers, deadline, settings)
            except httpx.InvalidURL as exc:
                msg = f"fetch: feed '{feed_id}' has an invalid URL {url!r} ({exc}); fix it in feeds.yaml"
                raise PermanentFetchError(msg) from None
            except httpx.HTTPError as exc:
                raise _broken_off(f"feed '{feed_id}'", url, exc, deadline) from None
            if isinstance(result, FetchResult):
                return result
            url = result
    msg = f"fetch: feed '{feed_id}' redirected more than {settings.fetch_max_redirects} times (redirect loop?); fix the feed URL"
    raise PermanentFetchError(msg)


def _request(
    client: httpx.Client, feed_id: str, url: str, headers: dict[str, str], deadline: _Deadline, settings: Settings
) -> FetchResult | str:
    """One HTTP request: a FetchResult, or the next URL of a redirect."""
    with deadline.stream(client, url, headers) as response:
        status = response.status_code
        if status in _REDIRECTS:
            return _redirect_target(feed_id, url, response.headers.get("location"))
        if status == 304:
            return FetchResult(status=304, url=url)
        if status != 200:
            raise_for_status(feed_id, url, status, response.headers.get("retry-after"))
        advice = ("; raise fetch_max_bytes if it is genuine", f" ({url}); the server is too slow, will retry")
        body = _read_capped(response, f"feed '{feed_id}'", deadline, settings, *advice)
        return FetchResult(
            status=200,
            url=str(response.url),
            body=body,
            content_type=response.headers.get("content-type"),
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
        )


def _broken_off(what: str, url: str, exc: httpx.HTTPError, deadline: _Deadline) -> TransientFetchError:
    """The error of a request that broke off: the deadline, a timeout, a short body or the connection."""
    if deadline.expired:
        msg = f"fetch: {what} timed out after {deadline.seconds:g} s in all ({url}); the server is too slow, will retry"
    elif isinstance(exc, httpx.ConnectTimeout):
        msg = f"fetch: {what} timed out connecting to {url} ({deadline.connect_timeout:g} s); the server is down or unreachable, will retry"
    elif isinstance(exc, httpx.TimeoutException):
        msg = f"fetch: {what} timed out ({url}): the server stopped sending; will retry"
    elif isinstance(exc, httpx.RemoteProtocolError) and "complete message body" in str(exc):
        msg = f"fetch: {what} got an incomplete response from {url} ({exc}); nothing was stored, will retry"
    else:
        msg = f"fetch: {what} could not be fetched from {url}: {exc or type(exc).__name__}; will retry"
    return TransientFetchError(msg)


def fetch_page(
    url: str,
    settings: Settings,
    *,
    check_url: Callable[[str], None] | None = None,
    content_types: tuple[str, ...] = ("text/html", "application/xhtml+xml"),
) -> Page:
    """Fetch a page with the feeds' limits (deadline, body cap, checked redirects, user agent).

    `check_url` sees the URL of every hop before it is requested and may refuse it by raising a FetchError.
    A response whose Content-Type is not one of `content_types` is refused before its body is read.
    Raise TransientFetchError or PermanentFetchError with a message naming the URL.
    """
    client = _client(settings.user_agent)
    headers = {"Accept": "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"}
    with _Deadline(settings) as deadline:
        for _hop in range(settings.fetch_max_redirects + 1):
            if deadline.over:
                msg = f"fetch: page {url} took longer than {settings.fetch_deadline:g} s (redirects)"
                raise TransientFetchError(msg)
            if urlsplit(url).scheme not in ("http", "https"):
                msg = f"fetch: page {url!r} is not an http(s) URL"
                raise PermanentFetchError(msg)
            if check_url is not None:
                check_url(url)
            try:
                with deadline.stream(client, url, headers) as response:
                    status = response.status_code
                    if status in _REDIRECTS:
                        location = response.headers.get("location")
                        if not location:
                            msg = f"fetch: page {url} redirected without a Location"
                            raise PermanentFetchError(msg, status=status)
                        url = urljoin(url, location)
                        continue
                    if status != 200:
                        msg = f"fetch: page {url} returned HTTP {status}"
                        error = TransientFetchError if status in (408, 429) or status >= 500 else PermanentFetchError
                        raise error(msg, status=status)
                    content_type = response.headers.get("content-type")
                    media_type = (content_type or "").split(";", 1)[0].strip().lower()
                    if content_types and media_type and media_type not in content_types:
                        msg = f"fetch: page {url} is {media_type}, not {' or '.join(content_types)}"
                        raise PermanentFetchError(msg, status=status)
                    body = _read_capped(response, f"page {url}", deadline, settings)
                    return Page(url=str(response.url), body=body, content_type=content_type)
            except httpx.InvalidURL as exc:
                msg = f"fetch: page {url!r} is not a valid URL ({exc})"
                raise PermanentFetchError(msg) from None
            except httpx.HTTPError as exc:
                if deadline.expired or isinstance(exc, httpx.TimeoutException):
                    msg = f"fetch: page {url} timed out (limit {settings.fetch_deadline:g} s)"
                else:
                    msg = f"fetch: page {url} could not be fetched: {exc or type(exc).__name__}"
                raise TransientFetchError(msg) from None
    msg = f"fetch: page redirected more than {settings.fetch_max_redirects} times (last {url})"
    raise PermanentFetchError(msg)


def _read_capped(
    response: httpx.Response,
    what: str,
    deadline: _Deadline,
    settings: Settings,
    cap_advice: str = "",
    late_advice: str = "",
) -> bytes:
    """The body, stopped at the cap (announced or decompressed) and at the deadline; errors name `what`."""
    cap = settings.fetch_max_bytes
    length = response.headers.get("content-length")
    if length and length.isdigit() and int(length) > cap:
        msg = f"fetch: {what} is {int(length)} bytes, over the cap of {cap}{cap_advice}"
        raise PermanentFetchError(msg, status=response.status_code)
    chunks: list[bytes] = []
    size = 0
    for chunk in _decoded(response, what):
        size += len(chunk)
        if size > cap:
            msg = f"fetch: {what} exceeds the cap of {cap} bytes (decompressed){cap_advice}"
            raise PermanentFetchError(msg, status=response.status_code)
        if deadline.over:
            msg = f"fetch: {what} timed out after {deadline.seconds:g} s in all{late_advice}"
            raise TransientFetchError(msg, status=response.status_code)
        chunks.append(chunk)
    return b"".join(chunks)


def _decoded(response: httpx.Response, what: str) -> Iterator[bytes]:
    """The body's bytes, inflated in steps of at most _INFLATE_STEP, so however well a bomb compresses no
    more than one step beyond the cap is ever held (httpx's decoder inflates a whole network read at once)."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        yield from response.iter_raw()
        return
    if encoding not in ("gzip", "x-gzip", "deflate"):
        msg = f"fetch: {what} came in the encoding {encoding!r}, which was not asked for; ask the publisher to fix the server"
        raise PermanentFetchError(msg, status=response.status_code)
    inflater, first = zlib.decompressobj(47), True  # wbits 47: a gzip or a zlib stream
    for raw in response.iter_raw():
        pending = raw
        while pending and not inflater.eof:
            try:
                out = inflater.decompress(pending, _INFLATE_STEP)
            except zlib.error as exc:
                if not (first and encoding == "deflate"):
                    msg = f"fetch: {what} is not valid {encoding} data ({exc}); will retry"
                    raise TransientFetchError(msg, status=response.status_code) from None
                inflater = zlib.decompressobj(-zlib.MAX_WBITS)  # "deflate" is sometimes sent without its header
                continue
            first, pending = False, inflater.unconsumed_tail
            if out:
                yield out
    # What a match copy still had to write when the input ran out: a few hundred bytes at most.
    if tail := inflater.flush():
        yield tail


def _redirect_target(feed_id: str, url: str, location: str | None) -> str:
    if not location:
        msg = f"fetch: feed '{feed_id}' got a redirect without a Location from {url}"
        raise PermanentFetchError(msg)
    target = urljoin(url, location)
    if urlsplit(target).scheme not in ("http", "https"):
        msg = f"fetch: feed '{feed_id}' was redirected to {target!r}; only http and https redirects are followed"
        raise PermanentFetchError(msg)
    return target


def _read_file(feed_id: str, url: str, max_bytes: int) -> FetchResult:
    """A local feed file (drop folders); the body-hash check makes unchanged files cheap."""
    path = Path(unquote(urlsplit(url).path))
    try:
        size = path.stat().st_size
        if size > max_bytes:
            msg = f"fetch: feed '{feed_id}' file {path} is {size} bytes, over the cap of {max_bytes}"
            raise PermanentFetchError(msg)
        body = path.read_bytes()
    except FileNotFoundError:
        msg = f"fetch: feed '{feed_id}' file {path} does not exist; check the url in feeds.yaml"
        raise PermanentFetchError(msg) from None
    except IsADirectoryError:
        msg = f"fetch: feed '{feed_id}' url points at the folder {path}; name a feed file inside it"
        raise PermanentFetchError(msg) from None
    except OSError as exc:
        msg = f"fetch: feed '{feed_id}' file {path} cannot be read: {exc.strerror}"
        raise TransientFetchError(msg) from None
    return FetchResult(status=200, url=url, body=body)
