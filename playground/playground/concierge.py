"""Requests to the concierge's Slack webhook, signed as Slack signs them."""

from __future__ import annotations

import logging
from typing import Any, Dict

import requests

from .slack_protocol import event_body, interaction_body, signed_headers

logger = logging.getLogger(__name__)
WEBHOOK_PATH = "/webhooks/slack/webhook"


class DeliveryError(RuntimeError):
    """The concierge could not be reached or refused the request; the message says which."""


class Concierge:
    """The concierge's webhook at `url`, reached with Slack's signing secret."""

    def __init__(self, url: str, signing_secret: str, timeout: float):
        self.webhook = url.rstrip("/") + WEBHOOK_PATH
        self._secret = signing_secret
        self._timeout = timeout

    def send_event(self, envelope: Dict[str, Any]) -> None:
        """Delivers an Events API envelope. Raises DeliveryError."""
        self._post(event_body(envelope), "application/json")

    def send_interaction(self, payload: Dict[str, Any]) -> None:
        """Delivers an interactivity payload (a button click). Raises DeliveryError."""
        self._post(interaction_body(payload), "application/x-www-form-urlencoded")

    def _post(self, body: bytes, content_type: str) -> None:
        headers = signed_headers(self._secret, body, content_type)
        try:
            answer = requests.post(self.webhook, data=body, headers=headers,
                                   timeout=self._timeout)
        except requests.RequestException as exc:
            logger.warning("the concierge is unreachable: %s", type(exc).__name__)
            raise DeliveryError("The concierge is not reachable (is it still starting?).") from None
        if answer.status_code != 200:
            logger.warning("the concierge answered %s", answer.status_code)
            raise DeliveryError(f"The concierge refused the message (HTTP {answer.status_code}).")
