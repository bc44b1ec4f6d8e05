"""Bots in one local pool process (publish_broker.pool): the default of ``make run``.

Every owner's bot is served by one ``python -m publish_broker.pool`` on this machine, at
``http://<host>:<port>/bots/<bot name>``. The runtime starts the pool when it does not answer
(first deploy, after a crash or a restart of ``make run``) and records it in
``models_dir/pool.json`` (pid, process start time, port), so that a restarted broker finds it
and never mistakes a recycled pid for it. The pool reads models from ``models_dir`` as the
broker installs them, so a restarted pool answers for every owner from the stored models.
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil
import requests

from publish_broker.errors import DeployError
from publish_broker.modelfiles import file_lock, store_id
from publish_broker.runtime.base import BotKey
from publish_broker.runtime.local import (
    child_env,
    create_time,
    is_alive,
    read_json,
    terminate,
    write_json,
)
from publish_broker.runtime.pool_base import PoolRuntime
from publish_broker.runtime.rasa_client import BOT_ENV
from publish_broker.settings import default

logger = logging.getLogger(__name__)

_STATE_FILE = "pool.json"


@dataclass(frozen=True)
class _PoolProcess:
    pid: int
    create_time: float
    port: int


class PoolProcessRuntime(PoolRuntime):
    """One local pool process for every owner.

    The pool runs in its own session: it outlives the broker and is found again by the next
    one. ``stop_on_close=True`` (``make run``, tests) stops it on ``close()``.
    """

    def __init__(
        self,
        models_dir: Path,
        auth_token: str,
        port: int = default("POOL_PORT"),
        host: str = "127.0.0.1",
        python_executable: str = sys.executable,
        memory_budget_mb: int | None = None,
        start_timeout: float = 60.0,
        load_timeout: float = 30.0,
        stop_on_close: bool = False,
    ) -> None:
        super().__init__(models_dir, auth_token, load_timeout)
        self._port, self._host = port, host
        self._python = python_executable
        self._budget = memory_budget_mb
        self._start_timeout = start_timeout
        self._stop_on_close = stop_on_close
        self._child: subprocess.Popen | None = None

    def start(self) -> None:
        """Start the pool unless it answers. Raises DeployError if it cannot be started."""
        with file_lock(self.models_dir / ".pool.lock"):
            if self._healthy():
                return
            stale = self._recorded()
            if stale is not None and is_alive(stale):
                logger.warning("bot pool (pid %d) does not answer: restarting it", stale.pid)
                self._terminate(stale)
            self._spawn()

    def pid(self) -> int | None:
        """The pool's process id, or None (for tests and memory reports)."""
        pool = self._recorded()
        return pool.pid if pool is not None and is_alive(pool) else None

    def close(self) -> None:
        """Stop the pool if ``stop_on_close``; otherwise leave it running."""
        pool = self._recorded()
        if self._stop_on_close and pool is not None:
            self._terminate(pool)
            (self.models_dir / _STATE_FILE).unlink(missing_ok=True)

    def _assigned_pool(self, key: BotKey) -> str | None:
        return self._url

    def _assign_pool(self, key: BotKey) -> str:
        self.start()
        return self._url

    @property
    def _url(self) -> str:
        return f"http://{self._host}:{self._port}"

    def _healthy(self) -> bool:
        """Whether our pool answers on the port: one serving ``models_dir``, not another's."""
        try:
            health = requests.get(f"{self._url}/health", timeout=2)
            return health.ok and health.json().get("store") == store_id(self.models_dir)
        except (requests.RequestException, ValueError):
            return False

    def _spawn(self) -> None:
        self.models_dir.mkdir(parents=True, exist_ok=True)
        env = {**child_env(), **BOT_ENV, "BOT_AUTH_TOKEN": self._token,
               "POOL_MODELS_DIR": str(self.models_dir), "POOL_HOST": self._host,
               "POOL_PORT": str(self._port)}
        if self._budget:
            env["POOL_MEMORY_BUDGET_MB"] = str(self._budget)
        try:
            with open(self.models_dir / "pool.log", "ab") as log:
                child = subprocess.Popen(
                    [self._python, "-m", "publish_broker.pool"], cwd=self.models_dir, env=env,
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True)
        except OSError as exc:
            logger.error("cannot run %s: %s", self._python, exc)
            raise DeployError("The bot pool could not be started on this machine.") from exc
        self._child = child
        pool = _PoolProcess(child.pid, create_time(child.pid), self._port)
        write_json(self.models_dir / _STATE_FILE, asdict(pool))
        self._wait_healthy(child)
        logger.info("bot pool started on %s:%d (pid %d)", self._host, self._port, child.pid)

    def _wait_healthy(self, child: subprocess.Popen) -> None:
        deadline = time.monotonic() + self._start_timeout
        while time.monotonic() < deadline:
            if self._healthy():
                return
            if child.poll() is not None:
                break
            time.sleep(0.1)  # a poll interval; the deadline bounds it
        logger.error("bot pool failed to start; its log: %s", self.models_dir / "pool.log")
        with contextlib.suppress(psutil.NoSuchProcess):
            psutil.Process(child.pid).kill()
        raise DeployError("The bot pool did not start.")

    def _recorded(self) -> _PoolProcess | None:
        data = read_json(self.models_dir / _STATE_FILE)
        try:
            return _PoolProcess(**data) if data else None
        except TypeError:
            return None

    def _terminate(self, pool: _PoolProcess) -> None:
        terminate(pool)
        if self._child is not None and self._child.pid == pool.pid:
            self._child.wait(timeout=10)
            self._child = None
