"""Fixtures for publish-api: a fresh app per test over a real Postgres database and RabbitMQ."""

from __future__ import annotations

import json
import os
import socket
import uuid

import pytest
from kombu import Connection
from sqlalchemy import create_engine, text

from publish_api import create_app
from publish_api.migrate import upgrade
from tests.support.services import create_database, drop_database, start_publish_api

QUEUE_URL = os.environ.get("TEST_QUEUE_URL", "amqp://guest:guest@127.0.0.1:5672//")
TOKEN = "test-token-0123456789abcdef"
TABLES = "unanswered_questions, bots, jobs, versions, topics, users, workspaces"


@pytest.fixture(scope="session")
def database_url():
    name, url = create_database("faqbot_test")
    upgrade(url)
    yield url
    drop_database(name)


@pytest.fixture(scope="session")
def queue_name():
    name = f"publish_test_{uuid.uuid4().hex[:10]}"
    yield name
    with Connection(QUEUE_URL) as conn:
        conn.default_channel.queue_delete(name)


@pytest.fixture
def config(database_url, queue_name):
    return {
        "API_TOKEN": TOKEN,
        "DATABASE_URL": database_url,
        "QUEUE_URL": QUEUE_URL,
        "PUBLISH_QUEUE": queue_name,
        "QUEUE_TIMEOUT_S": 2.0,
    }


def _empty(database_url: str) -> None:
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def app(config, database_url):
    _empty(database_url)
    app = create_app(config)
    yield app
    app.extensions["db_engine"].dispose()


@pytest.fixture(params=["postgresql", "sqlite"])
def any_database(request, database_url, tmp_path):
    """An empty, migrated database of each kind publish-api supports: its URL."""
    if request.param == "postgresql":
        _empty(database_url)
        return database_url
    url = f"sqlite:///{tmp_path / 'publish-api.sqlite3'}"
    upgrade(url)
    return url


@pytest.fixture
def any_config(config, any_database):
    return {**config, "DATABASE_URL": any_database}


@pytest.fixture
def any_app(any_config):
    """The app over each database (tests that concern the database run on both)."""
    app = create_app(any_config)
    yield app
    app.extensions["db_engine"].dispose()


@pytest.fixture
def any_api(any_app):
    return ApiClient(any_app.test_client())


@pytest.fixture
def any_owner(any_api):
    assert any_api.put("/v1/users/T1/UALICE", {"display_name": "Alice"}).status_code == 201
    return "/v1/users/T1/UALICE"


class ApiClient:
    """Flask's test client with the bearer token and JSON by default."""

    def __init__(self, client, token=TOKEN):
        self.client, self.headers = client, {"Authorization": f"Bearer {token}"}

    def __getattr__(self, method):
        def call(path, json=None, headers=None, **kwargs):
            return getattr(self.client, method)(
                path, json=json, headers={**self.headers, **(headers or {})}, **kwargs
            )

        return call


@pytest.fixture
def api(app):
    return ApiClient(app.test_client())


@pytest.fixture
def owner(api):
    assert api.put("/v1/users/T1/UALICE", {"display_name": "Alice"}).status_code == 201
    return "/v1/users/T1/UALICE"


class QueueReader:
    """Reads the publish tasks that publish-api really put on RabbitMQ."""

    def __init__(self, name):
        self.name = name

    def drain(self) -> list[dict]:
        messages = []
        with Connection(QUEUE_URL) as conn:
            channel = conn.default_channel
            channel.queue_declare(self.name, durable=True, auto_delete=False)
            while (message := channel.basic_get(self.name, no_ack=True)) is not None:
                args, _kwargs, _embed = json.loads(message.body)
                messages.append({"task": message.headers["task"], "args": args})
        return messages


@pytest.fixture
def published_tasks(queue_name):
    reader = QueueReader(queue_name)
    reader.drain()  # start each test with an empty queue
    return reader


def free_port() -> int:
    """A port nothing listens on now (the kernel's choice)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module", params=["postgresql", "sqlite"])
def served_api(request, tmp_path_factory, queue_name):
    """publish-api served by gunicorn as in production, over each database, once per module.

    A module sets SERVED_SETTINGS (environment variables) to configure it.
    """
    logs = tmp_path_factory.mktemp(f"served-{request.param}")
    sqlite_url = f"sqlite:///{logs / 'publish-api.sqlite3'}"
    database_url = sqlite_url if request.param == "sqlite" else None
    settings = getattr(request.module, "SERVED_SETTINGS", {})
    api = start_publish_api(
        free_port(), logs, queue=queue_name, database_url=database_url, **settings
    )
    yield api
    api.stop()
