"""Entry point of one bot (a process of ProcessRuntime, or the bot image's command).

    BOT_AUTH_TOKEN=... BOT_MODEL=/models python -m publish_broker.bot_server

It runs `rasa run --enable-api` with the token handed over inside the process: Rasa takes the
token only as a command-line argument, and a real command line is readable by anyone on the host
(`ps`, `docker top`). Settings: ``BotSettings``.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Dict, Optional

from pydantic import Field

from publish_broker.settings import EnvSettings, SettingsError, load


class BotSettings(EnvSettings):
    """A per-owner bot's settings; the runtimes set them (runtime/process.py, runtime/docker.py).
    A bot never runs without a token."""

    BOT_AUTH_TOKEN: str
    # A model file, or a directory (Rasa then loads its newest *.tar.gz).
    BOT_MODEL: str = "/models"
    BOT_PORT: int = Field(5005, ge=1, le=65535)
    BOT_INTERFACE: str = "0.0.0.0"


def load_bot_settings(overrides: Optional[Dict[str, Any]] = None) -> BotSettings:
    """Settings from the environment, ``overrides`` taking precedence.

    Raises SettingsError naming every variable that is missing or invalid (never its value).
    """
    return load(BotSettings, "bot", overrides)


def rasa_arguments(settings: BotSettings) -> list[str]:
    """The `rasa run` arguments for these settings."""
    return ["rasa", "run", "--enable-api", "--auth-token", settings.BOT_AUTH_TOKEN,
            "--interface", settings.BOT_INTERFACE, "--port", str(settings.BOT_PORT),
            "--model", settings.BOT_MODEL, "--quiet",
            # An empty credentials file: no input channel. Without it Rasa opens its REST
            # channel, /webhooks/rest/webhook, which answers anyone, token or not.
            "--credentials", os.devnull]


def main() -> None:
    try:
        settings = load_bot_settings()
    except SettingsError as exc:
        sys.exit(f"bot cannot start: {exc}")
    sys.argv = rasa_arguments(settings)
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
