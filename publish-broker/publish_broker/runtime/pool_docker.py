"""Bots in pool containers: ``faqbot-pool-<n>``, each serving up to ``owners_per_pool`` owners.

Owners are assigned to a pool as they arrive (the lowest-numbered pool with room) and stay on
it: the assignment is a file beside their models, ``<models>/<bot name>/pool``, so it survives
broker and pool restarts, and the bot's endpoint (recorded in publish-api) names the pool. A
pool container that is missing, stopped or does not answer is replaced on the next deploy to
it; the restart policy brings back one that crashed, and it reads every owner's model from the
models volume again.

Pool containers are hardened: the image's non-root user, a read-only root filesystem (a small
tmpfs for /tmp), the models volume read-only, no capabilities, no new privileges, and limits on
pids, memory and CPU. They join ``network``, which the stack declares ``internal``: no route to
PostgreSQL, RabbitMQ or the outside; only the action server (and this broker) join it.

Like DockerRuntime, it touches only containers labelled ``faqbot.managed=true``.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Mapping
from pathlib import Path

import docker
import docker.errors
import requests
from docker.models.containers import Container

from publish_broker.errors import DeployError
from publish_broker.modelfiles import file_lock
from publish_broker.runtime.base import BotKey
from publish_broker.runtime.docker import (
    MANAGED_LABEL,
    container_url,
    docker_errors,
    find_managed,
)
from publish_broker.runtime.pool_base import PoolRuntime
from publish_broker.runtime.rasa_client import BOT_ENV
from publish_broker.settings import default

logger = logging.getLogger(__name__)

POOL_PORT = 5005
_ASSIGNMENT = "pool"
_MODELS_IN_POOL = "/models"
_POOL_NUMBER = re.compile(r"[1-9][0-9]{0,5}")


class PoolDockerRuntime(PoolRuntime):
    """Pool containers on the stack's bots network, created as owners arrive."""

    def __init__(
        self,
        client: docker.DockerClient,
        image: str,
        auth_token: str,
        network: str,
        models_volume: str,
        models_dir_in_broker: Path,
        publish_ports: bool = False,
        owners_per_pool: int = default("POOL_OWNERS"),
        mem_limit: str = default("BOT_MEMORY_LIMIT"),
        memory_budget_mb: int = default("POOL_MEMORY_BUDGET_MB"),
        cpus: float = default("POOL_CPUS"),
        pids_limit: int = 64,
        name_prefix: str = default("POOL_NAME_PREFIX"),
        labels: Mapping[str, str] | None = None,
        start_timeout: float = 60.0,
        load_timeout: float = 30.0,
    ) -> None:
        super().__init__(models_dir_in_broker, auth_token, load_timeout)
        if owners_per_pool < 1:
            raise ValueError("owners_per_pool must be at least 1")
        self._client, self._image, self._network = client, image, network
        self._volume = str(models_volume)
        self._publish = publish_ports
        self._capacity = owners_per_pool
        self._limits = {"mem_limit": mem_limit, "nano_cpus": int(cpus * 1e9),
                        "pids_limit": pids_limit}
        self._budget = memory_budget_mb
        self._labels = {**(labels or {}), MANAGED_LABEL: "true", "faqbot.role": "pool"}
        self._start_timeout = start_timeout
        self._prefix = name_prefix

    def start(self) -> None:
        """Start every pool that owners are assigned to and that is not running."""
        for number in sorted(set(self._assignments().values())):
            with file_lock(self.models_dir / ".pools.lock"), docker_errors("start"):
                self._running_pool(number)

    def close(self) -> None:
        """Nothing to release: the Docker client belongs to the caller, pools keep running."""

    def pool_container(self, key: BotKey) -> Container | None:
        """The container of ``key``'s pool, if it has one (for tests and operators)."""
        number = self._assignment(key)
        with docker_errors("inspect"):
            return self._find(number) if number else None

    def _assigned_pool(self, key: BotKey) -> str | None:
        number = self._assignment(key)
        if number is None:
            return None
        with docker_errors("status"):
            container = self._find(number)
            return self._url(container) if container is not None else None

    def _assign_pool(self, key: BotKey) -> str:
        with file_lock(self.models_dir / ".pools.lock"), docker_errors("deploy"):
            number = self._assignment(key) or self._pool_with_room()
            container = self._running_pool(number)
            (self.models_dir / key.name / _ASSIGNMENT).write_text(str(number))
            return self._url(container)

    def _forget_pool(self, key: BotKey) -> None:
        (self.models_dir / key.name / _ASSIGNMENT).unlink(missing_ok=True)

    def _assignment(self, key: BotKey) -> int | None:
        return _read_number(self.models_dir / key.name / _ASSIGNMENT)

    def _assignments(self) -> dict[str, int]:
        found = {}
        for path in self.models_dir.glob(f"*/{_ASSIGNMENT}"):
            number = _read_number(path)
            if number is not None:
                found[path.parent.name] = number
        return found

    def _pool_with_room(self) -> int:
        counts: dict[int, int] = {}
        for number in self._assignments().values():
            counts[number] = counts.get(number, 0) + 1
        number = 1
        while counts.get(number, 0) >= self._capacity:
            number += 1
        return number

    def _running_pool(self, number: int) -> Container:
        """Pool ``number``'s container, created or replaced unless it runs and answers."""
        container = self._find(number)
        if container is not None and container.status == "running" and self._answers(container):
            return container
        if container is not None:
            logger.warning("pool %s is %s or does not answer: replacing it",
                           container.name, container.status)
            container.remove(force=True)
        container = self._client.containers.run(**self._container_spec(number))
        self._wait_healthy(container)
        logger.info("pool container %s started (%s)", container.name, self._url(container))
        return container

    def _container_spec(self, number: int) -> dict:
        name = f"{self._prefix}{number}"
        spec = {
            "image": self._image, "name": name, "hostname": name, "detach": True,
            "environment": {**BOT_ENV, "BOT_AUTH_TOKEN": self._token,
                            "POOL_MODELS_DIR": _MODELS_IN_POOL, "POOL_PORT": str(POOL_PORT),
                            "POOL_MEMORY_BUDGET_MB": str(self._budget)},
            "labels": {**self._labels, "faqbot.pool": str(number)},
            "restart_policy": {"Name": "unless-stopped"},
            "network": self._network,
            "volumes": {self._volume: {"bind": _MODELS_IN_POOL, "mode": "ro"}},
            # Hardening: nothing in a pool writes outside /tmp or needs a privilege.
            "read_only": True, "tmpfs": {"/tmp": "size=16m,mode=1777"},
            "cap_drop": ["ALL"], "security_opt": ["no-new-privileges"],
            **self._limits,
        }
        if self._publish:
            spec["ports"] = {f"{POOL_PORT}/tcp": ("127.0.0.1", None)}
        return spec

    def _wait_healthy(self, container: Container) -> None:
        deadline = time.monotonic() + self._start_timeout
        while time.monotonic() < deadline:
            container.reload()
            if container.status not in ("created", "running"):
                break
            if self._answers(container):
                return
            time.sleep(0.2)  # a poll interval; the deadline bounds it
        logs = container.logs(tail=20).decode(errors="replace")
        logger.error("pool %s failed to start; last log lines:\n%s", container.name, logs)
        container.remove(force=True)  # or the restart policy keeps a broken pool looping
        raise DeployError("The bot pool did not start.")

    def _answers(self, container: Container) -> bool:
        try:
            return requests.get(f"{self._url(container)}/health", timeout=2).ok
        except (requests.RequestException, DeployError):
            return False

    def _find(self, number: int) -> Container | None:
        return find_managed(self._client, f"{self._prefix}{number}")

    def _url(self, container: Container) -> str:
        return container_url(container, POOL_PORT, self._publish)


def _read_number(path: Path) -> int | None:
    with contextlib.suppress(OSError):
        text = path.read_text().strip()
        return int(text) if _POOL_NUMBER.fullmatch(text) else None
    return None
