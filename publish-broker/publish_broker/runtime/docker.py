"""Bots as Docker containers: one container per owner from the bot image (publish-broker/bot/).

Models travel through one volume (a named volume or a host directory) that the broker mounts
read-write at ``models_dir_in_broker`` and every bot mounts read-only at ``/models``; a bot's
models live in ``<volume>/<bot name>/``. The container is started with that directory as its
model, so a restarted container (restart policy, engine restart) loads the newest model in it,
which is the live one because older files are deleted after each successful deploy.

This runtime touches only containers that carry its ``faqbot.managed`` label; it never builds,
prunes or removes images, volumes or networks.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path

import docker
import docker.errors
import requests
from docker.models.containers import Container

from publish_broker.errors import DeployError, RuntimeUnavailable
from publish_broker.modelfiles import (
    discard_model,
    file_lock,
    install_model,
    model_file_name,
    prune_models,
)
from publish_broker.runtime.base import BotKey, BotRuntime, Deployment
from publish_broker.runtime.rasa_client import BOT_ENV, BotApi
from publish_broker.settings import default

logger = logging.getLogger(__name__)

MANAGED_LABEL = "faqbot.managed"
BOT_PORT = 5005
_MODELS_IN_BOT = "/models"
_RUNNING = "running"


class DockerRuntime(BotRuntime):
    """One container per owner, named ``BotKey.name``, on the stack's network.

    With ``publish_ports=True`` (tests, a broker on the host) each bot's port is also published
    on 127.0.0.1 and the endpoint is that port; otherwise it is ``http://<name>:5005``.
    """

    def __init__(
        self,
        client: docker.DockerClient,
        image: str,
        auth_token: str,
        network: str,
        models_volume: str,
        models_dir_in_broker: Path,
        publish_ports: bool = False,
        mem_limit: str = default("BOT_MEMORY_LIMIT"),
        labels: Mapping[str, str] | None = None,
        start_timeout: float = 180.0,
        load_timeout: float = 60.0,
    ) -> None:
        if not auth_token:
            raise ValueError("DockerRuntime needs a non-empty auth_token")
        self._client = client
        self._image = image
        self._token = auth_token
        self._network = network
        self._volume = str(models_volume)
        self.models_dir = Path(models_dir_in_broker)
        self._publish = publish_ports
        self._mem_limit = mem_limit
        self._labels = {**(labels or {}), MANAGED_LABEL: "true"}
        self._start_timeout = start_timeout
        self._load_timeout = load_timeout

    def deploy(self, key: BotKey, model_path: Path, model_digest: str) -> Deployment:
        """See ``BotRuntime.deploy``; a stopped, dead or unanswering container is replaced."""
        bot_dir = self.models_dir / key.name
        with file_lock(bot_dir / ".lock"):
            install_model(Path(model_path), bot_dir, model_digest)
            try:
                with docker_errors("deploy"):
                    deployment = self._make_live(key, model_digest)
            except DeployError:
                with contextlib.suppress(DeployError):
                    discard_model(bot_dir, model_digest, _digest(self.status(key)))
                raise
            prune_models(bot_dir, model_digest)
            return deployment

    def status(self, key: BotKey) -> Deployment | None:
        """See ``BotRuntime.status``.

        Raises:
            RuntimeUnavailable: the Docker engine cannot be reached.
        """
        with docker_errors("status"):
            container = self._find(key)
            if not _is_running(container):
                return None
            api = self._api(container)
            digest = api.current_digest()
            return Deployment(api.endpoint, digest) if digest else None

    def stop(self, key: BotKey) -> None:
        """See ``BotRuntime.stop``; the bot's model files go too."""
        bot_dir = self.models_dir / key.name
        with file_lock(bot_dir / ".lock"), docker_errors("stop"):
            container = self._find(key)
            if container is not None:
                container.remove(force=True)
            prune_models(bot_dir, None)

    def close(self) -> None:
        """Nothing to release: the Docker client belongs to the caller, bots keep running."""

    def _make_live(self, key: BotKey, digest: str) -> Deployment:
        container = self._find(key)
        api = self._api(container) if _is_running(container) else None
        if api is not None and api.current_digest(timeout=5.0) is not None:
            return self._swap(key, container, digest)
        return self._replace(key, container, digest)

    def _swap(self, key: BotKey, container: Container, digest: str) -> Deployment:
        api = self._api(container)
        if api.current_digest() != digest:
            api.load_model(f"{_MODELS_IN_BOT}/{key.name}/{model_file_name(digest)}",
                           timeout=self._load_timeout)  # fmt: skip
            api.wait_for_model(digest, self._load_timeout, alive=lambda: _still_up(container))
        return Deployment(api.endpoint, digest)

    def _replace(self, key: BotKey, old: Container | None, digest: str) -> Deployment:
        if old is not None:
            logger.warning("bot %s is %s or does not answer: replacing it", key.name, old.status)
            old.remove(force=True)
        container = self._client.containers.run(**self._container_spec(key))
        api = self._api(container)
        try:
            api.wait_for_model(digest, self._start_timeout, alive=lambda: _still_up(container))
        except DeployError:
            logger.error(
                "bot %s failed to start; last log lines:\n%s", key.name, _log_tail(container)
            )
            container.remove(force=True)  # or the restart policy keeps a broken bot looping
            raise
        logger.info("bot container %s started (%s)", key.name, api.endpoint)
        return Deployment(api.endpoint, digest)

    def _container_spec(self, key: BotKey) -> dict:
        environment = {
            **BOT_ENV,
            "BOT_AUTH_TOKEN": self._token,
            "BOT_MODEL": f"{_MODELS_IN_BOT}/{key.name}",
        }
        spec = {
            "image": self._image,
            "name": key.name,
            "hostname": key.name,
            "detach": True,
            "environment": environment,
            "labels": {**self._labels, "faqbot.team": key.team_id, "faqbot.user": key.user_id},
            "restart_policy": {"Name": "unless-stopped"},
            "mem_limit": self._mem_limit,
            "network": self._network,
            "volumes": {self._volume: {"bind": _MODELS_IN_BOT, "mode": "ro"}},
        }
        if self._publish:
            spec["ports"] = {f"{BOT_PORT}/tcp": ("127.0.0.1", None)}
        return spec

    def _find(self, key: BotKey) -> Container | None:
        return find_managed(self._client, key.name)

    def _api(self, container: Container) -> BotApi:
        return BotApi(self._endpoint(container), self._token)

    def _endpoint(self, container: Container) -> str:
        return container_url(container, BOT_PORT, self._publish)


