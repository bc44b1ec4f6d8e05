"""Typed settings, read from the environment once when the app is built."""

from __future__ import annotations

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .workspace import NAME_PATTERN


class SettingsError(RuntimeError):
    """A setting is missing or invalid; the message names the environment variable."""


class Settings(BaseSettings):
    """Playground configuration. Every field is read from the variable of the same name."""

    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore")

    PLAYGROUND_HOST: str = "127.0.0.1"
    PLAYGROUND_PORT: int = Field(default=5080, ge=1, le=65535)
    # The Slack app's credentials, as the concierge and the broker have them: the Web API
    # stand-in accepts only this bot token, and requests to the concierge are signed with it.
    SLACK_BOT_TOKEN: str = Field(min_length=8)
    SLACK_SIGNING_SECRET: str = Field(min_length=8)
    CONCIERGE_URL: str = "http://127.0.0.1:5005"
    PUBLISH_API_URL: str = "http://127.0.0.1:5000"
    # A publish-api token that may read owners' topics, bots and ask log (the side panel).
    PLAYGROUND_API_TOKEN: str = Field(min_length=16)
    PLAYGROUND_TEAM_ID: str = Field(default="T0LOCAL", pattern=r"^T[A-Z0-9]{1,20}$")
    # The people of the workspace at start (more can be added on the page).
    PLAYGROUND_PEOPLE: str = "Alice,Bob,Carol"
    HTTP_TIMEOUT_S: float = Field(default=5.0, gt=0)

    @field_validator("CONCIERGE_URL", "PUBLISH_API_URL")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")

    @field_validator("PLAYGROUND_PEOPLE")
    @classmethod
    def _plain_names(cls, value: str) -> str:
        names = [name.strip() for name in value.split(",") if name.strip()]
        if not all(NAME_PATTERN.match(name) for name in names):
            raise ValueError("comma-separated names, each a letter then at most 29 letters, "
                             "digits, spaces, dots, dashes or underscores")
        if len({name.lower() for name in names}) != len(names):
            raise ValueError("each name once")
        return value

    def people(self) -> list[str]:
        """The display names in PLAYGROUND_PEOPLE."""
        return [name.strip() for name in self.PLAYGROUND_PEOPLE.split(",") if name.strip()]


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
        raise SettingsError(f"invalid playground settings: {problems}") from None
