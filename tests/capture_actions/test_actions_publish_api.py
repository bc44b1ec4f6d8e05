"""The actions against a real publish-api (Postgres, RabbitMQ) through the real rasa-sdk
executor: what the concierge would do for Alice and Bob, checked in publish-api's own state."""

from __future__ import annotations

import socket

import pytest

from actions import messages
from actions.publish_api import (
    BotNotFound,
    NotFound,
    NothingToPublish,
    PublishApiClient,
    Rejected,
    TopicNotFound,
    Unauthorized,
    UserNotFound,
)
from tests.capture_actions.conftest import new_team, run, said, slots_set, tracker

pytestmark = pytest.mark.slow


@pytest.fixture
def team(publish_api, api_env):
    api_env(publish_api.url, publish_api.token)
    return new_team()


def add_topic(executor, team, question, answer, user="U0ALICE"):
    slots = {"topic_question": question, "topic_answer": answer}
    return run(executor, "action_save_topic", tracker("yes", team=team, user=user, slots=slots))


def topics_of(publish_api, team, user="U0ALICE"):
    response = publish_api.call("GET", f"/v1/users/{team}/{user}/topics")
    assert response.status_code == 200, response.text
    return response.json()["topics"]


def test_first_contact_registers_the_user_with_the_display_name(executor, publish_api, team):
    result = run(executor, "action_show_topics", tracker("show my topics", team=team))
    assert messages.LIST_EMPTY in said(result)
    assert slots_set(result)["owner_registered"] is True
    client = PublishApiClient(publish_api.url, publish_api.token)
    assert client.upsert_user(team, "U0ALICE", "Alice")["display_name"] == "Alice"


def test_add_topics_then_list_them_pending(executor, publish_api, team):
    saved = add_topic(executor, team, "Where is the wifi password?", "On the fridge.")
    assert "Saved" in said(saved) and "Add another topic?" in said(saved)
    assert slots_set(saved)["topic_question"] is None
    add_topic(executor, team, "When is lunch?", "At noon.")
    assert [t["question"] for t in topics_of(publish_api, team)] == [
        "Where is the wifi password?", "When is lunch?"]
    listing = said(run(executor, "action_show_topics", tracker("list", team=team)))
    assert "You have 2 topics: 0 ✅ published, 2 🔴 pending." in listing
    assert "🔴 *1.* Where is the wifi password?" in listing


def test_choose_a_topic_by_number_or_words(executor, team):
    add_topic(executor, team, "Where is the wifi password?", "On the fridge.")
    add_topic(executor, team, "When is lunch?", "At noon.")
    by_number = run(executor, "validate_delete_topic_form", tracker(
        "delete topic 2", team=team, set_now={"topic_ref": "2"}, active_loop="delete_topic_form"))
    assert slots_set(by_number)["topic_label"] == "When is lunch?"
    by_words = run(executor, "validate_edit_answer_form", tracker(
        "wifi", team=team, set_now={"topic_ref": "wifi"}, active_loop="edit_answer_form"))
    assert slots_set(by_words)["topic_label"] == "Where is the wifi password?"
    unknown = run(executor, "validate_alternative_form", tracker(
        "parking", team=team, set_now={"topic_ref": "parking"}, active_loop="alternative_form"))
    assert slots_set(unknown)["topic_ref"] is None
    assert "couldn't find a topic" in said(unknown)


def test_edit_answer_add_alternative_delete_one(executor, publish_api, team):
    add_topic(executor, team, "Where is the wifi password?", "On the fridge.")
    add_topic(executor, team, "When is lunch?", "At noon.")
    wifi, lunch = topics_of(publish_api, team)
    run(executor, "action_edit_answer", tracker(
        "x", team=team, slots={"topic_id": wifi["id"], "new_answer": "Under the router."}))
    run(executor, "action_add_alternative", tracker(
        "x", team=team, slots={"topic_id": wifi["id"], "alternative_text": "wifi key?"}))
    deleted = run(executor, "action_delete_topic", tracker(
        "yes", team=team, slots={"topic_id": lunch["id"], "topic_label": lunch["question"]}))
    assert "Deleted “When is lunch?”" in said(deleted)
    [only] = topics_of(publish_api, team)
    assert (only["answer"], only["alternatives"]) == ("Under the router.", ["wifi key?"])
    again = run(executor, "action_delete_topic", tracker(
        "yes", team=team, slots={"topic_id": lunch["id"], "topic_label": lunch["question"]}))
    assert said(again) == messages.TOPIC_GONE


def test_delete_all(executor, publish_api, team):
    add_topic(executor, team, "Q1?", "A1.")
    add_topic(executor, team, "Q2?", "A2.")
    result = run(executor, "action_delete_all_topics", tracker("yes", team=team))
    assert messages.all_deleted(2) in said(result)
    assert topics_of(publish_api, team) == []


