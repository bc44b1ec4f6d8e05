"""De-duplication of Slack's deliveries: Slack retries an event it got no quick answer for, may
deliver a channel mention as both `message` and `app_mention`, and a click twice."""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any, Dict, Iterable, List, Optional

from connectors.payloads import team_of

# Slack retries an event up to three times within about five minutes.
DEDUP_TTL_SECONDS = 15 * 60
DEDUP_MAX_KEYS = 20_000


class RecentKeys:
    """Remembers keys for a while, to recognise an event Slack delivers more than once."""

    def __init__(self, ttl_seconds: float = DEDUP_TTL_SECONDS, max_keys: int = DEDUP_MAX_KEYS):
        self._ttl = ttl_seconds
        self._max = max_keys
        self._seen: OrderedDict[str, float] = OrderedDict()

    def first_time(self, keys: Iterable[Optional[str]]) -> bool:
        """Records `keys`; True unless one of them was recorded within the TTL."""
        now = time.monotonic()
        self._expire(now)
        keys = [key for key in keys if key]
        if any(key in self._seen for key in keys):
            return False
        for key in keys:
            self._seen[key] = now
        return True

    def _expire(self, now: float) -> None:
        while self._seen and (
            len(self._seen) > self._max or now - next(iter(self._seen.values())) > self._ttl
        ):
            self._seen.popitem(last=False)


def event_keys(body: Dict[str, Any]) -> List[Optional[str]]:
    """Keys naming one Slack message: a retry repeats the event id; a mention delivered as
    both `message` and `app_mention` repeats channel and timestamp."""
    event = body.get("event") or {}
    message_key = None
    if event.get("channel") and event.get("ts"):
        message_key = f"msg:{team_of(body)}:{event['channel']}:{event['ts']}"
    return [f"event:{body['event_id']}" if body.get("event_id") else None, message_key]


def interaction_keys(payload: Dict[str, Any]) -> List[Optional[str]]:
    """Keys naming one click: Slack gives each a `trigger_id`, and each action an
    `action_ts`; a click delivered twice repeats both."""
    user = payload.get("user") or {}
    action_ts = (payload.get("actions") or [{}])[0].get("action_ts")
    return [f"trigger:{payload['trigger_id']}" if payload.get("trigger_id") else None,
            f"action:{user.get('team_id')}:{user.get('id')}:{action_ts}" if action_ts else None]
