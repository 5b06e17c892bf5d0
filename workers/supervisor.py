"""`feedworkers run`: the worker and scheduler processes of one machine, started and stopped together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from workers.settings import Settings

__all__ = ["Supervisor", "SupervisorError", "celery_command"]


def celery_command(*args: str) -> list[str]:
    """`celery -A workers …` with this interpreter, so the project's virtualenv is used."""
    return [sys.executable, "-m", "celery", "-A", "workers", *args]


# A process that dies this soon after its start did not crash by bad luck; restarting it again and again
# only fills the log. After this many such deaths in a row the supervisor gives up.
_QUICK_DEATH_SECONDS = 10.0
_MAX_QUICK_DEATHS = 3


class SupervisorError(RuntimeError):
    """A process keeps dying right after it starts."""


@dataclass
class Supervisor:
    """Starts the processes, restarts one that dies, and stops them all with a warm shutdown."""

    settings: Settings
    concurrency: int
    beat: bool = True
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    started_at: dict[str, float] = field(default_factory=dict)
    quick_deaths: dict[str, int] = field(default_factory=dict)

    def commands(self) -> dict[str, list[str]]:
        # Polls wait on the network, so threads; story work is CPU-bound, so prefork processes.
        common = ("--without-gossip", "--without-mingle", "--loglevel", "INFO")
        commands = {
            "feeds-worker": celery_command("worker", "-Q", "feeds", "-P", "threads", "-c", "8", "-n", "feeds@%h", *common),
            "stories-worker": celery_command("worker", "-Q", "stories", "-c", str(self.concurrency), "-n", "stories@%h", *common),
        }  # fmt: skip
        if self.beat:
            schedule = str(self.settings.data_dir / "celerybeat-schedule")
            commands["beat"] = celery_command("beat", "--loglevel", "INFO", "-s", schedule)
        return commands

    def start(self) -> None:
        for name, command in self.commands().items():
            self._spawn(name, command)

    def _spawn(self, name: str, command: Sequence[str]) -> None:
        # A session of their own: Ctrl-C reaches only this process, which then stops them in order.
        self.processes[name] = subprocess.Popen(command, start_new_session=True)
        self.started_at[name] = time.monotonic()

    def check(self) -> list[str]:
        """Restart processes that died; return their names. Raise SupervisorError when one keeps dying."""
        restarted = []
        commands = self.commands()
        for name, process in list(self.processes.items()):
            if process.poll() is None:
                continue
            lived = time.monotonic() - self.started_at[name]
            self.quick_deaths[name] = self.quick_deaths.get(name, 0) + 1 if lived < _QUICK_DEATH_SECONDS else 0
            if self.quick_deaths[name] >= _MAX_QUICK_DEATHS:
                msg = (
                    f"run: {name} exited {_MAX_QUICK_DEATHS} times within {_QUICK_DEATH_SECONDS:.0f} s of starting "
                    f"(last exit status {process.returncode}); its error is in the log above"
                )
                raise SupervisorError(msg)
            restarted.append(f"{name} (exit {process.returncode})")
            self._spawn(name, commands[name])
        return restarted

    def stop(self, timeout: float = 30.0) -> None:
        """Warm shutdown (SIGTERM: finish running tasks, return the rest), then SIGKILL after `timeout`."""
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
