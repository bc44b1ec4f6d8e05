"""Actions through the real rasa-sdk executor when publish-api is down or the sender unknown:
always a friendly message, never an exception or a stack trace."""

from __future__ import annotations

import socket

import pytest

from actions import messages
from tests.capture_actions.conftest import run, said, slots_set, tracker


@pytest.fixture
def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("action", ["action_show_topics", "action_publish",
                                    "action_delete_all_topics", "action_save_topic"])
def test_publish_api_down_gives_a_friendly_message(executor, api_env, closed_port, action):
    api_env(f"http://127.0.0.1:{closed_port}", PUBLISH_API_READ_RETRIES="0")
    state = tracker("x", slots={"topic_question": "Q?", "topic_answer": "A."})
    result = run(executor, action, state)
    assert messages.SERVICE_DOWN in said(result)
    assert "Traceback" not in said(result)


def test_ask_when_publish_api_is_down(executor, api_env, closed_port):
    api_env(f"http://127.0.0.1:{closed_port}", PUBLISH_API_READ_RETRIES="1")
    result = run(executor, "action_ask_user", tracker("ask <@U0BOB> where is the key?"))
    assert messages.SERVICE_DOWN in said(result)


def test_a_sender_without_slack_ids_is_told_so(executor, api_env, closed_port):
    api_env(f"http://127.0.0.1:{closed_port}")
    result = run(executor, "action_show_topics", tracker("show my topics", team=None))
    assert said(result) == messages.NOT_FROM_SLACK


def test_the_team_and_user_come_from_the_sender_id_without_metadata(executor, api_env,
                                                                    closed_port):
    api_env(f"http://127.0.0.1:{closed_port}", PUBLISH_API_READ_RETRIES="0")
    state = tracker("show my topics")
    state["latest_message"]["metadata"] = {}
    state["events"][0]["metadata"] = {}
    assert messages.SERVICE_DOWN in said(run(executor, "action_show_topics", state))


def test_a_missing_api_token_is_logged_not_shown(executor, api_env, monkeypatch, caplog):
    api_env("http://127.0.0.1:9")
    monkeypatch.delenv("API_TOKEN")
    result = run(executor, "action_show_topics", tracker("show my topics"))
    assert said(result) == messages.UNEXPECTED
    assert "API_TOKEN" in caplog.text


def test_ask_without_a_mention_explains_how(executor, api_env, closed_port):
    api_env(f"http://127.0.0.1:{closed_port}")
    result = run(executor, "action_ask_user", tracker("ask alice where is the key"))
    assert said(result) == messages.ASK_HOW


def test_ask_without_a_question_asks_for_one(executor, api_env, closed_port):
    api_env(f"http://127.0.0.1:{closed_port}")
    result = run(executor, "action_ask_user", tracker("ask <@U0BOB>"))
    assert said(result) == messages.ask_needs_question("<@U0BOB>")


@pytest.mark.parametrize("slot, value, complaint", [
    ("topic_question", "q" * 301, messages.QUESTION_TOO_LONG),
    ("topic_answer", "a" * 3001, messages.ANSWER_TOO_LONG),
    ("topic_question", "   ", messages.EMPTY_TEXT),
    ("topic_question", "/show_topics", messages.BUTTON_IN_FORM),
])
def test_topic_form_refuses_bad_values(executor, slot, value, complaint):
    state = tracker(value, set_now={slot: value, "requested_slot": slot},
                    active_loop="topic_form")
    result = run(executor, "validate_topic_form", state)
    assert slots_set(result)[slot] is None
    assert complaint in said(result)


def test_topic_form_keeps_good_values_stripped(executor):
    state = tracker(" Where? ", set_now={"topic_question": " Where? "}, active_loop="topic_form")
    assert slots_set(run(executor, "validate_topic_form", state))["topic_question"] == "Where?"


def test_reset_clears_every_form_slot(executor):
    result = run(executor, "action_reset_slots", tracker("cancel"))
    assert slots_set(result) == {name: None for name in (
        "topic_question", "topic_answer", "topic_ref", "topic_id", "topic_label",
        "topic_current", "new_answer", "alternative_text", "topic_candidates")}
