import pytest

from publish_broker.bot_server import rasa_arguments


def test_arguments_carry_the_settings():
    settings = {"BOT_AUTH_TOKEN": "secret", "BOT_PORT": "5123", "BOT_MODEL": "/m/x.tar.gz",
                "BOT_INTERFACE": "127.0.0.1"}
    args = rasa_arguments(settings)
    assert args[:3] == ["rasa", "run", "--enable-api"]
    assert args[args.index("--auth-token") + 1] == "secret"
    assert args[args.index("--port") + 1] == "5123"
    assert args[args.index("--model") + 1] == "/m/x.tar.gz"
    assert args[args.index("--interface") + 1] == "127.0.0.1"


def test_defaults_suit_the_bot_image():
    args = rasa_arguments({"BOT_AUTH_TOKEN": "secret"})
    assert args[args.index("--port") + 1] == "5005"
    assert args[args.index("--model") + 1] == "/models"


def test_no_token_no_bot():
    with pytest.raises(SystemExit, match="BOT_AUTH_TOKEN"):
        rasa_arguments({})
