"""capture-actions' bot client against a real `rasa run --enable-api --auth-token` serving a model
the broker trained (port 5611)."""

import http.server
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from actions.bot_client import BotAnswer, BotUnavailable, ask, is_up
from tests.publish_broker.faq_data import OFFICE_FAQ
from tests.support.isolation import child_env

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
PORT = 5611
TOKEN = "test-bot-token-5611"
ENDPOINT = f"http://127.0.0.1:{PORT}"


@pytest.fixture(scope="module")
def bot(three_topic_model, tmp_path_factory):
    """A bot process serving the 3-topic model; killed (its process group) afterwards."""
    workdir = tmp_path_factory.mktemp("bot")
    log = (workdir / "rasa.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "rasa", "run", "--enable-api", "--auth-token", TOKEN,
         "-m", str(three_topic_model.path), "-i", "127.0.0.1", "-p", str(PORT)],
        cwd=workdir, env=_bot_environment(), stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_until_ready(process, deadline=time.monotonic() + 120, log=workdir / "rasa.log")
        yield ENDPOINT
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)
        log.close()


def _bot_environment() -> dict:
    # The model's pipeline names publish_broker.nlu_components.FaqMatcher: the bot imports it.
    return child_env(PYTHONPATH=str(REPO / "publish-broker"), RASA_TELEMETRY_ENABLED="false",
                     OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")


def _wait_until_ready(process, deadline: float, log: Path) -> None:
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text(errors="replace")[-3000:]
        try:
            status = requests.get(f"{ENDPOINT}/status", params={"token": TOKEN}, timeout=1)
            if status.ok and status.json().get("model_id"):
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)  # polling interval, not synchronisation: the deadline decides
    pytest.fail(f"rasa run not ready in time:\n{log.read_text(errors='replace')[-3000:]}")


def test_a_paraphrase_gets_the_topic_answer(bot):
    answer = ask(bot, TOKEN, "How can I reserve a room for a meeting?")

    assert answer == BotAnswer(
        text=OFFICE_FAQ[1][2], is_fallback=False, topic="2", confidence=answer.confidence
    )
    assert 0.3 <= answer.confidence <= 1.0


def test_an_unrelated_question_is_a_fallback(bot):
    answer = ask(bot, TOKEN, "What is the capital of France?")

    assert answer.is_fallback
    assert answer.text is None and answer.topic is None
    assert answer.confidence < 0.3


def test_a_wrong_token_is_unavailable_and_not_echoed(bot):
    with pytest.raises(BotUnavailable) as raised:
        ask(bot, "wrong-token", "How do I reset my password?")

    assert "401" in str(raised.value)
    assert "wrong-token" not in str(raised.value)


def test_a_running_bot_answers_its_status_only_with_the_token(bot):
    assert is_up(bot, TOKEN)
    assert not is_up(bot, "wrong-token")
    assert not is_up("http://127.0.0.1:1", TOKEN)


def test_nothing_listening_is_unavailable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]

    with pytest.raises(BotUnavailable) as raised:
        ask(f"http://127.0.0.1:{closed_port}", TOKEN, "hello")

    assert TOKEN not in str(raised.value)


def test_a_bot_that_does_not_answer_in_time_is_unavailable():
    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        started = time.monotonic()
        with pytest.raises(BotUnavailable):
            ask(f"http://127.0.0.1:{silent.getsockname()[1]}", TOKEN, "hello", timeout=0.3)

    assert time.monotonic() - started < 2


def test_a_server_error_is_unavailable():
    class Failing(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's naming)
            self.send_response(503)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Failing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(BotUnavailable) as raised:
            ask(f"http://127.0.0.1:{server.server_port}", TOKEN, "hello")
    finally:
        server.shutdown()
        server.server_close()

    assert "503" in str(raised.value)
