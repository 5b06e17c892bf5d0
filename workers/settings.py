"""Process-wide settings from the environment (and a `.env` file), read once."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    """Where feedworkers finds its configuration, its data, Redis and the store."""

    model_config = SettingsConfigDict(env_prefix="FEEDWORKERS_", env_file=".env", extra="ignore")

    config_dir: Path = Path("./config")
    data_dir: Path = Path("./var")
    # None means: start (or reuse) the embedded Redis under the data dir.
    redis_url: str | None = None
    # None means: SQLite under the data dir.
    database_url: str | None = None
    # Languages the tagger may choose from (ISO 639-1).
    languages: list[str] = Field(default_factory=lambda: ["de", "en"])
    # Polling limits shared by every feed.
    fetch_connect_timeout: float = 10.0
    fetch_deadline: float = 30.0
    fetch_max_bytes: int = 15 * 1024 * 1024
    fetch_max_redirects: int = 5
    user_agent: str = "feedworkers/0.1 (newsroom ingest; +https://github.com/feedworkers/feedworkers)"
    # How often the scheduler looks for due feeds.
    tick_seconds: float = 10.0
    # Full text: fetch the story's page for feeds with `full_text: true`, and for any story whose body has
    # fewer words than this (0, the default: only those feeds); private and loopback addresses are
    # refused unless allowed (the tests allow them).
    full_text_min_words: int = Field(default=0, ge=0)
    full_text_allow_private: bool = False
    # Near-duplicates: the word-3-gram Jaccard similarity at which a verified candidate is merged,
    # how far back (days) a story can find its duplicate, and how many candidates are verified.
    dedup_threshold: float = Field(default=0.3, gt=0.0, le=1.0)
    dedup_window_days: float = Field(default=7.0, gt=0.0)
    dedup_max_candidates: int = Field(default=20, ge=1)
    # Redis hashes per band and time slot (a quarter window) of the near-duplicate index: about stories
    # per window ÷ 250 keeps each one small and compact.
    dedup_index_buckets: int = Field(default=4096, ge=1)
    # Operations: a manual refetch of one feed at most this often (CLI, API, page); how long each story's
    # stage events are kept for `story ID --trace`; the bearer token of the API's write endpoints (unset: no
    # write endpoint answers); a feed is "quiet" when nothing new came for this many times its usual gap
    # between stories (and at least `quiet_min_hours`).
    refetch_min_seconds: float = Field(default=30.0, ge=0.0)
    # Per-host politeness shared by all workers (in Redis): at most this many fetches of one host at once, and
    # at least this many seconds between the starts of two requests to one host.
    host_concurrency: int = Field(default=2, ge=1)
    host_min_interval: float = Field(default=1.0, ge=0.0)
    trace_days: float = Field(default=7.0, gt=0.0)
    api_token: str | None = None
    quiet_factor: float = Field(default=4.0, gt=1.0)
    quiet_min_hours: float = Field(default=6.0, ge=0.0)

    @property
    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL of the store (SQLite under the data dir unless configured)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'feedworkers.db').resolve()}"

    @property
    def feeds_file(self) -> Path:
        return self.config_dir / "feeds.yaml"

    @property
    def clean_file(self) -> Path:
        return self.config_dir / "clean.yaml"

    @property
    def tags_file(self) -> Path:
        return self.config_dir / "tags.yaml"

    @property
    def region_file(self) -> Path:
        return self.config_dir / "region.yaml"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process; call `get_settings.cache_clear()` after changing the environment."""
    return Settings()
