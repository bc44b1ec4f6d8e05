"""An unreachable Docker engine is a transient failure (the task retries), not the owner's."""

import socket

import docker
import pytest

from publish_broker.errors import RuntimeUnavailable
from publish_broker.runtime import BotKey
from publish_broker.runtime.docker import DockerRuntime


@pytest.fixture
def runtime_without_engine(tmp_path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = docker.DockerClient(base_url=f"tcp://127.0.0.1:{port}", version="1.41", timeout=2)
    yield DockerRuntime(client, "faqbot-bot:none", "token-0123456789", "faqbot-none",
                        str(tmp_path), tmp_path)
    client.close()


def test_status_and_stop_report_the_engine_unreachable(runtime_without_engine):
    key = BotKey("T0ERR", "U0ERR")
    with pytest.raises(RuntimeUnavailable, match="unreachable"):
        runtime_without_engine.status(key)
    with pytest.raises(RuntimeUnavailable, match="unreachable"):
        runtime_without_engine.stop(key)
