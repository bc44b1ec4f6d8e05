"""Typed settings of the broker, read from the environment once at start-up.

Rasa 3.6 pins pydantic 1, so these are pydantic v1 ``BaseSettings`` (publish-api's are v2's):
every field is read from the variable of the same name, and ``load_settings`` turns a
validation error into a SettingsError naming each bad variable, never its value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Literal, Optional, Tuple, Type, TypeVar

from pydantic import BaseSettings, Field, ValidationError, root_validator, validator

T = TypeVar("T", bound="EnvSettings")


class SettingsError(RuntimeError):
    """A setting is missing or invalid; the message names the variable, never its value."""


class EnvSettings(BaseSettings):
    """What every settings class of the broker shares: an empty variable counts as unset (so
    its default applies, or it is reported missing), and values are never parsed as JSON."""

    class Config:
        case_sensitive = True
        anystr_strip_whitespace = True
        extra = "ignore"

        @classmethod
        def parse_env_var(cls, field_name: str, raw_val: str) -> Any:
            return raw_val

    @root_validator(pre=True)
    def _empty_is_unset(cls, values: Dict[str, Any]) -> Dict[str, Any]:
        return {name: value for name, value in values.items()
                if not (isinstance(value, str) and not value.strip())}


class Settings(EnvSettings):
    """The broker worker's settings (README "publish-broker")."""

    API_TOKEN: str
    BOT_AUTH_TOKEN: str
    PUBLISH_API_URL: str = "http://127.0.0.1:5000"
    QUEUE_URL: str = "amqp://guest:guest@127.0.0.1:5672//"  # the publish queue (Celery's broker)
    BROKER_URL: str = ""  # the deprecated name of QUEUE_URL, read when QUEUE_URL is unset
    PUBLISH_QUEUE: str = "publish"
    # process, docker: owners' bots in pools (a local process; containers). rasa-*: one Rasa
    # server per owner (a process; a container), ~0.5 GB each.
    BOT_RUNTIME: Literal["process", "docker", "rasa-process", "rasa-docker"] = "process"
    BOT_MODELS_DIR: Path = Path("var/bots")
    BOT_PORT_RANGE: Tuple[int, int] = (5100, 5399)
    BOT_IMAGE: str = "faqbot-bot:latest"
    BOT_NETWORK: str = "faqbot"
    BOT_MODELS_VOLUME: str = "faqbot-bot-models"
    BOT_PUBLISH_PORTS: bool = False
    BOT_MEMORY_LIMIT: str = "1g"
    POOL_PORT: int = Field(5090, ge=1, le=65535)
    POOL_IMAGE: str = "faqbot-pool:latest"
    POOL_NAME_PREFIX: str = "faqbot-pool-"
    POOL_OWNERS: int = Field(1000, gt=0)
    POOL_MEMORY_BUDGET_MB: int = Field(512, gt=0)
    POOL_CPUS: float = Field(1.0, gt=0)
    PARAPHRASES_PER_TOPIC: int = Field(10, gt=0)
    SLACK_BOT_TOKEN: str = ""
    SLACK_API_URL: str = "https://slack.com/api/"
    HTTP_TIMEOUT_S: float = Field(10.0, gt=0)
    TASK_MAX_RETRIES: int = Field(40, gt=0)
    TASK_SOFT_TIME_LIMIT_S: float = Field(480.0, gt=0)
    TASK_TIME_LIMIT_S: float = Field(540.0, gt=0)
    # How long a worker's child may take to import Rasa, train once and start the bots' pool.
    WARM_UP_TIMEOUT_S: float = Field(300.0, gt=0)
    # How often the worker's beat asks publish-api to fail jobs whose worker is gone.
    SWEEP_INTERVAL_S: float = Field(60.0, gt=0)

    @validator("BOT_PORT_RANGE", pre=True)
    def _port_range(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        low, _, high = value.partition("-")
        if not (low.isdigit() and high.isdigit() and 0 < int(low) < int(high) < 65536):
            raise ValueError("must look like 5100-5399")
        return int(low), int(high)

    @validator("TASK_TIME_LIMIT_S")
    def _hard_after_soft(cls, value: float, values: Dict[str, Any]) -> float:
        # Over RabbitMQ, Celery arms the hard limit only once the soft one has passed.
        soft = values.get("TASK_SOFT_TIME_LIMIT_S")
        if soft is not None and value <= soft:
            raise ValueError("must be greater than TASK_SOFT_TIME_LIMIT_S")
        return value

    @root_validator(pre=True)
    def _deprecated_names(cls, values: Dict[str, Any]) -> Dict[str, Any]:
        if values.get("BROKER_URL") and not values.get("QUEUE_URL"):
            return {**values, "QUEUE_URL": values["BROKER_URL"]}
        return values


DEPRECATED_BROKER_URL = ("BROKER_URL is deprecated: name the publish queue's URL QUEUE_URL "
                         "(BROKER_URL is read only when QUEUE_URL is unset)")


def deprecation_notices(settings: Settings) -> List[str]:
    """One line per deprecated variable that is set, naming the one to use instead."""
    return [DEPRECATED_BROKER_URL] if settings.BROKER_URL else []


def default(name: str) -> Any:
    """The default of the broker's setting ``name``, for code that takes it as an argument."""
    return Settings.__fields__[name].default


def load_settings(overrides: Optional[Dict[str, Any]] = None) -> Settings:
    """The broker's settings from the environment, ``overrides`` taking precedence.

    Raises SettingsError naming every variable that is missing or invalid (never its value).
    """
    return load(Settings, "publish-broker", overrides)


def load(kind: Type[T], service: str, overrides: Optional[Dict[str, Any]] = None) -> T:
    """An instance of ``kind`` from the environment, ``overrides`` taking precedence.

    Raises SettingsError naming every variable that is missing or invalid (never its value).
    """
    try:
        return kind(**(overrides or {}))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
                             for err in exc.errors())
        raise SettingsError(f"invalid {service} settings: {problems}") from None
