"""A broker worker that cannot train refuses to start, saying why (instead of failing jobs), and a
worker whose child cannot warm up exits as a whole rather than replacing that child forever."""

import pytest

from tests.support.private_services import free_port
from tests.support.services import start_broker_worker, start_publish_api

pytestmark = pytest.mark.slow


@pytest.fixture
def api(tmp_path):
    running = start_publish_api(free_port(), tmp_path)
    yield running
    running.stop()


def _start_failing(api, tmp_path, **settings) -> tuple[str, str]:
    """The message of the worker's exit and its whole log."""
    with pytest.raises(RuntimeError, match="exited") as failed:
        worker = start_broker_worker(api, tmp_path, tmp_path / "bots", **settings)
        worker.stop()  # it started after all: stopped, so that the failure leaves nothing behind
    return str(failed.value), (tmp_path / "broker-worker.log").read_text(errors="replace")


def test_a_worker_without_wordnet_exits_naming_the_problem(api, tmp_path):
    message, log = _start_failing(api, tmp_path, NLTK_DATA=str(tmp_path / "no-wordnet-here"))
    assert "exited with status 1" in message
    assert "publish-broker cannot start" in message
    assert "WordNet is not installed where NLTK looks" in message
    # The child that failed was not replaced by another that would fail again.
    assert log.count("publish-broker cannot start") == 1


def test_a_warm_up_over_its_timeout_ends_the_worker_naming_the_setting(api, tmp_path):
    message, log = _start_failing(api, tmp_path, WARM_UP_TIMEOUT_S="0.5")
    assert "exited with status 1" in message
    assert "warming up took longer than WARM_UP_TIMEOUT_S (0.5 s)" in message
    assert log.count("publish-broker cannot start") == 1


def test_settings_errors_stop_the_worker_naming_the_variable(api, tmp_path):
    message, _log = _start_failing(api, tmp_path, BOT_RUNTIME="kubernetes")
    assert "BOT_RUNTIME" in message
