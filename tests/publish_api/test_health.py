"""/health asks the broker at most once per HEALTH_CACHE_S, so a stalled broker costs one wait."""

import time

import pytest

from publish_api import create_app
from publish_api.settings import SettingsError
from tests.support.services import wait_until
from tests.support.stalled_server import StalledServer

TIMEOUT_S = 1.0


def _health(app) -> tuple[int, dict, float]:
    started = time.monotonic()
    response = app.test_client().get("/health")
    return response.status_code, response.get_json(), time.monotonic() - started


def _stalled_app(config, broker: StalledServer, cache_s: float):
    url = f"amqp://guest:guest@127.0.0.1:{broker.port}//"
    return create_app(
        {**config, "QUEUE_URL": url, "QUEUE_TIMEOUT_S": TIMEOUT_S, "HEALTH_CACHE_S": cache_s}
    )


def test_a_stalled_broker_is_waited_on_once_per_period(config):
    with StalledServer() as broker:
        app = _stalled_app(config, broker, cache_s=60)
        status, body, _ = _health(app)
        assert (status, body["queue"], body["database"]) == (503, "unreachable", "ok")
        connections = wait_until(lambda: broker.accepted, timeout=5, what="the broker ping")
        for _ in range(3):
            status, body, seconds = _health(app)
            assert (status, body["queue"]) == (503, "unreachable")
            assert seconds < TIMEOUT_S / 2
        assert broker.accepted == connections


def test_without_a_period_every_call_asks_the_broker(config):
    with StalledServer() as broker:
        app = _stalled_app(config, broker, cache_s=0)
        for _ in range(2):
            status, _body, seconds = _health(app)
            assert status == 503 and seconds >= TIMEOUT_S * 0.9


def test_a_healthy_broker_is_cached_too(app):
    assert app.config["SETTINGS"].HEALTH_CACHE_S == 10.0
    assert _health(app)[:2] == (200, {"status": "ok", "database": "ok", "queue": "ok"})
    assert _health(app)[0] == 200


def test_a_negative_period_names_the_variable(config):
    with pytest.raises(SettingsError, match="HEALTH_CACHE_S"):
        create_app({**config, "HEALTH_CACHE_S": -1})
