"""The action server's settings, read from the environment once at start-up and validated.

Rasa 3.6 pins pydantic 1, so these are pydantic v1 ``BaseSettings`` (publish-api's are v2's):
every field is read from the variable of the same name, and ``load_settings`` turns a
validation error into a SettingsError naming each bad variable, never its value.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from pydantic import BaseSettings, Field, ValidationError, root_validator, validator

# publish-api's MAX_IMPORT_BYTES default: a bigger file would be refused there anyway.
PUBLISH_API_MAX_IMPORT_BYTES = 5 * 1024 * 1024


class SettingsError(ValueError):
    """An environment variable is missing or malformed; the message names it, never its value."""


class Settings(BaseSettings):
    """How to reach publish-api, the owners' bots and (for files shared in the DM) Slack, and
    the secret the concierge must send (README "capture-actions")."""

    class Config:
        case_sensitive = True
        anystr_strip_whitespace = True
        extra = "ignore"

    # init_config.sh generates 48 characters; a shorter secret is guessable.
    ACTIONS_TOKEN: str = Field(min_length=16)
    API_TOKEN: str = Field(min_length=1)
    PUBLISH_API_URL: str = "http://127.0.0.1:5000"
    BOT_AUTH_TOKEN: str = ""
    PUBLISH_API_TIMEOUT_S: float = Field(5.0, ge=0.1, le=60)
    PUBLISH_API_READ_RETRIES: int = Field(2, ge=0, le=5)
    # The issue caps a question to a bot at 2 s.
    BOT_TIMEOUT_S: float = Field(2.0, ge=0.1, le=2)
    # Empty: files shared with the concierge are not imported (the user is told so).
    SLACK_BOT_TOKEN: str = Field("", regex=r"^(xoxb-.*)?$")
    SLACK_API_URL: str = "https://slack.com/api/"
    IMPORT_MAX_BYTES: int = Field(PUBLISH_API_MAX_IMPORT_BYTES, ge=1,
                                  le=PUBLISH_API_MAX_IMPORT_BYTES)

    @root_validator(pre=True)
    def _empty_is_unset(cls, values: Dict[str, Any]) -> Dict[str, Any]:
        # Compose's .env files leave optional variables empty: their defaults apply.
        return {name: value for name, value in values.items()
                if not (isinstance(value, str) and not value.strip())}

    @validator("PUBLISH_API_URL", "SLACK_API_URL")
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value

    @validator("PUBLISH_API_URL")
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @validator("SLACK_API_URL")
    def _trailing_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"


def load_settings(overrides: Optional[Dict[str, Any]] = None) -> Settings:
    """The settings from the environment, ``overrides`` taking precedence.

    Raises:
        SettingsError: a variable is missing or invalid (each is named, never its value).
    """
    try:
        return Settings(**(overrides or {}))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
                             for err in exc.errors())
        raise SettingsError(f"invalid capture-actions settings: {problems}") from None
