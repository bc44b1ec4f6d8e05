"""Fixtures for end-to-end tests: real publish-api, RabbitMQ, Celery worker, Rasa bots."""

from __future__ import annotations

import pytest

from tests.capture_bot.servers import (
    free_port,
    start_action_server,
    start_concierge,
    train_concierge,
)
from tests.support.services import BOT_AUTH_TOKEN, start_broker_worker, start_publish_api
from tests.support.slack_api import SlackApi

SLACK_BOT_TOKEN = "xoxb-test-concierge"  # one Slack app: the concierge and the broker share it


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    return tmp_path_factory.mktemp("logs")


@pytest.fixture(scope="module")
def publish_api(logs):
    api = start_publish_api(5093, logs)
    yield api
    api.stop()


@pytest.fixture(scope="module")
def slack():
    with SlackApi(bot_token=SLACK_BOT_TOKEN) as server:
        server.add_user("U0ALICE", "alice", "Alice")
        server.add_user("U0BOB", "bob", "Bob")
        yield server


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("bots")


@pytest.fixture(scope="module")
def worker_settings(slack):
    return {"SLACK_BOT_TOKEN": SLACK_BOT_TOKEN, "SLACK_API_URL": slack.url}


@pytest.fixture(scope="module")
def worker(publish_api, logs, models_dir, worker_settings):
    worker = start_broker_worker(publish_api, logs, models_dir, **worker_settings)
    yield worker
    worker.stop()  # its pool outlives it, as in production (tests/conftest.py stops it)


@pytest.fixture(scope="module")
def concierge(tmp_path_factory, logs, slack, publish_api, worker):
    """The concierge, trained for the module, with its real action server on this module's
    publish-api, replying through the Slack stand-in."""
    model, _seconds = train_concierge(tmp_path_factory.mktemp("concierge"))
    actions = start_action_server(free_port(), logs, {"PUBLISH_API_URL": publish_api.url,
                                                      "API_TOKEN": publish_api.token,
                                                      "BOT_AUTH_TOKEN": BOT_AUTH_TOKEN})
    server = start_concierge(free_port(), model, logs, slack.url, actions.url)
    yield server
    server.stop()
    actions.stop()


@pytest.fixture(scope="module")
def webhook(concierge):
    return concierge.url + "/webhooks/slack/webhook"
