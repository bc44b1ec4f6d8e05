"""A broker worker that cannot train refuses to start, saying why (instead of failing jobs)."""

import pytest

from tests.support.services import start_broker_worker, start_publish_api

pytestmark = pytest.mark.slow


def test_a_worker_without_wordnet_exits_naming_the_problem(tmp_path):
    api = start_publish_api(5098, tmp_path)
    try:
        with pytest.raises(RuntimeError, match="exited") as failed:
            start_broker_worker(api, tmp_path, tmp_path / "bots",
                                NLTK_DATA=str(tmp_path / "no-wordnet-here"))
    finally:
        api.stop()
    assert "publish-broker cannot start" in str(failed.value)
    assert "WordNet is not installed where NLTK looks" in str(failed.value)


def test_settings_errors_stop_the_worker_naming_the_variable(tmp_path):
    api = start_publish_api(5099, tmp_path)
    try:
        with pytest.raises(RuntimeError, match="exited") as failed:
            start_broker_worker(api, tmp_path, tmp_path / "bots", BOT_RUNTIME="kubernetes")
    finally:
        api.stop()
    assert "BOT_RUNTIME" in str(failed.value)
