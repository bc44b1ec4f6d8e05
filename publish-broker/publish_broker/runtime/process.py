"""Bots as local processes: one ``rasa run`` per owner, for machines without Docker.

Each bot owns ``models_dir/<bot name>/``: its model files (``<digest>.tar.gz``, the path the
bot is given), ``bot.json`` (pid, process start time and port, so a restarted broker finds its
bots again and never mistakes a recycled pid for one), ``bot.log`` and a lock file that keeps
deploys of one owner one at a time across worker processes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import socket
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from publish_broker.errors import DeployError
from publish_broker.modelfiles import (
    discard_model,
    file_lock,
    install_model,
    prune_models,
)
from publish_broker.runtime.base import BotKey, BotRuntime, Deployment
from publish_broker.runtime.local import (
    child_env,
    create_time,
    is_alive,
    terminate,
    write_json,
)
from publish_broker.runtime.rasa_client import BOT_ENV, BotApi
from publish_broker.settings import default

logger = logging.getLogger(__name__)

_STATE_FILE = "bot.json"


@dataclass(frozen=True)
class _BotProcess:
    team_id: str
    user_id: str
    pid: int
    create_time: float
    port: int


class ProcessRuntime(BotRuntime):
    """One ``rasa run`` process per owner on this machine.

    Bots run in their own session: they outlive the broker and are found again by the next one.
    ``stop_on_close=True`` (for ``make run``) stops every bot in ``models_dir`` on ``close()``.
    """

    def __init__(
        self,
        models_dir: Path,
        auth_token: str,
        python_executable: str = sys.executable,
        host: str = "127.0.0.1",
        port_range: tuple[int, int] = default("BOT_PORT_RANGE"),
        start_timeout: float = 120.0,
        load_timeout: float = 60.0,
        stop_on_close: bool = False,
    ) -> None:
        if not auth_token:
            raise ValueError("ProcessRuntime needs a non-empty auth_token")
        if port_range[0] > port_range[1]:
            raise ValueError(f"port_range {port_range} is empty")
        self.models_dir = Path(models_dir)
        self._token = auth_token
        self._python = python_executable
        self._host = host
        self._ports = port_range
        self._start_timeout = start_timeout
        self._load_timeout = load_timeout
        self._stop_on_close = stop_on_close
        self._children: dict[int, subprocess.Popen] = {}

    def deploy(self, key: BotKey, model_path: Path, model_digest: str) -> Deployment:
        """See ``BotRuntime.deploy``; a crashed or hung bot is restarted with the new model."""
        bot_dir = self._bot_dir(key)
        with file_lock(bot_dir / ".lock"):
            installed = install_model(Path(model_path), bot_dir, model_digest)
            try:
                deployment = self._make_live(key, installed, model_digest)
            except DeployError:
                discard_model(bot_dir, model_digest, _digest(self.status(key)))
                raise
            prune_models(bot_dir, model_digest)
            return deployment

    def status(self, key: BotKey) -> Deployment | None:
        """See ``BotRuntime.status``."""
        bot = self._live_bot(key)
        digest = self._api(bot).current_digest() if bot else None
        return Deployment(self._endpoint(bot.port), digest) if bot and digest else None

    def stop(self, key: BotKey) -> None:
        """See ``BotRuntime.stop``; the bot's model files go too, its log stays."""
        bot_dir = self._bot_dir(key)
        with file_lock(bot_dir / ".lock"):
            bot = self._live_bot(key)
            if bot is not None:
                self._terminate(bot)
            (bot_dir / _STATE_FILE).unlink(missing_ok=True)
            prune_models(bot_dir, None)

    def close(self) -> None:
        """Stop every bot in ``models_dir`` if ``stop_on_close``; otherwise leave them running."""
        if self._stop_on_close:
            for bot in self._all_bots(live_only=False):
                self.stop(BotKey(bot.team_id, bot.user_id))

    def pid(self, key: BotKey) -> int | None:
        """The process id of ``key``'s running bot, or None (for tests and memory reports)."""
        bot = self._live_bot(key)
        return bot.pid if bot else None

    def _make_live(self, key: BotKey, installed: Path, digest: str) -> Deployment:
        bot = self._live_bot(key)
        if bot is not None and self._api(bot).current_digest(timeout=5.0) is not None:
            return self._swap(bot, installed, digest)
        if bot is not None:
            logger.warning("bot %s does not answer: restarting it", key.name)
            self._terminate(bot)
        return self._start(key, installed, digest)

    def _swap(self, bot: _BotProcess, installed: Path, digest: str) -> Deployment:
        api = self._api(bot)
        if api.current_digest() != digest:
            api.load_model(str(installed), timeout=self._load_timeout)
            api.wait_for_model(digest, self._load_timeout, alive=lambda: is_alive(bot))
        return Deployment(api.endpoint, digest)

    def _start(self, key: BotKey, installed: Path, digest: str) -> Deployment:
        with file_lock(self.models_dir / ".ports.lock"):
            port = self._free_port(key)
            child = self._spawn(key, port, installed)
            bot = _BotProcess(key.team_id, key.user_id, child.pid, create_time(child.pid), port)
            write_json(self._bot_dir(key) / _STATE_FILE, asdict(bot))
        self._children[child.pid] = child
        try:
            self._api(bot).wait_for_model(
                digest, self._start_timeout, alive=lambda: child.poll() is None
            )
        except DeployError:
            logger.error("bot %s failed to start; its log: %s", key.name, self._log_path(key))
            self._terminate(bot)
            (self._bot_dir(key) / _STATE_FILE).unlink(missing_ok=True)
            raise
        logger.info("bot %s started on port %d (pid %d)", key.name, port, child.pid)
        return Deployment(self._endpoint(port), digest)

    def _spawn(self, key: BotKey, port: int, model: Path) -> subprocess.Popen:
        # The token travels in the environment: a command line is visible to everyone (ps).
        command = [self._python, "-m", "publish_broker.bot_server"]
        env = {**self._bot_env(), "BOT_AUTH_TOKEN": self._token, "BOT_INTERFACE": self._host,
               "BOT_PORT": str(port), "BOT_MODEL": str(model)}
        try:
            with open(self._log_path(key), "ab") as log:
                return subprocess.Popen(
                    command, cwd=self._bot_dir(key), env=env, stdin=subprocess.DEVNULL,
                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                )  # fmt: skip
        except OSError as exc:
            logger.error("cannot run %s: %s", self._python, exc)
            raise DeployError("The bot program could not be started on this machine.") from exc

    def _bot_env(self) -> dict[str, str]:
        return {**child_env(), **BOT_ENV}

    def _free_port(self, key: BotKey) -> int:
        low, high = self._ports
        size = high - low + 1
        preferred = int(hashlib.sha256(key.name.encode()).hexdigest(), 16) % size
        mine = (key.team_id, key.user_id)
        claimed = {bot.port for bot in self._all_bots() if (bot.team_id, bot.user_id) != mine}
        for offset in range(size):
            port = low + (preferred + offset) % size
            if port not in claimed and _port_is_free(self._host, port):
                return port
        raise DeployError("No free port is left for another bot on this machine.")

    def _terminate(self, bot: _BotProcess) -> None:
        terminate(bot)
        child = self._children.pop(bot.pid, None)
        if child is not None:
            child.wait(timeout=10)

    def _live_bot(self, key: BotKey) -> _BotProcess | None:
        bot = _read_bot(self._bot_dir(key) / _STATE_FILE)
        return bot if bot is not None and self._reap_or_alive(bot) else None

    def _reap_or_alive(self, bot: _BotProcess) -> bool:
        child = self._children.get(bot.pid)
        if child is not None and child.poll() is not None:
            del self._children[bot.pid]  # our own child died: reaped, so not a zombie
            return False
        return is_alive(bot)

    def _all_bots(self, live_only: bool = True) -> list[_BotProcess]:
        bots = (_read_bot(path) for path in self.models_dir.glob(f"*/{_STATE_FILE}"))
        return [b for b in bots if b is not None and (not live_only or self._reap_or_alive(b))]

    def _api(self, bot: _BotProcess) -> BotApi:
        return BotApi(self._endpoint(bot.port), self._token)

    def _endpoint(self, port: int) -> str:
        return f"http://{self._host}:{port}"

    def _bot_dir(self, key: BotKey) -> Path:
        return self.models_dir / key.name

    def _log_path(self, key: BotKey) -> Path:
        return self._bot_dir(key) / "bot.log"


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the bot's server does: a port whose old connections linger in TIME_WAIT is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _read_bot(path: Path) -> _BotProcess | None:
    try:
        return _BotProcess(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _digest(deployment: Deployment | None) -> str | None:
    return deployment.model_digest if deployment else None
