"""Fetch a feed politely: conditional GET, gzip, a total deadline, a body cap and checked redirects."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import httpx

from workers.errors import PermanentFetchError, TransientFetchError
from workers.settings import Settings

__all__ = ["FetchResult", "Page", "fetch", "fetch_page"]

_HINTS = {
    401: "the feed needs credentials",
    403: "access is forbidden; check the URL or ask the publisher",
    404: "the URL does not exist (any more); check it",
    410: "the publisher removed the feed for good",
}


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What a fetch brought: a 200 with a body, or a 304 without one."""

    status: int
    url: str
    body: bytes = b""
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None


@lru_cache(maxsize=2)
def _client(connect_timeout: float, deadline: float, user_agent: str) -> httpx.Client:
    # One pooled client per process; redirects are followed by hand so every hop is checked.
    # No single read may outlast the whole deadline (the deadline itself is checked between chunks).
    timeout = httpx.Timeout(min(10.0, deadline), connect=min(connect_timeout, deadline))
    return httpx.Client(timeout=timeout, follow_redirects=False, headers={"User-Agent": user_agent})


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
    client = _client(settings.fetch_connect_timeout, settings.fetch_deadline, settings.user_agent)
    deadline = time.monotonic() + settings.fetch_deadline
    for _hop in range(settings.fetch_max_redirects + 1):
        try:
            result = _request(client, feed_id, url, headers, deadline, settings)
        except httpx.InvalidURL as exc:
            msg = f"fetch: feed '{feed_id}' has an invalid URL {url!r} ({exc}); fix it in feeds.yaml"
            raise PermanentFetchError(msg) from None
        except httpx.TimeoutException:
            msg = f"fetch: feed '{feed_id}' timed out ({url}); the server is slow or unreachable, will retry"
            raise TransientFetchError(msg) from None
        except httpx.TransportError as exc:
            msg = f"fetch: feed '{feed_id}' could not be fetched from {url}: {exc or type(exc).__name__}"
            raise TransientFetchError(msg) from None
        if isinstance(result, FetchResult):
            return result
        url = result
    msg = f"fetch: feed '{feed_id}' redirected more than {settings.fetch_max_redirects} times (redirect loop?); fix the feed URL"
    raise PermanentFetchError(msg)


def _request(
    client: httpx.Client, feed_id: str, url: str, headers: dict[str, str], deadline: float, settings: Settings
) -> FetchResult | str:
    """One HTTP request: a FetchResult, or the next URL of a redirect."""
    with client.stream("GET", url, headers=headers) as response:
        status = response.status_code
        if status in (301, 302, 303, 307, 308):
            return _redirect_target(feed_id, url, response.headers.get("location"))
        if status == 304:
            return FetchResult(status=304, url=url)
        if status != 200:
            _raise_for_status(feed_id, url, status, response.headers.get("retry-after"))
        body = _read_capped(
            response,
            f"feed '{feed_id}'",
            deadline,
            settings,
            cap_advice="; raise fetch_max_bytes if it is genuine",
            late_advice=f" ({url}); will retry",
        )
        return FetchResult(
            status=200,
            url=str(response.url),
            body=body,
            content_type=response.headers.get("content-type"),
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
        )


@dataclass(frozen=True, slots=True)
class Page:
    """A web page (a story's article): the URL it was finally served from, its bytes and Content-Type."""

    url: str
    body: bytes
    content_type: str | None


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
    client = _client(settings.fetch_connect_timeout, settings.fetch_deadline, settings.user_agent)
    headers = {"Accept": "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"}
    deadline = time.monotonic() + settings.fetch_deadline
    for _hop in range(settings.fetch_max_redirects + 1):
        if time.monotonic() > deadline:
            msg = f"fetch: page {url} took longer than {settings.fetch_deadline:g} s (redirects)"
            raise TransientFetchError(msg)
        if urlsplit(url).scheme not in ("http", "https"):
            msg = f"fetch: page {url!r} is not an http(s) URL"
            raise PermanentFetchError(msg)
        if check_url is not None:
            check_url(url)
        try:
            with client.stream("GET", url, headers=headers) as response:
                status = response.status_code
                if status in (301, 302, 303, 307, 308):
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
        except httpx.TimeoutException:
            msg = f"fetch: page {url} timed out (limit {settings.fetch_deadline:g} s)"
            raise TransientFetchError(msg) from None
        except httpx.HTTPError as exc:
            msg = f"fetch: page {url} could not be fetched: {exc or type(exc).__name__}"
            raise TransientFetchError(msg) from None
    msg = f"fetch: page redirected more than {settings.fetch_max_redirects} times (last {url})"
    raise PermanentFetchError(msg)


def _read_capped(
    response: httpx.Response,
    what: str,
    deadline: float,
    settings: Settings,
    *,
    cap_advice: str = "",
    late_advice: str = "",
) -> bytes:
    """The body, stopped at the cap (announced or decompressed) and at the deadline; errors name `what`."""
    length = response.headers.get("content-length")
    if length and length.isdigit() and int(length) > settings.fetch_max_bytes:
        msg = f"fetch: {what} is {int(length)} bytes, over the cap of {settings.fetch_max_bytes}{cap_advice}"
        raise PermanentFetchError(msg, status=response.status_code)
    chunks: list[bytes] = []
    size = 0
    # iter_bytes yields decompressed data, so the cap also stops gzip bombs.
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > settings.fetch_max_bytes:
            msg = f"fetch: {what} exceeds the cap of {settings.fetch_max_bytes} bytes (decompressed){cap_advice}"
            raise PermanentFetchError(msg, status=response.status_code)
        if time.monotonic() > deadline:
            msg = f"fetch: {what} took longer than {settings.fetch_deadline:g} s to download{late_advice}"
            raise TransientFetchError(msg, status=response.status_code)
        chunks.append(chunk)
    return b"".join(chunks)


def _redirect_target(feed_id: str, url: str, location: str | None) -> str:
    if not location:
        msg = f"fetch: feed '{feed_id}' got a redirect without a Location from {url}"
        raise PermanentFetchError(msg)
    target = urljoin(url, location)
    if urlsplit(target).scheme not in ("http", "https"):
        msg = f"fetch: feed '{feed_id}' was redirected to {target!r}; only http and https redirects are followed"
        raise PermanentFetchError(msg)
    return target


def _raise_for_status(feed_id: str, url: str, status: int, retry_after: str | None) -> None:
    hint = _HINTS.get(status, "")
    msg = f"fetch: feed '{feed_id}' returned HTTP {status}" + (f" ({hint})" if hint else "") + f" from {url}"
    if status in (408, 429) or status >= 500:
        raise TransientFetchError(msg, status=status, retry_after=_retry_after_seconds(retry_after))
    raise PermanentFetchError(msg, status=status)


def _retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds from now, in either of its forms (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


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
