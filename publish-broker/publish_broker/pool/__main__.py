"""Entry point of a bot pool (a local process of the broker's pool runtime, or the pool image):

    BOT_AUTH_TOKEN=... POOL_MODELS_DIR=/models python -m publish_broker.pool

Settings: publish_broker.pool.settings (README "bot pool"). Loads the encoder (and encodes the
matcher's background questions) before it listens, so the first ask is not slowed by it, and
refuses to start, naming the cause, without it.
"""

from __future__ import annotations

import logging
import sys

from publish_broker import logs
from publish_broker.errors import EncoderUnavailable
from publish_broker.matcher import warm_up
from publish_broker.pool.registry import BotRegistry
from publish_broker.pool.server import create_app
from publish_broker.pool.settings import load_pool_settings
from publish_broker.settings import SettingsError

logger = logging.getLogger("publish_broker.pool")


def main() -> None:
    logs.configure()
    try:
        settings = load_pool_settings()
        warm_up()
    except (SettingsError, EncoderUnavailable, OSError) as exc:
        sys.exit(f"bot pool cannot start: {exc}")
    bots = BotRegistry(settings.POOL_MODELS_DIR, settings.POOL_MEMORY_BUDGET_MB * 1024 * 1024,
                       settings.POOL_IDLE_EVICT_S)
    app = create_app(bots, settings.BOT_AUTH_TOKEN, settings.POOL_THREADS)
    logger.info("bot pool serving %s on %s:%d", settings.POOL_MODELS_DIR, settings.POOL_HOST,
                settings.POOL_PORT)
    app.run(host=settings.POOL_HOST, port=settings.POOL_PORT, access_log=False, workers=1)


if __name__ == "__main__":
    main()
