"""The concierge's settings, read from the environment once when Rasa builds the connector.

Rasa 3.6 pins pydantic 1, so these are pydantic v1 ``BaseSettings`` (publish-api's are v2's):
every field is read from the variable of the same name, and ``load_settings`` turns a
validation error into a SettingsError naming each bad variable, never its value. SettingsError
is Rasa's InvalidConfigException, so `rasa run` stops with the message.
"""

from __future__ import annotations

import secrets
from typing import Any, Dict, Optional

from pydantic import BaseSettings, Field, ValidationError, root_validator, validator
from rasa.shared.exceptions import InvalidConfigException

APP_TOKEN_PREFIX = "xapp-"


class SettingsError(InvalidConfigException):
    """A setting is missing or invalid; the message names the variable, never its value."""


class Settings(BaseSettings):
    """The Slack app's credentials, the Web API base, and the action server's secret (README
    "capture-bot")."""

    class Config:
        case_sensitive = True
        anystr_strip_whitespace = True
        extra = "ignore"

    SLACK_BOT_TOKEN: str
    # Set: Socket Mode (socket_mode.py) instead of the webhook. Declared before the signing
    # secret, whose check depends on it.
    SLACK_APP_TOKEN: Optional[str] = None
    SLACK_SIGNING_SECRET: Optional[str] = None
    SLACK_API_URL: str = "https://slack.com/api/"
    # Not used here: Rasa's endpoints file sends it to the action server. Checked here so the
    # concierge refuses to start without it instead of failing every action call.
    ACTIONS_TOKEN: str = Field(min_length=16)

    @root_validator(pre=True)
    def _empty_is_unset(cls, values: Dict[str, Any]) -> Dict[str, Any]:
        # Compose's .env files leave optional variables empty: their defaults apply.
        return {name: value for name, value in values.items()
                if not (isinstance(value, str) and not value.strip())}

    @validator("SLACK_APP_TOKEN")
    def _app_level_token(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and not value.startswith(APP_TOKEN_PREFIX):
            raise ValueError("must be an app-level token starting with xapp- (Basic Information "
                             "> App-Level Tokens, scope connections:write); unset it to "
                             "receive webhooks instead")
        return value

    @validator("SLACK_SIGNING_SECRET", always=True)
    def _secret_for_the_webhook(cls, value: Optional[str], values: Dict[str, Any]) -> str:
        if value:
            return value
        if "SLACK_APP_TOKEN" not in values:  # invalid: reported for itself
            return ""
        if values["SLACK_APP_TOKEN"] is None:
            raise ValueError("is required unless SLACK_APP_TOKEN is set (Socket Mode)")
        # Socket Mode serves no webhook, so no signature is ever checked; Rasa's SlackInput
        # refuses to start without a secret, though.
        return secrets.token_hex(32)

    @validator("SLACK_API_URL")
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
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
        raise SettingsError(f"invalid capture-bot settings: {problems}") from None
