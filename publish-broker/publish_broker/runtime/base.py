"""Where an owner's bot runs: the runtime interface, ``BotRuntime``, and the values it speaks.

The broker's task code sees only ``BotRuntime``: ``deploy`` makes a model live for one owner and
returns where it answers. How bots are hosted (owners' models in pool processes or containers;
one Rasa server per owner) stays behind it. The runtimes drive a bot over its HTTP API with
``rasa_client.BotApi``; its model files are kept by ``publish_broker.modelfiles``.
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from publish_broker.modelfiles import stored_model

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
    # Whether the runtime's bots can answer from a matcher-only archive (FaqModel.to_archive):
    # pools can, so a publish shows them the fitted matcher before Rasa has packaged it.
    answers_from_matcher = False

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

    def preview(self, key: BotKey, model_path: Path, model_digest: str) -> Deployment:
        """Have ``key``'s bot answer with a matcher-only archive until ``deploy`` installs Rasa's
        archive of the same digest; the model it answered with before stays stored, for
        ``withdraw``. Only for runtimes that answer from the matcher.

        Raises DeployError, RuntimeUnavailable (as ``deploy``).
        """
        raise NotImplementedError(f"{type(self).__name__} serves Rasa archives only")

    def withdraw(self, key: BotKey, model_digest: str, previous: Deployment) -> None:
        """Undo ``preview`` of ``model_digest`` (its publish failed): the bot answers with
        ``previous``, the model it answered with before, again. Raises DeployError,
        RuntimeUnavailable."""
        raise NotImplementedError(f"{type(self).__name__} serves Rasa archives only")

    def stored_model(self, key: BotKey, model_digest: str) -> Path | None:
        """The stored model file of this digest for ``key``, if the runtime still has it (a
        bot lost with its host is redeployed from it instead of being trained again)."""
        return stored_model(self.models_dir / key.name, model_digest)

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
