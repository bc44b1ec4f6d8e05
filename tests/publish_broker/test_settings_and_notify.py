import logging
from pathlib import Path

import pytest

from publish_broker.bot_server import BotSettings
from publish_broker.notify import SlackNotifier, count, escape, failed_message, live_message
from publish_broker.pool.settings import PoolSettings, load_pool_settings
from publish_broker.settings import Settings, SettingsError, deprecation_notices, load_settings
from tests.support.settings_docs import documented_settings, sample_settings
from tests.support.slack_api import SlackApi

REQUIRED = {"API_TOKEN": "t" * 20, "BOT_AUTH_TOKEN": "b" * 20}


def test_defaults():
    settings = load_settings(REQUIRED)
    assert settings.BOT_RUNTIME == "process" and settings.PUBLISH_QUEUE == "publish"
    assert settings.BOT_MODELS_DIR == Path("var/bots") and settings.PARAPHRASES_PER_TOPIC == 10
    assert settings.BOT_PORT_RANGE == (5100, 5399)


def test_an_empty_variable_takes_the_default():
    settings = load_settings({**REQUIRED, "PARAPHRASES_PER_TOPIC": "", "SLACK_API_URL": " "})
    assert settings.PARAPHRASES_PER_TOPIC == 10
    assert settings.SLACK_API_URL == "https://slack.com/api/"


def test_the_pool_has_settings_of_its_own():
    settings = load_pool_settings({"BOT_AUTH_TOKEN": "b" * 20, "POOL_THREADS": "4"})
    assert settings.POOL_THREADS == 4 and settings.POOL_MODELS_DIR == Path("/models")
    with pytest.raises(SettingsError, match="invalid bot pool settings: BOT_AUTH_TOKEN"):
        load_pool_settings({"BOT_AUTH_TOKEN": ""})


def test_broker_url_is_the_deprecated_name_of_queue_url():
    assert deprecation_notices(load_settings(REQUIRED)) == []
    old = load_settings({**REQUIRED, "BROKER_URL": "amqp://old//"})
    assert old.QUEUE_URL == "amqp://old//"
    assert ["QUEUE_URL" in notice for notice in deprecation_notices(old)] == [True]
    both = load_settings({**REQUIRED, "BROKER_URL": "amqp://old//", "QUEUE_URL": "amqp://new//"})
    assert both.QUEUE_URL == "amqp://new//"


def test_values_are_typed():
    settings = load_settings({**REQUIRED, "BOT_PUBLISH_PORTS": "yes", "PARAPHRASES_PER_TOPIC": "4",
                              "BOT_RUNTIME": "docker", "BOT_PORT_RANGE": "6000-6010"})
    assert settings.BOT_PUBLISH_PORTS is True and settings.PARAPHRASES_PER_TOPIC == 4
    assert settings.BOT_PORT_RANGE == (6000, 6010)


@pytest.mark.parametrize("environ,named", [
    ({"API_TOKEN": "", "BOT_AUTH_TOKEN": " "}, "API_TOKEN: field required; BOT_AUTH_TOKEN: field"),
    ({"API_TOKEN": "x" * 20, "BOT_AUTH_TOKEN": ""}, "BOT_AUTH_TOKEN: field required"),
    ({**REQUIRED, "BOT_RUNTIME": "k8s"}, "BOT_RUNTIME"),
    ({**REQUIRED, "PARAPHRASES_PER_TOPIC": "many"}, "PARAPHRASES_PER_TOPIC"),
    ({**REQUIRED, "PARAPHRASES_PER_TOPIC": "0"}, "PARAPHRASES_PER_TOPIC"),
    ({**REQUIRED, "BOT_PUBLISH_PORTS": "maybe"}, "BOT_PUBLISH_PORTS"),
    ({**REQUIRED, "BOT_PORT_RANGE": "9-1"}, "BOT_PORT_RANGE"),
    ({**REQUIRED, "POOL_PORT": "70000"}, "POOL_PORT"),
    ({**REQUIRED, "TASK_SOFT_TIME_LIMIT_S": "60", "TASK_TIME_LIMIT_S": "60"},
     "TASK_TIME_LIMIT_S: must be greater than TASK_SOFT_TIME_LIMIT_S"),
])
def test_errors_name_the_variable_not_the_value(environ, named):
    with pytest.raises(SettingsError, match=named) as raised:
        load_settings(environ)
    assert "x" * 20 not in str(raised.value) and "b" * 20 not in str(raised.value)


def test_notifier_posts_to_the_owner_dm():
    with SlackApi(bot_token="xoxb-good") as slack:
        assert SlackNotifier("xoxb-good", slack.url).tell("UALICE", live_message(2, "UALICE"))
        post = slack.wait_for_posts(1, channel="UALICE")[0]
    assert post.token == "xoxb-good" and "live with 2 topics" in post.args["text"]


def test_notifier_failures_are_logged_without_the_token(caplog):
    caplog.set_level(logging.DEBUG)
    with SlackApi(bot_token="xoxb-good") as slack:
        assert SlackNotifier("xoxb-wrong-secret", slack.url).tell("UALICE", "hi") is False
        assert slack.posts() == []
    assert SlackNotifier("xoxb-wrong-secret", "http://127.0.0.1:1/api/").tell("U1", "hi") is False
    assert "xoxb-wrong-secret" not in caplog.text
    assert "could not reach Slack" in caplog.text and "Slack refused" in caplog.text


def test_without_a_token_nothing_is_sent():
    with SlackApi() as slack:
        assert SlackNotifier("", slack.url).tell("UALICE", "hi") is False
        assert slack.calls == []


def test_failure_message_says_the_old_version_still_answers():
    assert "still answering" in failed_message("the topics could not be trained.")


@pytest.mark.parametrize("number, noun, written", [
    (0, "topic", "0 topics"), (1, "topic", "1 topic"), (2, "topic", "2 topics"),
    (1, "phrasing", "1 phrasing"), (1200, "topic", "1,200 topics"),
    (1, "person", "1 person"), (3, "person", "3 people"),
])
def test_counts_are_written_as_people_write_them(number, noun, written):
    plural = "people" if noun == "person" else ""
    assert count(number, noun, plural) == written


def test_live_message_counts_one_topic_in_the_singular():
    assert "live with 1 topic." in live_message(1, "UALICE")


def test_live_message_says_how_to_ask_with_the_owners_own_handle():
    message = live_message(3, "UALICE")
    assert "ask <@UALICE> and their question" in message and "@you" not in message


def test_user_text_in_a_failure_cannot_ping_or_mention():
    text = failed_message("topic <!channel> & <@U0BOSS> is <b>bad</b>.")
    assert "<!channel>" not in text and "<@U0BOSS>" not in text
    assert "&lt;!channel&gt; &amp; &lt;@U0BOSS&gt; is &lt;b&gt;bad&lt;/b&gt;." in text
    assert escape("a & b") == "a &amp; b"


# Read by NLTK, not by the broker: documented with its settings because the worker needs it.
READ_BY_LIBRARIES = {"NLTK_DATA"}


@pytest.mark.parametrize("section, settings", [("publish-broker", Settings),
                                               ("The bot pool", PoolSettings),
                                               ("A per-owner Rasa bot", BotSettings)])
def test_the_readme_table_is_the_settings_class(section, settings):
    assert documented_settings(section) - READ_BY_LIBRARIES == set(settings.__fields__)


def test_the_env_sample_sets_only_settings():
    assert sample_settings("publish-broker/.env.sample") <= set(Settings.__fields__)
