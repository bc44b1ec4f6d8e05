"""Fixtures: the concierge model trained once per session into a temporary directory, and
the concierge served by `rasa run` with its real action server and a Slack stand-in."""

from __future__ import annotations

import pytest

from tests.capture_bot.servers import (
    BOT_TOKEN,
    Blackhole,
    free_port,
    start_action_server,
    start_concierge,
    train_concierge,
)
from tests.support.slack_api import SlackApi

TRAINING_SECONDS_BUDGET = 60
GENERAL_CHANNEL = "C0GENERAL"


@pytest.fixture(scope="session")
def ports():
    return set()


@pytest.fixture(scope="session")
def logs(tmp_path_factory):
    return tmp_path_factory.mktemp("concierge-logs")


@pytest.fixture(scope="session")
def concierge_model(tmp_path_factory):
    model, seconds = train_concierge(tmp_path_factory.mktemp("concierge-model"))
    print(f"\nconcierge trained in {seconds:.1f} s")
    assert seconds < TRAINING_SECONDS_BUDGET
    return model


@pytest.fixture(scope="session")
def slack(ports):
    with SlackApi(bot_token=BOT_TOKEN, port=free_port(ports)) as server:
        server.add_user("U0ALICE", "alice", "Alice")
        server.add_user("U0BOB", "bob", "Bob")
        yield server


@pytest.fixture(scope="session")
def hanging_bot(ports):
    """A bot endpoint that accepts connections and never answers."""
    hole = Blackhole(free_port(ports))
    yield hole
    hole.close()


@pytest.fixture(scope="session")
def publish_api(ports, logs):
    from tests.support.services import start_publish_api

    api = start_publish_api(free_port(ports), logs)
    yield api
    api.stop()


# Small, so a test file can pass it; publish-api's own cap is 5 MiB.
IMPORT_MAX_BYTES = 20_000


@pytest.fixture(scope="session")
def action_server(ports, logs, publish_api, slack):
    """The real action server on the real publish-api, reading shared files from the Slack
    stand-in."""
    env = {"PUBLISH_API_URL": publish_api.url, "API_TOKEN": publish_api.token,
           "BOT_AUTH_TOKEN": "test-bot-token", "SLACK_BOT_TOKEN": BOT_TOKEN,
           "SLACK_API_URL": slack.url, "IMPORT_MAX_BYTES": str(IMPORT_MAX_BYTES)}
    server = start_action_server(free_port(ports), logs, env)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def concierge(ports, logs, concierge_model, slack, action_server):
    server = start_concierge(free_port(ports), concierge_model, logs, slack.url,
                             action_server.url, slack_channel=GENERAL_CHANNEL)
    yield server
    server.stop()


@pytest.fixture
def webhook(concierge, slack):
    slack.reset()
    return concierge.url + "/webhooks/slack/webhook"
