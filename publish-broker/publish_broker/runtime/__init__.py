"""Bot runtimes: where owners' Rasa bots run (see ``base.BotRuntime``).

``DockerRuntime`` lives in ``publish_broker.runtime.docker`` and is imported from there, so
that the process runtime (and the bot image) never needs the docker SDK.
"""

from publish_broker.runtime.base import BotKey, BotRuntime, Deployment
from publish_broker.runtime.process import ProcessRuntime

__all__ = ["BotKey", "BotRuntime", "Deployment", "ProcessRuntime"]
