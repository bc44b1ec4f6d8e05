"""Typed settings of the broker, read from the environment once at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


class SettingsError(RuntimeError):
    """A setting is missing or invalid; the message names the variable, never its value."""


@dataclass(frozen=True)
class Settings:
    API_TOKEN: str
    BOT_AUTH_TOKEN: str
    PUBLISH_API_URL: str = "http://127.0.0.1:5000"
    BROKER_URL: str = "amqp://guest:guest@127.0.0.1:5672//"
    PUBLISH_QUEUE: str = "publish"
    BOT_RUNTIME: str = "process"
    BOT_MODELS_DIR: Path = Path("var/bots")
    BOT_PORT_RANGE: tuple[int, int] = (5100, 5399)
    BOT_IMAGE: str = "faqbot-bot:latest"
    BOT_NETWORK: str = "faqbot"
    BOT_MODELS_VOLUME: str = "faqbot-bot-models"
    BOT_PUBLISH_PORTS: bool = False
    BOT_MEMORY_LIMIT: str = "1g"
    POOL_PORT: int = 5090
    POOL_IMAGE: str = "faqbot-pool:latest"
    POOL_NAME_PREFIX: str = "faqbot-pool-"
    POOL_OWNERS: int = 1000
    POOL_MEMORY_BUDGET_MB: int = 512
    POOL_CPUS: float = 1.0
    PARAPHRASES_PER_TOPIC: int = 10
    SLACK_BOT_TOKEN: str = ""
    SLACK_API_URL: str = "https://slack.com/api/"
    HTTP_TIMEOUT_S: float = 10.0
    TASK_MAX_RETRIES: int = 40
    TASK_SOFT_TIME_LIMIT_S: float = 480.0
    TASK_TIME_LIMIT_S: float = 540.0
    # How often the worker's beat asks publish-api to fail jobs whose worker is gone.
    SWEEP_INTERVAL_S: float = 60.0


# process, docker: owners' bots in pools (a local process; containers). rasa-*: one Rasa
# server per owner (a process; a container), ~0.5 GB each.
CHOICES = {"BOT_RUNTIME": ("process", "docker", "rasa-process", "rasa-docker")}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from `environ` (default os.environ). Raises SettingsError naming the variable."""
    return read_settings(Settings, "publish-broker", environ)


def read_settings(kind: type[T], service: str, environ: Mapping[str, str] | None = None) -> T:
    """An instance of the settings dataclass ``kind`` from ``environ`` (default os.environ):
    a field without a default is required. Raises SettingsError naming every bad variable."""
    environ = os.environ if environ is None else environ
    values, problems = {}, []
    for spec in fields(kind):
        raw = environ.get(spec.name, "").strip()
        if not raw:
            if spec.default is MISSING:
                problems.append(f"{spec.name} is required")
            continue
        try:
            values[spec.name] = _parse(spec.name, raw, spec.type)
        except ValueError as exc:
            problems.append(f"{spec.name}: {exc}")
    if problems:
        raise SettingsError(f"invalid {service} settings: " + "; ".join(problems))
    return kind(**values)


def _parse(name: str, raw: str, kind: str):
    if name in CHOICES and raw not in CHOICES[name]:
        raise ValueError(f"must be one of {', '.join(CHOICES[name])}")
    if name == "BOT_PORT_RANGE":
        low, _, high = raw.partition("-")
        if not (low.isdigit() and high.isdigit() and 0 < int(low) < int(high) < 65536):
            raise ValueError("must look like 5100-5399")
        return int(low), int(high)
    parsers = {"int": int, "float": float, "Path": Path, "bool": _boolean, "str": str}
    value = parsers[kind](raw)
    if kind in ("int", "float") and value <= 0:
        raise ValueError("must be positive")
    return value


def _boolean(raw: str) -> bool:
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be true or false")
