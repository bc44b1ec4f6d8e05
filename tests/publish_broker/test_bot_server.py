import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from publish_broker.bot_server import load_bot_settings, rasa_arguments
from publish_broker.settings import SettingsError
from tests.publish_broker.runtime_fixtures import (
    GREETING,
    TEST_TOKEN,
    models_fixture,  # noqa: F401 - the `models` fixture
    parse,
    wait_for,
)
from tests.support.isolation import child_env

REPO = Path(__file__).resolve().parents[2]


def test_arguments_carry_the_settings():
    settings = {"BOT_AUTH_TOKEN": "secret", "BOT_PORT": "5123", "BOT_MODEL": "/m/x.tar.gz",
                "BOT_INTERFACE": "127.0.0.1"}
    args = rasa_arguments(load_bot_settings(settings))
    assert args[:3] == ["rasa", "run", "--enable-api"]
    assert args[args.index("--auth-token") + 1] == "secret"
    assert args[args.index("--port") + 1] == "5123"
    assert args[args.index("--model") + 1] == "/m/x.tar.gz"
    assert args[args.index("--interface") + 1] == "127.0.0.1"


def test_defaults_suit_the_bot_image():
    args = rasa_arguments(load_bot_settings({"BOT_AUTH_TOKEN": "secret"}))
    assert args[args.index("--port") + 1] == "5005"
    assert args[args.index("--model") + 1] == "/models"


def test_no_token_no_bot():
    with pytest.raises(SettingsError, match="BOT_AUTH_TOKEN: field required"):
        load_bot_settings({"BOT_AUTH_TOKEN": ""})
    with pytest.raises(SettingsError, match="BOT_PORT") as error:
        load_bot_settings({"BOT_AUTH_TOKEN": "secret-token", "BOT_PORT": "http"})
    assert "secret-token" not in str(error.value)


def test_rasa_gets_no_input_channel():
    args = rasa_arguments(load_bot_settings({"BOT_AUTH_TOKEN": "secret"}))
    assert args[args.index("--credentials") + 1] == os.devnull


@pytest.mark.slow
def test_a_started_bot_has_no_rest_channel(models, tmp_path):
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = child_env(BOT_AUTH_TOKEN=TEST_TOKEN, BOT_MODEL=str(models["a"].path),
                    BOT_PORT=str(port), BOT_INTERFACE="127.0.0.1", RASA_TELEMETRY_ENABLED="false",
                    PYTHONPATH=str(REPO / "publish-broker"))
    log = tmp_path / "bot.log"
    bot = subprocess.Popen([sys.executable, "-m", "publish_broker.bot_server"], env=env,
                           cwd=tmp_path, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: _answers(bot, url + "/status?token=" + TEST_TOKEN, log), 120,
                 "the bot to answer")
        rest = requests.post(url + "/webhooks/rest/webhook",
                             json={"sender": "anyone", "message": GREETING}, timeout=10)
        assert rest.status_code == 404
        assert parse(url).status_code == 200  # the token-protected API still answers
    finally:
        bot.terminate()
        bot.wait(timeout=30)


def _answers(bot: subprocess.Popen, url: str, log: Path) -> bool:
    if bot.poll() is not None:
        raise RuntimeError(f"the bot exited: {log.read_text(errors='replace')[-3000:]}")
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
