"""The HTTP API of a Rasa bot (``rasa run --enable-api --auth-token``), as the runtimes drive it
to load a model and see which one answers; a pool answers for each of its owners the same way
(``<pool>/bots/<bot name>``, publish_broker.pool.server).

Bots name their model files ``<digest>.tar.gz`` (publish_broker.modelfiles), so the model a bot
reports in ``GET /status`` names its digest.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import time
import urllib.parse
import urllib.request
from collections.abc import Callable

from publish_broker.errors import DeployError
from publish_broker.modelfiles import digest_of
from publish_broker.rasa_env import RASA_ENV

logger = logging.getLogger(__name__)

# What every bot and pool process gets (rasa_env.py).
BOT_ENV = RASA_ENV


class BotApi:
    """The HTTP API of one Rasa bot, authenticated with its token.

    Uses urllib on purpose: the token travels in the query string (Rasa accepts it nowhere
    else) and urllib never logs request lines. Error messages never include the URL.
    """

    def __init__(self, endpoint: str, auth_token: str) -> None:
        self.endpoint = endpoint.rstrip("/")
        self._token = auth_token

    def current_digest(self, timeout: float = 3.0) -> str | None:
        """The digest of the model the bot answers with, or None when it does not answer."""
        try:
            body = self._request("GET", "/status", None, timeout)
        except (OSError, http.client.HTTPException, ValueError):
            return None
        return digest_of(os.path.basename(str(body.get("model_file") or "")))

    def load_model(self, path_in_bot: str, timeout: float) -> None:
        """Have the bot load another model; it answers with the old one until this returns.

        Raises:
            DeployError: the bot refused or failed to load the model.
        """
        try:
            self._request("PUT", "/model", {"model_file": path_in_bot}, timeout)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            logger.error("bot at %s failed to load %s: %s", self.endpoint, path_in_bot, exc)
            raise DeployError("The bot could not load the new version.") from exc

    def wait_for_model(self, digest: str, timeout: float, alive: Callable[[], bool]) -> None:
        """Poll until the bot answers with ``digest``.

        Raises:
            DeployError: the bot stopped (``alive()`` turned false) or the deadline passed.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.current_digest(timeout=2.0) == digest:
                return
            if not alive():
                raise DeployError("The bot stopped while starting.")
            time.sleep(0.2)  # a poll interval, not synchronisation: the deadline bounds it
        raise DeployError(f"The bot did not become ready within {timeout:.0f} seconds.")

    def _request(self, method: str, path: str, payload: dict | None, timeout: float) -> dict:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(
            f"{self.endpoint}{path}?token={urllib.parse.quote(self._token)}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
        return json.loads(raw) if raw else {}
