"""Display names of Slack users, looked up with `users.info` and kept in a bounded cache (a
workspace of many users cannot grow the concierge's memory without end)."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import Any, Optional

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

logger = logging.getLogger(__name__)

NAME_CACHE_SIZE = 5_000
PROFILE_TIMEOUT_SECONDS = 2.0


class LruCache:
    """At most `size` entries; adding one more forgets the least recently used."""

    def __init__(self, size: int = NAME_CACHE_SIZE) -> None:
        self._size = size
        self._entries: OrderedDict[str, str] = OrderedDict()

    def get(self, key: str) -> Optional[str]:
        """The value of `key` (now the most recently used), or None."""
        if key not in self._entries:
            return None
        self._entries.move_to_end(key)
        return self._entries[key]

    def put(self, key: str, value: str) -> None:
        """Stores `value`, forgetting the least recently used entry when full."""
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class DisplayNames:
    """Users' display names from Slack's Web API, each looked up once while it stays cached."""

    def __init__(self, bot_token: str, api_url: str, size: int = NAME_CACHE_SIZE) -> None:
        self._token = bot_token
        self._api_url = api_url
        self._names = LruCache(size)

    async def lookup(self, team_id: Optional[str], user_id: Optional[str]) -> str:
        """The user's display name; "" when Slack cannot say (logged, never raised)."""
        key = f"{team_id}:{user_id}"
        name = self._names.get(key)
        if name is None and user_id:
            client = AsyncWebClient(self._token, base_url=self._api_url,
                                    timeout=PROFILE_TIMEOUT_SECONDS)
            try:
                name = profile_name(await client.users_info(user=user_id))
            except (SlackApiError, aiohttp.ClientError, asyncio.TimeoutError) as error:
                logger.warning("users.info failed for %s: %s", key, type(error).__name__)
                return ""
            self._names.put(key, name)
        return name or ""


def profile_name(answer: Any) -> str:
    """The name to call a user by, from Slack's `users.info` answer."""
    user = answer.get("user") or {}
    profile = user.get("profile") or {}
    return (
        profile.get("display_name") or profile.get("real_name") or user.get("real_name")
        or user.get("name") or ""
    )
