"""Pure pieces of the action server: settings, Slack blocks, `ask` parsing, topic matching."""

from __future__ import annotations

import pytest

from actions import messages, slack_blocks
from actions.asking import parse_ask
from actions.forms import match_topics
from actions.settings import Settings, SettingsError


def test_settings_defaults_and_required_token():
    settings = Settings.from_env({"API_TOKEN": "t"})
    assert settings.publish_api_url == "http://127.0.0.1:5000"
    assert settings.bot_timeout_s == 2.0
    with pytest.raises(SettingsError, match="API_TOKEN"):
        Settings.from_env({})


@pytest.mark.parametrize("name, value", [("PUBLISH_API_URL", "ftp://x"),
                                         ("BOT_TIMEOUT_S", "5"),
                                         ("PUBLISH_API_TIMEOUT_S", "soon")])
def test_settings_errors_name_the_variable(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({"API_TOKEN": "secret-value", name: value})


def test_settings_errors_never_show_the_token():
    with pytest.raises(SettingsError) as error:
        Settings.from_env({"API_TOKEN": "secret-value", "BOT_TIMEOUT_S": "9"})
    assert "secret-value" not in str(error.value)


def topic(number: int, state: str = "pending", length: int = 300) -> dict:
    return {"id": number, "question": f"{number} " + "q" * (length - 2), "state": state,
            "alternatives": ["x"] * (number % 3), "answer": "a"}


@pytest.mark.parametrize("count", [1, 10, 47, 120, 500])
def test_long_topic_lists_stay_within_slack_limits(count):
    parts = slack_blocks.topic_list([topic(n, "published" if n % 2 else "pending")
                                     for n in range(1, count + 1)], pending_deletions=2)
    for part in parts:
        assert len(part["blocks"]) <= 50
        for block in part["blocks"]:
            if block["type"] == "section":
                assert 0 < len(block["text"]["text"]) <= 3000
            else:
                assert len(block["elements"]) <= 5
    text = "\n".join(b["text"]["text"] for p in parts for b in p["blocks"] if "text" in b)
    assert all(f"*{n}.*" in text for n in range(1, count + 1))
    assert text.count(messages.PUBLISHED) >= (count + 1) // 2
    assert "2 deleted topics" in text


def test_topic_text_is_escaped_for_slack():
    [part] = slack_blocks.topic_list([{"id": 1, "question": "Is <@U1> & co > me?",
                                       "state": "published"}], 0)
    assert "&lt;@U1&gt; &amp; co &gt; me?" in part["blocks"][1]["text"]["text"]


def test_more_than_five_buttons_is_refused():
    with pytest.raises(ValueError):
        slack_blocks.buttons([{"title": str(n), "payload": "/x"} for n in range(6)])


@pytest.mark.parametrize("text, owner, question", [
    ("ask <@U0ALICE> where is the wifi?", "U0ALICE", "where is the wifi?"),
    ("ask <@U0BOB|bob>: when is lunch", "U0BOB", "when is lunch"),
    ("please ask <@W0CAROL> how do I ask <@U0DAN> things", "W0CAROL", "how do I ask things"),
    ("ask <@U0ALICE>", "U0ALICE", ""),
])
def test_parse_ask(text, owner, question):
    request = parse_ask(text)
    assert (request.owner_id, request.question) == (owner, question)


def test_parse_ask_without_mention():
    assert parse_ask("ask alice where is the wifi") is None


def test_topics_are_matched_by_number_or_words():
    topics = [{"id": 7, "question": "Where is the wifi password?", "alternatives": []},
              {"id": 8, "question": "When is lunch?", "alternatives": ["what time do we eat"]}]
    assert match_topics(topics, "2") == [topics[1]]
    assert match_topics(topics, "#1") == [topics[0]]
    assert match_topics(topics, "3") == []
    assert match_topics(topics, "WIFI") == [topics[0]]
    assert match_topics(topics, "eat") == [topics[1]]
    assert match_topics(topics, "is") == topics
