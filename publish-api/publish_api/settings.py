"""Typed settings, read from the environment once when the app is built."""

from __future__ import annotations

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(RuntimeError):
    """A setting is missing or invalid; the message names the environment variable."""


DEPRECATED_NAMES = {"BROKER_URL": "QUEUE_URL", "BROKER_TIMEOUT_S": "QUEUE_TIMEOUT_S"}


class Settings(BaseSettings):
    """publish-api configuration. Every field is read from the variable of the same name."""

    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore")

    # The admin token: every route. The clients' own tokens (optional) reach only the routes
    # each client calls (api/auth.py), so a leaked one cannot, say, re-point a bot.
    API_TOKEN: str = Field(min_length=16)
    BROKER_API_TOKEN: str | None = Field(default=None, min_length=16)
    ACTIONS_API_TOKEN: str | None = Field(default=None, min_length=16)
    PLAYGROUND_API_TOKEN: str | None = Field(default=None, min_length=16)
    DATABASE_URL: str = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
    QUEUE_URL: str = "amqp://guest:guest@127.0.0.1:5672//"  # the publish queue (Celery's broker)
    PUBLISH_QUEUE: str = "publish"
    PUBLISH_API_HOST: str = "127.0.0.1"
    PUBLISH_API_PORT: int = Field(default=5000, ge=1, le=65535)
    MAX_TOPICS_PER_OWNER: int = Field(default=500, ge=1)
    # An import file (the other routes take at most 256 KiB): 500 long topics fit.
    MAX_IMPORT_BYTES: int = Field(default=5 * 1024 * 1024, ge=1024)
    QUEUE_TIMEOUT_S: float = Field(default=5.0, gt=0)
    JOB_LEASE_S: float = Field(default=600.0, gt=0)
    QUEUED_RESEND_S: float = Field(default=120.0, gt=0)
    HEALTH_CACHE_S: float = Field(default=10.0, ge=0)
    KEEP_VERSIONS: int = Field(default=5, ge=1)
    # The learning loop (docs/publish-api.md, "Questions and the ask log"): open questions an
    # owner can have, asks one person can put to one owner per hour, and the owner's digest:
    # sent QUESTION_DIGEST_DELAY_S after a question (so questions asked together come together),
    # at most once per QUESTION_DIGEST_PERIOD_S.
    MAX_OPEN_QUESTIONS_PER_OWNER: int = Field(default=200, ge=1)
    ASKS_PER_ASKER_PER_HOUR: int = Field(default=30, ge=1)
    QUESTION_DIGEST_DELAY_S: float = Field(default=30.0, ge=0)
    QUESTION_DIGEST_PERIOD_S: float = Field(default=600.0, ge=0)
    LOG_LEVEL: str = "INFO"
    # The deprecated names of QUEUE_URL and QUEUE_TIMEOUT_S, read when the new one is unset.
    BROKER_URL: str | None = None
    BROKER_TIMEOUT_S: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _deprecated_names(self) -> Settings:
        for old, new in DEPRECATED_NAMES.items():
            if getattr(self, old) is not None and new not in self.model_fields_set:
                setattr(self, new, getattr(self, old))
        return self

    def deprecation_notices(self) -> list[str]:
        """One line per deprecated variable that is set, naming the one to use instead."""
        return [f"{old} is deprecated: name it {new} ({old} is read only when {new} is unset)"
                for old, new in DEPRECATED_NAMES.items() if getattr(self, old) is not None]

    @field_validator("BROKER_API_TOKEN", "ACTIONS_API_TOKEN", "PLAYGROUND_API_TOKEN",
                     "BROKER_URL", "BROKER_TIMEOUT_S", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: str | None) -> str | None:
        return value or None

    @model_validator(mode="after")
    def _tokens_differ(self) -> Settings:
        # One value for two clients would give one of them the other's routes.
        tokens = [t for t in (self.API_TOKEN, self.BROKER_API_TOKEN, self.ACTIONS_API_TOKEN,
                              self.PLAYGROUND_API_TOKEN) if t]
        if len(set(tokens)) != len(tokens):
            raise ValueError("API_TOKEN, BROKER_API_TOKEN, ACTIONS_API_TOKEN and "
                             "PLAYGROUND_API_TOKEN must differ")
        return self

    @field_validator("DATABASE_URL")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("postgresql", "sqlite")):
            raise ValueError("must be a postgresql:// or sqlite:// URL")
        return value


def load_settings(overrides: dict | None = None) -> Settings:
    """Read settings from the environment, with `overrides` taking precedence.

    Raises SettingsError naming each variable that is missing or invalid (never its value).
    """
    try:
        return Settings(**(overrides or {}))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise SettingsError(f"invalid publish-api settings: {problems}") from None
