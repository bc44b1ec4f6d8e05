"""The action server's shared objects, built on first use (never at import time)."""

from __future__ import annotations

import asyncio
import functools
from typing import Any, Callable, TypeVar

from actions.publish_api import PublishApiClient
from actions.settings import Settings, load_settings

T = TypeVar("T")


@functools.lru_cache(maxsize=1)
def settings() -> Settings:
    """The validated settings, read once (the server reads them at start, server.main).

    Raises SettingsError naming every bad variable."""
    return load_settings()


@functools.lru_cache(maxsize=1)
def publish_api() -> PublishApiClient:
    """The publish-api client. Raises SettingsError naming a bad variable."""
    config = settings()
    return PublishApiClient(config.PUBLISH_API_URL, config.API_TOKEN,
                            config.PUBLISH_API_TIMEOUT_S, config.PUBLISH_API_READ_RETRIES)


def reset() -> None:
    """Forgets settings and client, so the next use reads the environment again."""
    settings.cache_clear()
    publish_api.cache_clear()


async def blocking(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Runs blocking HTTP in a worker thread so one slow call never stalls other users."""
    return await asyncio.to_thread(function, *args, **kwargs)
