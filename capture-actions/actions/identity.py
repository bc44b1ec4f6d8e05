"""Who is talking: Slack team and user ids (never names) taken from the Slack connector."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict, Optional

from rasa_sdk import Tracker

SLACK_ID = re.compile(r"^[A-Z0-9]{1,32}$")
# The connector's sender id: "<team>:<user>", optionally followed by "_<channel>[_<thread>]".
SENDER_ID = re.compile(r"^([A-Z0-9]{1,32}):([A-Z0-9]{1,32})(?:_|$)")


class UnknownSender(Exception):
    """The message did not come through the Slack connector: no team and user ids."""


@dataclass(frozen=True)
class SlackUser:
    """A Slack user: the ids identify them; the display name is only for greetings."""

    team_id: str
    user_id: str
    display_name: str = ""

    @property
    def key(self) -> str:
        """`team:user`, for logs."""
        return f"{self.team_id}:{self.user_id}"


def sender(tracker: Tracker) -> SlackUser:
    """The user who sent the latest message.

    Raises:
        UnknownSender: neither the metadata nor the sender id carry Slack team and user ids.
    """
    metadata = _metadata(tracker)
    team, user = metadata.get("team_id", ""), metadata.get("user_id", "")
    if not (SLACK_ID.match(team or "") and SLACK_ID.match(user or "")):
        match = SENDER_ID.match(tracker.sender_id or "")
        if not match:
            raise UnknownSender(tracker.sender_id)
        team, user = match.groups()
    return SlackUser(team, user, str(metadata.get("display_name") or ""))


def _metadata(tracker: Tracker) -> Dict[str, Any]:
    latest: Optional[Dict[str, Any]] = tracker.latest_message or {}
    metadata = latest.get("metadata")
    if metadata:
        return metadata
    for event in reversed(tracker.events or []):
        if event.get("event") == "user" and event.get("metadata"):
            return event["metadata"]
    return {}
