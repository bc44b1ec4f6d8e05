"""The concierge's Slack output channel."""

from __future__ import annotations

from typing import Any

from rasa.core.channels.slack import SlackBot
from slack_sdk.web.async_client import AsyncWebClient


class ConfigurableSlackBot(SlackBot):
    """Rasa's Slack output channel, talking to the Web API at a configurable base URL (Rasa's
    hard-codes https://slack.com/api/)."""

    def __init__(self, token: str, api_url: str, **kwargs: Any) -> None:
        super().__init__(token, **kwargs)
        self.client = AsyncWebClient(token, base_url=api_url, proxy=self.proxy)
