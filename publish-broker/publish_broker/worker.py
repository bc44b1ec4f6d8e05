"""Builds the broker's collaborators from settings, once per worker child process, and warms them
up (celery_app.py runs `warm_up` in each child before its first task)."""

from __future__ import annotations

import logging
from functools import cache

from .api_client import PublishApiClient
from .notify import SlackNotifier
from .pipeline import Publisher
from .runtime.base import BotRuntime
from .settings import Settings, deprecation_notices, load_settings
from .training import Trainer

logger = logging.getLogger(__name__)


@cache
def settings() -> Settings:
    config = load_settings()
    for notice in deprecation_notices(config):
        logger.warning(notice)
    return config


@cache
def publisher() -> Publisher:
    """The process-wide Publisher (the trainer inside keeps Rasa imported and warm)."""
    config = settings()
    work_dir = config.BOT_MODELS_DIR.resolve() / "work"
    work_dir.mkdir(parents=True, exist_ok=True)
    return Publisher(
        api=PublishApiClient(config.PUBLISH_API_URL, config.API_TOKEN, config.HTTP_TIMEOUT_S),
        trainer=Trainer(paraphrases_per_topic=config.PARAPHRASES_PER_TOPIC),
        runtime=build_runtime(config),
        notifier=SlackNotifier(config.SLACK_BOT_TOKEN, config.SLACK_API_URL),
        work_dir=work_dir,
    )


def build_runtime(config: Settings) -> BotRuntime:
    """The runtime BOT_RUNTIME names. Docker is imported only when chosen."""
    models_dir = config.BOT_MODELS_DIR.resolve()
    if config.BOT_RUNTIME == "process":
        from .runtime.pool_process import PoolProcessRuntime

        return PoolProcessRuntime(models_dir, config.BOT_AUTH_TOKEN, port=config.POOL_PORT,
                                  memory_budget_mb=config.POOL_MEMORY_BUDGET_MB)
    if config.BOT_RUNTIME == "rasa-process":
        from .runtime.process import ProcessRuntime

        return ProcessRuntime(models_dir, config.BOT_AUTH_TOKEN, port_range=config.BOT_PORT_RANGE)
    import docker

    if config.BOT_RUNTIME == "docker":
        from .runtime.pool_docker import PoolDockerRuntime

        return PoolDockerRuntime(
            docker.from_env(), config.POOL_IMAGE, config.BOT_AUTH_TOKEN, config.BOT_NETWORK,
            config.BOT_MODELS_VOLUME, models_dir, publish_ports=config.BOT_PUBLISH_PORTS,
            owners_per_pool=config.POOL_OWNERS, mem_limit=config.BOT_MEMORY_LIMIT,
            memory_budget_mb=config.POOL_MEMORY_BUDGET_MB, cpus=config.POOL_CPUS,
            name_prefix=config.POOL_NAME_PREFIX)
    from .runtime.docker import DockerRuntime

    return DockerRuntime(
        docker.from_env(), config.BOT_IMAGE, config.BOT_AUTH_TOKEN, config.BOT_NETWORK,
        config.BOT_MODELS_VOLUME, models_dir, publish_ports=config.BOT_PUBLISH_PORTS,
        mem_limit=config.BOT_MEMORY_LIMIT)


def warm_up() -> None:
    """Import Rasa and train once, so the first real publish does not pay ~5 s of imports;
    start the bots' pools, so that owners published before a restart answer again."""
    publisher().trainer.warm_up()
    publisher().runtime.start()
