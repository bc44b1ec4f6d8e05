"""Pure pieces of the action server: settings, Slack blocks, `ask` parsing, topic matching."""

from __future__ import annotations

import pytest

from actions import messages, slack_blocks
from actions.asking import parse_ask
from actions.forms import match_topics, topics_named_in
from actions.interruptions import is_request
from actions.settings import Settings, SettingsError, load_settings
from tests.support.settings_docs import documented_settings, sample_settings

TOKENS = {"API_TOKEN": "secret-value", "ACTIONS_TOKEN": "actions-secret-0123456789"}


def test_settings_defaults_and_required_tokens():
    settings = load_settings(TOKENS)
    assert settings.PUBLISH_API_URL == "http://127.0.0.1:5000"
    assert settings.BOT_TIMEOUT_S == 2.0
    assert settings.SLACK_API_URL == "https://slack.com/api/"


@pytest.mark.parametrize("name", ["API_TOKEN", "ACTIONS_TOKEN"])
@pytest.mark.parametrize("value", ["", "   "])
def test_a_missing_token_is_named(name, value):
    # An empty variable is an unset one (compose's .env files leave optional ones empty).
    with pytest.raises(SettingsError, match=f"{name}: field required"):
        load_settings({**TOKENS, name: value})


@pytest.mark.parametrize("name, value", [("PUBLISH_API_URL", "ftp://x"),
                                         ("BOT_TIMEOUT_S", "5"),
                                         ("PUBLISH_API_TIMEOUT_S", "soon"),
                                         ("ACTIONS_TOKEN", "short-token"),
                                         ("SLACK_BOT_TOKEN", "xapp-not-a-bot-token"),
                                         ("SLACK_API_URL", "slack.com/api"),
                                         ("IMPORT_MAX_BYTES", str(6 * 1024 * 1024))])
def test_settings_errors_name_the_variable_never_the_value(name, value):
    with pytest.raises(SettingsError, match=name) as error:
        load_settings({**TOKENS, name: value})
    assert value not in str(error.value)
    assert not any(token in str(error.value) for token in TOKENS.values())


def test_urls_are_normalised_and_empty_means_the_default():
    settings = load_settings({**TOKENS, "PUBLISH_API_URL": "http://api:5000/",
                              "SLACK_API_URL": "http://slack/api", "BOT_TIMEOUT_S": " "})
    assert settings.PUBLISH_API_URL == "http://api:5000"
    assert settings.SLACK_API_URL == "http://slack/api/"
    assert settings.BOT_TIMEOUT_S == 2.0


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


LAPTOPS = [{"id": 1, "question": "How do I get a laptop charger?", "alternatives": []},
           {"id": 2, "question": "What is the guest wifi called?", "alternatives": []},
           {"id": 3, "question": "Where do I order new laptops?", "alternatives": ["bags?"]}]


@pytest.mark.parametrize("request_text, ids", [
    ("change the answer of the wifi topic", [2]),
    ("add another way to ask the laptop question", [1, 3]),
    ("delete the question about laptop chargers", [1]),
    ("edit an answer", []),
    ("delete topic 2", []),
    ("remove the parking topic", []),
])
def test_the_topic_named_in_a_request(request_text, ids):
    assert [t["id"] for t in topics_named_in(LAPTOPS, request_text)] == ids


@pytest.mark.parametrize("text, intent, confidence, slot, expected", [
    ("show my topics", "show_topics", 0.95, "topic_question", True),
    ("/publish", "publish", 1.0, "topic_answer", True),
    ("how do I publish my slides?", "publish", 0.95, "topic_question", False),
    ("how do I publish my slides", "publish", 0.95, "alternative_text", False),
    ("publish", "publish", 0.95, "topic_answer", True),
    ("publish", "publish", 0.6, "topic_answer", False),
    ("yes", "affirm", 0.99, "topic_ref", False),
    ("/choose_topic", "choose_topic", 1.0, "topic_ref", False),
    ("show my unanswered questions", "show_unanswered", 0.9, "new_answer", True),
    ("something", "not_in_the_domain", 0.9, "new_answer", False),
])
def test_what_counts_as_a_request_in_a_form(text, intent, confidence, slot, expected):
    intents = ["show_topics", "publish", "affirm", "choose_topic", "show_unanswered"]
    assert is_request(text, intent, confidence, slot, intents) is expected


