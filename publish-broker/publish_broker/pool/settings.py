"""Settings of a bot pool process, read from the environment once at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Optional

from pydantic import Field

from publish_broker.settings import EnvSettings, default, load


class PoolSettings(EnvSettings):
    """A bot pool's settings (README "The bot pool")."""

    BOT_AUTH_TOKEN: str
    POOL_MODELS_DIR: Path = Path("/models")
    POOL_HOST: str = "0.0.0.0"
    POOL_PORT: int = Field(5005, ge=1, le=65535)
    # The broker passes its own (the same setting) to the pools it starts.
    POOL_MEMORY_BUDGET_MB: int = Field(default("POOL_MEMORY_BUDGET_MB"), gt=0)
    POOL_IDLE_EVICT_S: float = Field(3600.0, gt=0)
    POOL_THREADS: int = Field(2, gt=0)


def load_pool_settings(overrides: Optional[Dict[str, Any]] = None) -> PoolSettings:
    """Settings from the environment, ``overrides`` taking precedence.

    Raises SettingsError naming every variable that is missing or invalid (never its value).
    """
    return load(PoolSettings, "bot pool", overrides)
