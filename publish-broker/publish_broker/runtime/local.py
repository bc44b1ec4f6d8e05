"""What the runtimes that run local processes share: a child's environment, and telling a live
process we started from a recycled pid."""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Protocol

import psutil

# Children load models that name publish_broker modules: the package must be importable.
_BROKER_ROOT = Path(__file__).resolve().parents[2]
_INHERITED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SSL_CERT_FILE", "NLTK_DATA")


class Started(Protocol):
    pid: int
    create_time: float


def child_env() -> dict[str, str]:
    """Only what a bot or pool needs: the broker's own secrets (database, Slack) stay out."""
    env = {name: os.environ[name] for name in _INHERITED_ENV if name in os.environ}
    paths = [str(_BROKER_ROOT), os.environ.get("PYTHONPATH", "")]
    return {**env, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def is_alive(bot: Started) -> bool:
    """True if ``bot.pid`` is still the process we started (not a recycled pid, not a zombie)."""
    try:
        process = psutil.Process(bot.pid)
        return process.create_time() == bot.create_time and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def create_time(pid: int) -> float:
    try:
        return psutil.Process(pid).create_time()
    except psutil.NoSuchProcess:
        return 0.0  # died at once: the health check reports it


def write_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def read_json(path: Path) -> dict | None:
    """A small JSON state file, or None if it is missing or unreadable."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def terminate(started: Started) -> None:
    """Stop the process we started (SIGTERM, then SIGKILL after 10 s); a recycled pid is left
    alone, a process already gone is not an error.

    Raises psutil.TimeoutExpired if the process still runs 10 s after SIGKILL.
    """
    with contextlib.suppress(psutil.NoSuchProcess):
        process = psutil.Process(started.pid)
        if process.create_time() == started.create_time:
            process.terminate()
            try:
                _wait_exited(process, timeout=10)
            except psutil.TimeoutExpired:
                process.kill()
                _wait_exited(process, timeout=10)


def _wait_exited(process: psutil.Process, timeout: float) -> None:
    # A pool outlives the broker that started it; the broker after it is not its parent and
    # cannot reap it, so once it exits it stays a zombie until its adoptive parent (init, or a
    # container's PID 1, which may never) reaps it. psutil's wait takes a zombie for a running
    # process: exited is what counts here.
    deadline = time.monotonic() + timeout
    while process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
        if time.monotonic() > deadline:
            raise psutil.TimeoutExpired(timeout, process.pid, process.name())
        try:
            process.wait(timeout=0.1)  # reaps it where it is our child
        except psutil.TimeoutExpired:
            pass