def test_publish_starts_once_then_reports_it_is_under_way(executor, team):
    add_topic(executor, team, "Where is the wifi password?", "On the fridge.")
    first = run(executor, "action_publish", tracker("yes", team=team))
    assert messages.publishing_started(1) in said(first)
    second = run(executor, "action_publish", tracker("yes", team=team))
    assert said(second) == messages.ALREADY_PUBLISHING


def test_publishing_unchanged_topics_restarts_a_bot_that_is_gone(executor, publish_api, team):
    add_topic(executor, team, "Where is the wifi password?", "On the fridge.")
    run(executor, "action_publish", tracker("yes", team=team))
    make_live_at(publish_api, team, f"http://127.0.0.1:{closed_port()}")
    result = run(executor, "action_publish", tracker("yes", team=team))
    assert messages.publishing_started(1) in said(result)
    job = publish_api.call("GET", f"/v1/users/{team}/U0ALICE/bot").json()
    assert job["health"] == "unhealthy"  # until the new job goes live


def test_publish_with_nothing_to_publish(executor, team):
    run(executor, "action_show_topics", tracker("list", team=team))
    result = run(executor, "action_publish", tracker("yes", team=team))
    assert messages.NOTHING_TO_PUBLISH in said(result)


def unanswered(publish_api, team, user="U0ALICE"):
    response = publish_api.call("GET", f"/v1/users/{team}/{user}/unanswered")
    return [(i["question"], i["asker_user_id"]) for i in response.json()["unanswered"]]


def test_ask_a_user_without_a_bot_records_the_question(executor, publish_api, team):
    run(executor, "action_show_topics", tracker("list", team=team))  # Alice exists
    result = run(executor, "action_ask_user", tracker(
        "ask <@U0ALICE> where is the wifi?", team=team, user="U0BOB"))
    assert said(result) == messages.no_bot("<@U0ALICE>", noted=True)
    assert unanswered(publish_api, team) == [("where is the wifi?", "U0BOB")]


def test_ask_someone_who_never_used_the_concierge(executor, team):
    result = run(executor, "action_ask_user", tracker(
        "ask <@U0NOBODY> anything?", team=team, user="U0BOB"))
    assert said(result) == messages.unknown_owner("<@U0NOBODY>")


def test_ask_a_user_whose_bot_is_down_records_the_question(executor, publish_api, team):
    add_topic(executor, team, "Where is the wifi password?", "On the fridge.")
    run(executor, "action_publish", tracker("yes", team=team))
    make_live_at(publish_api, team, f"http://127.0.0.1:{closed_port()}")
    result = run(executor, "action_ask_user", tracker(
        "ask <@U0ALICE> where is the wifi?", team=team, user="U0BOB"))
    assert said(result) == messages.bot_down("@Alice", noted=True)
    assert unanswered(publish_api, team) == [("where is the wifi?", "U0BOB")]
    bot = publish_api.call("GET", f"/v1/users/{team}/U0ALICE/bot").json()
    assert bot["health"] == "unhealthy"  # so Alice's next publish restarts it
    republish = publish_api.call("POST", f"/v1/users/{team}/U0ALICE/publish")
    assert republish.status_code == 202


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_live_at(publish_api, team, endpoint):
    """Plays the broker's part: the queued job goes live with `endpoint`."""
    bot = publish_api.call("POST", f"/v1/users/{team}/U0ALICE/publish").json()["job"]
    for body in ({"state": "training"}, {"state": "deploying"},
                 {"state": "live", "endpoint": endpoint, "model_digest": "test"}):
        response = publish_api.call("POST", f"/v1/jobs/{bot['id']}/transitions", json=body)
        assert response.status_code == 200, response.text


def test_client_errors_carry_status_and_code(publish_api, team):
    client = PublishApiClient(publish_api.url, publish_api.token)
    with pytest.raises(UserNotFound) as missing:
        client.list_topics(team, "U0NOBODY")
    assert (missing.value.status, missing.value.code) == (404, "user_not_found")
    client.upsert_user(team, "U0ALICE", "Alice")
    with pytest.raises(BotNotFound):
        client.get_bot(team, "U0ALICE")
    with pytest.raises(NothingToPublish):
        client.publish(team, "U0ALICE")
    with pytest.raises(TopicNotFound):
        client.delete_topic(team, "U0ALICE", 999999)
    with pytest.raises(NotFound) as route:  # a 404 of no known kind is still a NotFound
        client._call("GET", "/v1/nowhere")
    assert type(route.value) is NotFound
    with pytest.raises(Rejected) as too_long:
        client.create_topic(team, "U0ALICE", "q" * 301, "a")
    assert too_long.value.field == "question"
    with pytest.raises(Unauthorized) as unauthorized:
        PublishApiClient(publish_api.url, "wrong-token").list_topics(team, "U0ALICE")
    assert "wrong-token" not in str(unauthorized.value)
