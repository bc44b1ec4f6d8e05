"""What the pool runtimes share: deploying an owner's model into the pool that serves them.

An owner's bot endpoint is ``<pool URL>/bots/<bot name>``: the pool answers there as a Rasa
bot does (publish_broker.pool.server), so ``rasa_client.BotApi`` drives it. Subclasses say
which pool serves a bot and keep that pool running.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from pathlib import Path

import requests

from publish_broker.errors import DeployError
from publish_broker.modelfiles import (
    discard_model,
    file_lock,
    install_model,
    model_file_name,
    prune_models,
)
from publish_broker.runtime.base import BotKey, BotRuntime, Deployment
from publish_broker.runtime.rasa_client import BotApi

logger = logging.getLogger(__name__)


class PoolRuntime(BotRuntime):
    """Owners' bots as models loaded into pool processes; models live in ``models_dir``."""

    answers_from_matcher = True

    def __init__(self, models_dir: Path, auth_token: str, load_timeout: float) -> None:
        if not auth_token:
            raise ValueError(f"{type(self).__name__} needs a non-empty auth_token")
        self.models_dir = Path(models_dir)
        self._token = auth_token
        self._load_timeout = load_timeout

    @abstractmethod
    def _assigned_pool(self, key: BotKey) -> str | None:
        """The base URL of the pool serving ``key``, None if none is assigned yet."""

    @abstractmethod
    def _assign_pool(self, key: BotKey) -> str:
        """The base URL of the pool serving ``key`` (assigning one), started if it is down.

        Raises DeployError or RuntimeUnavailable.
        """

    def _forget_pool(self, key: BotKey) -> None:
        """Drop ``key``'s assignment, if the runtime records one."""

    def deploy(self, key: BotKey, model_path: Path, model_digest: str) -> Deployment:
        """See ``BotRuntime.deploy``: the pool loads the model; the old one answers until then."""
        return self._install(key, model_path, model_digest, prune=True)

    def preview(self, key: BotKey, model_path: Path, model_digest: str) -> Deployment:
        """See ``BotRuntime.preview``: loaded as ``deploy`` loads, older models kept."""
        return self._install(key, model_path, model_digest, prune=False)

    def withdraw(self, key: BotKey, model_digest: str, previous: Deployment) -> None:
        """See ``BotRuntime.withdraw``."""
        bot_dir = self.models_dir / key.name
        with file_lock(bot_dir / ".lock"):
            base = self._assigned_pool(key)
            if base is not None and previous.model_digest != model_digest:
                BotApi(f"{base}/bots/{key.name}", self._token).load_model(
                    model_file_name(previous.model_digest), timeout=self._load_timeout)
            discard_model(bot_dir, model_digest, previous.model_digest)
        logger.info("bot %s: model %s withdrawn, %s answers again", key.name, model_digest[:12],
                    previous.model_digest[:12])

    def _install(self, key: BotKey, model_path: Path, model_digest: str,
                 prune: bool) -> Deployment:
        bot_dir = self.models_dir / key.name
        with file_lock(bot_dir / ".lock"):
            install_model(Path(model_path), bot_dir, model_digest)
            try:
                endpoint = f"{self._assign_pool(key)}/bots/{key.name}"
                api = BotApi(endpoint, self._token)
                api.load_model(model_file_name(model_digest), timeout=self._load_timeout)
                if api.current_digest(timeout=self._load_timeout) != model_digest:
                    raise DeployError("The bot pool did not take the new version.")
            except DeployError:
                live = self.status(key)
                discard_model(bot_dir, model_digest, live.model_digest if live else None)
                raise
            if prune:
                prune_models(bot_dir, model_digest)
        logger.info("bot %s: model %s live at %s", key.name, model_digest[:12], endpoint)
        return Deployment(endpoint, model_digest)

    def status(self, key: BotKey) -> Deployment | None:
        """See ``BotRuntime.status``; a pool loads a stored model it has not loaded yet."""
        base = self._assigned_pool(key)
        if base is None:
            return None
        api = BotApi(f"{base}/bots/{key.name}", self._token)
        digest = api.current_digest()
        return Deployment(api.endpoint, digest) if digest else None

    def stop(self, key: BotKey) -> None:
        """See ``BotRuntime.stop``: the pool forgets the bot and its model files are deleted."""
        bot_dir = self.models_dir / key.name
        with file_lock(bot_dir / ".lock"):
            base = self._assigned_pool(key)
            if base is not None:
                self._unload(base, key)
            prune_models(bot_dir, None)
            self._forget_pool(key)

    def _unload(self, base: str, key: BotKey) -> None:
        try:
            requests.delete(f"{base}/bots/{key.name}", params={"token": self._token}, timeout=5)
        except requests.RequestException as exc:
            # Its files go anyway: a pool that comes back finds no model and answers 404.
            logger.warning("bot %s: pool unreachable on stop (%s)", key.name, type(exc).__name__)
