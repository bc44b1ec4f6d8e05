"""Where an owner's bot runs: the runtime interface and the Rasa bot protocol its runtimes share.

The broker's task code sees only ``BotRuntime``: ``deploy`` makes a model live for one owner and
returns where it answers. How bots are hosted (one process or container per owner today, a pooled
host of many owners' models later) stays behind it.

Bots are Rasa 3.6 servers started with ``--enable-api --auth-token``. Their model files are
named ``<digest>.tar.gz``, so the model a bot reports in ``GET /status`` names its digest.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import logging
import os
import re
import time
import urllib.parse
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from publish_broker.errors import DeployError
from publish_broker.modelfiles import MODEL_SUFFIX, model_file_name

logger = logging.getLogger(__name__)

# Bots never train (no cache) and run a small pipeline (one BLAS thread is faster, not slower).
BOT_ENV = {
    "RASA_MAX_CACHE_SIZE": "0",
    "RASA_TELEMETRY_ENABLED": "false",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
}
_UNSAFE = re.compile(r"[^a-z0-9]+")
_PLAIN = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class BotKey:
    """One owner's bot: a Slack user in a Slack team."""

    team_id: str
    user_id: str

    def __post_init__(self) -> None:
        if not self.team_id.strip() or not self.user_id.strip():
            raise ValueError("BotKey needs a non-empty team_id and user_id")

    @property
    def name(self) -> str:
        """Deterministic, lower-case name usable as a container, host and directory name.

        Slack ids (upper-case letters and digits) map one to one; any other character is
        replaced and a short hash of the original ids keeps such names distinct.
        (Upper and lower case are one: Slack ids are upper-case.)
        """
        parts = [p.lower() for p in (self.team_id, self.user_id)]
        name = "-".join(["faqbot", *(_UNSAFE.sub("-", p).strip("-") for p in parts)])
        if not all(_PLAIN.fullmatch(p) for p in parts) or len(name) > 54:
            digest = hashlib.sha256(f"{self.team_id}\0{self.user_id}".encode()).hexdigest()[:8]
            name = f"{name[:54]}-{digest}"
        return name


@dataclass(frozen=True)
class Deployment:
    """A live bot: where it answers and which model it answers with."""

    endpoint: str
    model_digest: str


class BotRuntime(ABC):
    """Hosts owners' bots. Implementations are safe to call from several worker processes."""

    models_dir: Path  # where the broker stores each bot's models: <models_dir>/<bot name>/

    @abstractmethod
    def deploy(self, key: BotKey, model_path: Path, model_digest: str) -> Deployment:
        """Make ``model_path`` the live model of ``key``'s bot and return once it answers with it.

        Idempotent. A running bot keeps answering with its old model until the new one is
        loaded; a bot that is not running (or crashed) is started and health-checked.

        Raises:
            DeployError: the model could not be made live; the message is for the owner.
            RuntimeUnavailable: the runtime's engine cannot be reached now (retry later).
        """

    @abstractmethod
    def status(self, key: BotKey) -> Deployment | None:
        """What ``key``'s bot answers with now, or None when it is not running or not answering."""

    @abstractmethod
    def stop(self, key: BotKey) -> None:
        """Stop and remove ``key``'s bot; a bot that does not run is not an error.

        Raises:
            DeployError: the bot could not be stopped.
            RuntimeUnavailable: the runtime's engine cannot be reached now (retry later).
        """

    def stored_model(self, key: BotKey, model_digest: str) -> Path | None:
        """The stored model file of this digest for ``key``, if the runtime still has it (a
        bot lost with its host is redeployed from it instead of being trained again)."""
        with contextlib.suppress(ValueError):
            path = self.models_dir / key.name / model_file_name(model_digest)
            return path if path.is_file() else None
        return None

    def start(self) -> None:  # noqa: B027 - a hook: runtimes without shared hosts need none
        """Bring up what serves the bots already deployed (pools); bots run on their own
        otherwise. Raises DeployError or RuntimeUnavailable."""

    @abstractmethod
    def close(self) -> None:
        """Release what the runtime holds (bots keep running unless documented otherwise)."""

    def __enter__(self) -> BotRuntime:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class BotApi:
    """The HTTP API of one Rasa bot, authenticated with its token.

    Uses urllib on purpose: the token travels in the query string (Rasa accepts it nowhere
    else) and urllib never logs request lines. Error messages never include the URL.
    """

    def __init__(self, endpoint: str, auth_token: str) -> None:
        self.endpoint = endpoint.rstrip("/")
        self._token = auth_token

    def current_digest(self, timeout: float = 3.0) -> str | None:
        """The digest of the model the bot answers with, or None when it does not answer."""
        try:
            body = self._request("GET", "/status", None, timeout)
        except (OSError, http.client.HTTPException, ValueError):
            return None
        name = os.path.basename(str(body.get("model_file") or ""))
        return name[: -len(MODEL_SUFFIX)] if name.endswith(MODEL_SUFFIX) else None

    def load_model(self, path_in_bot: str, timeout: float) -> None:
        """Have the bot load another model; it answers with the old one until this returns.

        Raises:
            DeployError: the bot refused or failed to load the model.
        """
        try:
            self._request("PUT", "/model", {"model_file": path_in_bot}, timeout)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            logger.error("bot at %s failed to load %s: %s", self.endpoint, path_in_bot, exc)
            raise DeployError("The bot could not load the new version.") from exc

    def wait_for_model(self, digest: str, timeout: float, alive: Callable[[], bool]) -> None:
        """Poll until the bot answers with ``digest``.

        Raises:
            DeployError: the bot stopped (``alive()`` turned false) or the deadline passed.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.current_digest(timeout=2.0) == digest:
                return
            if not alive():
                raise DeployError("The bot stopped while starting.")
            time.sleep(0.2)  # a poll interval, not synchronisation: the deadline bounds it
        raise DeployError(f"The bot did not become ready within {timeout:.0f} seconds.")

    def _request(self, method: str, path: str, payload: dict | None, timeout: float) -> dict:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(
            f"{self.endpoint}{path}?token={urllib.parse.quote(self._token)}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
        return json.loads(raw) if raw else {}
