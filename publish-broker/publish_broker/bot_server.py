"""Entry point of one bot (a process of ProcessRuntime, or the bot image's command).

    BOT_AUTH_TOKEN=... BOT_MODEL=/models python -m publish_broker.bot_server

It runs `rasa run --enable-api` with the token handed over inside the process: Rasa takes the
token only as a command-line argument, and a real command line is readable by anyone on the host
(`ps`, `docker top`). Settings: BOT_AUTH_TOKEN (required), BOT_MODEL (a model file or a directory,
default /models), BOT_PORT (5005), BOT_INTERFACE (0.0.0.0).
"""

from __future__ import annotations

import os
import sys


def rasa_arguments(environ: dict[str, str]) -> list[str]:
    """The `rasa run` arguments for these settings. Raises SystemExit naming a missing one."""
    token = environ.get("BOT_AUTH_TOKEN", "")
    if not token:
        raise SystemExit("BOT_AUTH_TOKEN is not set: a bot never runs without a token")
    return ["rasa", "run", "--enable-api", "--auth-token", token,
            "--interface", environ.get("BOT_INTERFACE", "0.0.0.0"),
            "--port", environ.get("BOT_PORT", "5005"),
            "--model", environ.get("BOT_MODEL", "/models"), "--quiet",
            # An empty credentials file: no input channel. Without it Rasa opens its REST
            # channel, /webhooks/rest/webhook, which answers anyone, token or not.
            "--credentials", os.devnull]


def main() -> None:
    sys.argv = rasa_arguments(dict(os.environ))
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
