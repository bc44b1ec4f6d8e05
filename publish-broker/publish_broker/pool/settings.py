"""Settings of a bot pool process, read from the environment once at start-up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from publish_broker.settings import read_settings


@dataclass(frozen=True)
class PoolSettings:
    BOT_AUTH_TOKEN: str
    POOL_MODELS_DIR: Path = Path("/models")
    POOL_HOST: str = "0.0.0.0"
    POOL_PORT: int = 5005
    POOL_MEMORY_BUDGET_MB: int = 512
    POOL_IDLE_EVICT_S: float = 3600.0
    POOL_THREADS: int = 2


def load_pool_settings(environ: Mapping[str, str] | None = None) -> PoolSettings:
    """Settings from ``environ`` (default os.environ). Raises SettingsError naming the variable."""
    return read_settings(PoolSettings, "bot pool", environ)
