"""The action server's settings, read from the environment once and validated.

Every error names the variable at fault and never shows a secret's value.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping, Optional

# A shared secret shorter than this is guessable; init_config.sh generates 48 characters.
MIN_TOKEN_LENGTH = 16
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
# publish-api's MAX_IMPORT_BYTES default: a bigger file would be refused there anyway.
DEFAULT_IMPORT_MAX_BYTES = 5 * 1024 * 1024


class SettingsError(ValueError):
    """An environment variable is missing or malformed; the message names it."""


def actions_token(environ: Optional[Mapping[str, str]] = None) -> str:
    """ACTIONS_TOKEN: the secret the concierge sends and the action server requires.

    Raises:
        SettingsError: it is missing or shorter than MIN_TOKEN_LENGTH (never shows the value).
    """
    env = os.environ if environ is None else environ
    token = env.get("ACTIONS_TOKEN", "").strip()
    if len(token) < MIN_TOKEN_LENGTH:
        problem = "is not set" if not token else f"is shorter than {MIN_TOKEN_LENGTH} characters"
        raise SettingsError(f"ACTIONS_TOKEN {problem}: the action server refuses to run "
                            "without the secret the concierge must send")
    return token


@dataclass(frozen=True)
class Settings:
    """How to reach publish-api, the owners' bots and (for files shared in the DM) Slack."""

    publish_api_url: str = "http://127.0.0.1:5000"
    api_token: str = ""
    bot_auth_token: str = ""
    publish_api_timeout_s: float = 5.0
    publish_api_read_retries: int = 2
    bot_timeout_s: float = 2.0
    # Empty: files shared with the concierge are not imported (the user is told so).
    slack_bot_token: str = ""
    slack_api_url: str = DEFAULT_SLACK_API_URL
    import_max_bytes: int = DEFAULT_IMPORT_MAX_BYTES

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> Settings:
        """Reads PUBLISH_API_URL, API_TOKEN, BOT_AUTH_TOKEN, PUBLISH_API_TIMEOUT_S,
        PUBLISH_API_READ_RETRIES, BOT_TIMEOUT_S, SLACK_BOT_TOKEN, SLACK_API_URL and
        IMPORT_MAX_BYTES.

        Raises:
            SettingsError: a value is missing or malformed (the message names the variable).
        """
        env = os.environ if environ is None else environ
        url = env.get("PUBLISH_API_URL", cls.publish_api_url).rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise SettingsError("PUBLISH_API_URL must be an http(s) URL")
        return cls(
            publish_api_url=url,
            api_token=_required(env, "API_TOKEN"),
            bot_auth_token=env.get("BOT_AUTH_TOKEN", ""),
            publish_api_timeout_s=_number(env, "PUBLISH_API_TIMEOUT_S", 5.0, 0.1, 60.0),
            publish_api_read_retries=int(_number(env, "PUBLISH_API_READ_RETRIES", 2, 0, 5)),
            # The issue caps a question to a bot at 2 s.
            bot_timeout_s=_number(env, "BOT_TIMEOUT_S", 2.0, 0.1, 2.0),
            slack_bot_token=_bot_token(env),
            slack_api_url=_slack_api_url(env),
            import_max_bytes=int(_number(env, "IMPORT_MAX_BYTES", DEFAULT_IMPORT_MAX_BYTES,
                                         1, DEFAULT_IMPORT_MAX_BYTES)),
        )


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise SettingsError(f"{name} is not set: the action server needs it to call publish-api")
    return value


def _bot_token(env: Mapping[str, str]) -> str:
    token = env.get("SLACK_BOT_TOKEN", "").strip()
    if token and not token.startswith("xoxb-"):
        raise SettingsError("SLACK_BOT_TOKEN must be the concierge's bot token (xoxb-...)")
    return token


def _slack_api_url(env: Mapping[str, str]) -> str:
    url = env.get("SLACK_API_URL", "").strip() or DEFAULT_SLACK_API_URL
    if not url.startswith(("http://", "https://")):
        raise SettingsError("SLACK_API_URL must be an http(s) URL")
    return url if url.endswith("/") else url + "/"


def _number(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return float(default)
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value