def test_candidate_topics_are_buttons_next_to_cancel():
    topics = [{"number": n, "question": f"Question {n}?"} for n in range(1, 8)]
    choices = messages.topic_choices(topics)
    assert len(choices) == 5 and choices[-1] == messages.CANCEL_BUTTON
    assert choices[0] == {"title": "1. Question 1?",
                          "payload": '/choose_topic{"topic_number": "1"}'}
    slack_blocks.buttons(choices)  # within Slack's (and Rasa's) limit of 5
    text = messages.several_topics_match("question", topics)
    assert text.startswith("7 topics match “question”") and "*7.* Question 7?" in text


# --- counts as people write them; user text escaped -------------------------------------------

@pytest.mark.parametrize("number, noun, written", [
    (0, "topic", "0 topics"), (1, "topic", "1 topic"), (2, "topic", "2 topics"),
    (1, "phrasing", "1 phrasing"), (3, "phrasing", "3 phrasings"), (1200, "topic", "1,200 topics"),
])
def test_counts_are_written_as_people_write_them(number, noun, written):
    assert messages.count(number, noun) == written


def test_every_count_the_concierge_writes_agrees_with_its_number():
    one = {"id": 1, "question": "Q?", "state": "pending", "alternatives": ["q"]}
    assert "You have 1 topic:" in messages.list_summary(1, 0)
    assert "_(+1 phrasing)_" in messages.list_line(1, one)
    assert "_(+2 phrasings)_" in messages.list_line(1, {**one, "alternatives": ["a", "b"]})
    assert "🗑️ 1 deleted topic still" in messages.pending_deletions(1)
    assert "Deleted 1 topic." in messages.all_deleted(1)
    assert "Publishing started (1 topic)." in messages.publishing_started(1)
    assert "Publishing started. " in messages.publishing_started(None)
    [part] = slack_blocks.topic_list([one], pending_deletions=1)
    text = "\n".join(b["text"]["text"] for b in part["blocks"] if "text" in b)
    assert "1 topics" not in text and "1 phrasings" not in text


HOSTILE = "Who may ping <!channel> & <!here> or <@U0BOSS>?"
ESCAPED = "Who may ping &lt;!channel&gt; &amp; &lt;!here&gt; or &lt;@U0BOSS&gt;?"


@pytest.mark.parametrize("render", [
    lambda: messages.confirm_topic(HOSTILE, HOSTILE),
    lambda: messages.topic_saved(HOSTILE),
    lambda: messages.answer_updated(HOSTILE),
    lambda: messages.alternative_added(HOSTILE, HOSTILE),
    lambda: messages.topic_deleted(HOSTILE),
    lambda: messages.ask_new_answer(HOSTILE),
    lambda: messages.ask_alternative(HOSTILE),
    lambda: messages.confirm_delete(HOSTILE),
    lambda: messages.no_topic_matches(HOSTILE),
    lambda: messages.several_topics_match(HOSTILE, [{"number": 1, "question": HOSTILE}] * 2),
    lambda: messages.owner_says("@Alice", HOSTILE),
])
def test_user_text_shown_back_cannot_ping_or_mention(render):
    text = render()
    assert ESCAPED in text
    assert "<!" not in text and "<@" not in text


def test_the_readme_table_is_the_settings_class():
    assert documented_settings("capture-actions") == set(Settings.__fields__)
    assert sample_settings("capture-actions/.env.sample") <= set(Settings.__fields__)


def test_an_import_preview_names_the_first_ten_topics_of_each_kind_then_counts():
    added = [{"row": n, "id": None, "question": f"Question {n}?"} for n in range(1, 13)]
    report = {"dry_run": True, "added": added, "changed": [], "unchanged": [],
              "deleted": [{"row": None, "id": 7, "question": "Old <b>one</b>?"}], "skipped": []}
    text = messages.import_preview("faq.csv", report)
    assert "*To add:* “Question 1?”" in text and "“Question 10?” … and 2 more" in text
    assert "Question 11?" not in text and "*To change:*" not in text
    assert "*To delete:* “Old &lt;b&gt;one&lt;/b&gt;?”" in text


def test_import_problems_count_what_publish_api_did_not_list():
    errors = [{"row": n, "field": "answer", "message": "the answer is missing"}
              for n in range(1, 101)]
    text = messages.import_problems("faq.csv", errors, count=250)
    assert text.count("• row ") == messages.IMPORT_ERRORS_SHOWN
    assert "• row 1, answer: the answer is missing" in text and "… and 240 more." in text
    whole = messages.import_problems("faq.csv", [{"row": None, "field": "topics",
                                                   "message": "too many"}], count=1)
    assert "• the file, topics: too many" in whole
