"""Exceptions shared by the stages. Messages start with their stage, e.g. "fetch: feed 'x' returned HTTP 403"."""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "FeedworkersError",
    "FetchError",
    "ParseError",
    "PermanentFetchError",
    "StoryError",
    "TransientFetchError",
]


class FeedworkersError(Exception):
    """Base class of every error this project raises on purpose."""


class ConfigError(FeedworkersError):
    """The configuration is invalid; start-up stops with this message."""


class FetchError(FeedworkersError):
    """A feed could not be fetched. `status` is the HTTP status, `retry_after` the server's wish in seconds."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class TransientFetchError(FetchError):
    """Worth trying again later: timeouts, connection errors, 5xx, 429."""


class PermanentFetchError(FetchError):
    """Will not get better by itself: 4xx other than 429, refused redirects, oversized bodies."""


class ParseError(FeedworkersError):
    """The fetched document is not a usable feed."""


class StoryError(FeedworkersError):
    """A story cannot be processed because of its content; retrying will not help."""