def find_managed(client: docker.DockerClient, name: str) -> Container | None:
    """The container named ``name``, None if there is none.

    Raises DeployError if it exists without our label: never touch what we did not create.
    """
    try:
        container = client.containers.get(name)
    except docker.errors.NotFound:
        return None
    if container.labels.get(MANAGED_LABEL) != "true":
        raise DeployError(
            f"A container named {name} exists that the bot service did not create; "
            "an administrator must remove or rename it."
        )
    return container


def container_url(container: Container, port: int, published: bool) -> str:
    """Where ``container`` listens on ``port``: by its name on the network, or, ``published``,
    at the host port the engine gave it on 127.0.0.1.

    Raises DeployError if the engine gave it no host port.
    """
    if not published:
        return f"http://{container.name}:{port}"
    bindings = None
    for _ in range(50):  # the engine fills in the host port right after start
        bindings = (container.attrs["NetworkSettings"]["Ports"] or {}).get(f"{port}/tcp")
        if bindings:
            break
        container.reload()
    if not bindings:
        raise DeployError(f"The container {container.name} did not get a port.")
    return f"http://127.0.0.1:{bindings[0]['HostPort']}"


def _is_running(container: Container | None) -> bool:
    return container is not None and container.status == _RUNNING


def _still_up(container: Container) -> bool:
    """False once the container exited or the restart policy had to restart it (a crash)."""
    try:
        container.reload()
    except docker.errors.NotFound:
        return False
    crashed = container.attrs.get("RestartCount") or container.attrs["State"].get("OOMKilled")
    return container.status in (_RUNNING, "created") and not crashed


def _log_tail(container: Container) -> str:
    try:
        return container.logs(tail=20).decode(errors="replace")
    except docker.errors.DockerException:
        return "(no logs)"


@contextlib.contextmanager
def docker_errors(action: str) -> Iterator[None]:
    """Turn Docker engine failures into RuntimeUnavailable (transient) or a DeployError the
    owner can read; log the cause."""
    try:
        yield
    except docker.errors.ImageNotFound as exc:
        logger.error("docker %s failed: %s", action, exc)
        raise DeployError("The bot image is missing on the server.") from exc
    except (requests.ConnectionError, requests.Timeout) as exc:
        # The engine itself is away (restarting, overloaded): the task retries with backoff.
        logger.warning("docker %s: engine unreachable: %s", action, type(exc).__name__)
        raise RuntimeUnavailable(f"the Docker engine is unreachable ({action})") from exc
    except docker.errors.APIError as exc:
        if exc.is_server_error():
            logger.warning("docker %s: engine error: %s", action, exc)
            raise RuntimeUnavailable(f"the Docker engine failed ({action})") from exc
        logger.error("docker %s failed: %s", action, exc)
        raise DeployError("The bot server (Docker) refused to run the bot.") from exc
    except (docker.errors.DockerException, requests.RequestException) as exc:
        logger.error("docker %s failed: %s", action, exc)
        raise DeployError("The bot server (Docker) is not available right now.") from exc


def _digest(deployment: Deployment | None) -> str | None:
    return deployment.model_digest if deployment else None
