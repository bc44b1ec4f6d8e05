"""Telling owners in Slack that their bot is live, or why it is not."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

logger = logging.getLogger(__name__)


class SlackNotifier:
    """Posts a DM to the owner through chat.postMessage at a configurable Web API base URL."""

    def __init__(self, token: str, api_url: str, timeout: int = 10):
        self.client = WebClient(token=token, base_url=api_url, timeout=timeout) if token else None

    def tell(self, user_id: str, text: str) -> bool:
        """Post `text` to the owner's DM. Returns False (and logs) when Slack refused or failed:
        a notification must never undo a publish that went live."""
        if self.client is None:
            logger.info("no SLACK_BOT_TOKEN: not notifying %s", user_id)
            return False
        try:
            self.client.chat_postMessage(channel=user_id, text=text)
            return True
        except SlackApiError as exc:
            logger.warning("Slack refused to notify %s: %s", user_id, exc.response.get("error"))
        except (SlackClientError, OSError) as exc:
            logger.warning("could not reach Slack to notify %s: %s", user_id, type(exc).__name__)
        return False


def live_message(topic_count: int) -> str:
    topics = "1 topic" if topic_count == 1 else f"{topic_count} topics"
    return (f":white_check_mark: Your bot is live with {topics}. "
            "Anyone can now ask you with `ask @you <question>`.")


def retired_message() -> str:
    return "Your bot is retired: you have no topics left, so it no longer answers questions."


def failed_message(reason: str) -> str:
    return (f":red_circle: Publishing failed: {reason} "
            "Your previous version (if any) is still answering.")
