"""A concierge that understands where the user is: top-level requests in the middle of every
form, at every slot, and the topic named in a request. Driven through Slack's protocol with
the real concierge, action server and publish-api, as test_concierge_flows.py does."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest

from tests.capture_bot.test_concierge_flows import Dm
from tests.capture_bot.test_slack_connector import TEAM

pytestmark = pytest.mark.slow

_users = itertools.count(1)

TOPICS = [("How do I get a laptop charger?", "Ask the IT desk on floor 2."),
          ("What is the guest wifi called?", "It is called Visitors."),
          ("Where do I order a new laptop bag?", "In the supplies portal.")]


def owner_with_topics(webhook, slack, publish_api, topics=TOPICS[:1]) -> Dm:
    user = f"U0FORM{next(_users):04d}"
    path = f"/v1/users/{TEAM}/{user}"
    assert publish_api.call("PUT", path, json={"display_name": user}).ok
    for question, answer in topics:
        assert publish_api.call("POST", path + "/topics",
                                json={"question": question, "answer": answer}).ok
    return Dm(webhook, slack, user)


@dataclass(frozen=True)
class Slot:
    """Where a form waits: how to get there, its prompt, and a value that moves it on."""

    form: str
    slot: str
    steps: tuple  # messages that lead to the prompt (the last one's reply is the prompt)
    prompt: str
    value: str
    after: str  # the reply to `value`
    activity: str


SLOTS = [
    Slot("topic_form", "topic_question", ("add a topic",), "What is the question",
         "Where can I charge my phone?", "what is your answer", "adding a topic"),
    Slot("topic_form", "topic_answer", ("add a topic", "Where can I charge my phone?"),
         "what is your answer", "At any desk with a dock.", "Save this topic?",
         "adding a topic"),
    Slot("delete_topic_form", "topic_ref", ("delete a topic",), "Which topic?", "1",
         "Delete this topic?", "deleting a topic"),
    Slot("edit_answer_form", "topic_ref", ("edit an answer",), "Which topic?", "1",
         "What is the new answer", "editing an answer"),
    Slot("edit_answer_form", "new_answer", ("edit answer 1",), "What is the new answer",
         "The IT desk moved to floor 3.", "Updated the answer", "editing an answer"),
    Slot("alternative_form", "topic_ref", ("add an alternative phrasing",), "Which topic?",
         "1", "How else might people ask", "adding another way to ask a question"),
    Slot("alternative_form", "alternative_text", ("add alternative phrasing to topic 1",),
         "How else might people ask", "Where are laptop chargers?", "Added",
         "adding another way to ask a question"),
]


def start(dm: Dm, slot: Slot) -> None:
    for step in slot.steps[:-1]:
        dm.say(step)
    assert slot.prompt in dm.say(slot.steps[-1])


@pytest.mark.parametrize("slot", SLOTS, ids=lambda s: f"{s.form}-{s.slot}")
@pytest.mark.parametrize("request_text", ["show my topics", "/show_topics"])
def test_showing_the_topics_answers_and_resumes_the_form(webhook, slack, publish_api, slot,
                                                         request_text):
    dm = owner_with_topics(webhook, slack, publish_api)
    start(dm, slot)
    act = dm.click if request_text.startswith("/") else dm.say
    reply = act(request_text, replies=3)
    assert "You have 1 topic" in reply and "How do I get a laptop charger?" in reply
    assert f"Back to {slot.activity}" in reply and slot.prompt in reply
    assert slot.after in dm.say(slot.value)


@pytest.mark.parametrize("slot", SLOTS, ids=lambda s: f"{s.form}-{s.slot}")
def test_help_answers_and_resumes_the_form(webhook, slack, publish_api, slot):
    dm = owner_with_topics(webhook, slack, publish_api)
    start(dm, slot)
    reply = dm.say("what can you do?" if slot.slot not in ("topic_question",
                                                           "alternative_text") else "help",
                   replies=3)
    assert "I can:" in reply and f"Back to {slot.activity}" in reply and slot.prompt in reply
    assert slot.after in dm.say(slot.value)


@pytest.mark.parametrize("slot", SLOTS, ids=lambda s: f"{s.form}-{s.slot}")
def test_publishing_abandons_the_form(webhook, slack, publish_api, slot):
    dm = owner_with_topics(webhook, slack, publish_api)
    start(dm, slot)
    reply = dm.say("publish", replies=2)
    assert f"OK, I stopped {slot.activity}; nothing was saved." in reply
    assert "Publish all your topics as your bot now?" in reply
    assert "Publishing started (1 topic)." in dm.say("yes")
    topics = publish_api.call("GET", f"/v1/users/{TEAM}/{dm.user}/topics").json()["topics"]
    assert [(t["question"], t["answer"], t["alternatives"]) for t in topics] == [
        (TOPICS[0][0], TOPICS[0][1], [])]


@pytest.mark.parametrize("slot", SLOTS, ids=lambda s: f"{s.form}-{s.slot}")
def test_adding_a_topic_abandons_the_form_and_starts_a_new_one(webhook, slack, publish_api,
                                                               slot):
    dm = owner_with_topics(webhook, slack, publish_api)
    start(dm, slot)
    reply = dm.click("/add_topic", replies=2)
    assert f"OK, I stopped {slot.activity}" in reply and "What is the question" in reply
    assert "what is your answer" in dm.say("When is the office closed?")
    assert "Save this topic?" in dm.say("Between Christmas and New Year.")


@pytest.mark.parametrize("slot", SLOTS, ids=lambda s: f"{s.form}-{s.slot}")
def test_cancel_abandons_the_form(webhook, slack, publish_api, slot):
    dm = owner_with_topics(webhook, slack, publish_api)
    start(dm, slot)
    assert "OK, cancelled. Nothing was changed." in dm.say("cancel")
    assert "You have 1 topic" in dm.say("show my topics")


def test_a_question_that_sounds_like_a_request_is_the_question(webhook, slack, publish_api):
    dm = owner_with_topics(webhook, slack, publish_api)
    dm.say("add a topic")
    assert "what is your answer" in dm.say("How do I publish a blog post?")
    assert "Save this topic?" in dm.say("Write it in the wiki, then press share.")


# --- a topic named in the request ------------------------------------------------------------

def test_a_request_naming_one_topic_uses_it(webhook, slack, publish_api):
    dm = owner_with_topics(webhook, slack, publish_api, TOPICS)
    reply = dm.say("change the answer of the wifi topic")
    assert "What is the new answer to this question?\n*What is the guest wifi called?*" in reply
    assert "Updated the answer" in dm.say("It is called Guests now.")
    topics = publish_api.call("GET", f"/v1/users/{TEAM}/{dm.user}/topics").json()["topics"]
    assert topics[1]["answer"] == "It is called Guests now."


def test_a_request_naming_several_topics_offers_them_as_buttons(webhook, slack, publish_api):
    dm = owner_with_topics(webhook, slack, publish_api, TOPICS)
    reply = dm.say("add another way to ask the laptop question")
    assert "2 topics match" in reply and "Which one?" in reply
    buttons = slack.posts(dm.channel)[-1].args["blocks"][1]["elements"]
    assert [b["text"]["text"] for b in buttons] == [
        "1. How do I get a laptop charger?", "3. Where do I order a new laptop bag?", "Cancel"]
    assert "How else might people ask this question?\n*Where do I order a new laptop bag?*" in (
        dm.click(buttons[1]["value"]))
    assert "Added" in dm.say("Where can I buy a bag for my notebook?")
    topics = publish_api.call("GET", f"/v1/users/{TEAM}/{dm.user}/topics").json()["topics"]
    assert topics[2]["alternatives"] == ["Where can I buy a bag for my notebook?"]
    assert topics[0]["alternatives"] == []


def test_a_request_naming_a_number_uses_it(webhook, slack, publish_api):
    dm = owner_with_topics(webhook, slack, publish_api, TOPICS)
    assert "Delete this topic?\n*Where do I order a new laptop bag?*" in dm.say("delete topic 3")
    assert "Deleted" in dm.say("yes")


def test_a_request_naming_no_topic_asks_which(webhook, slack, publish_api):
    dm = owner_with_topics(webhook, slack, publish_api, TOPICS)
    assert "Which topic?" in dm.say("delete the topic about parking")
    assert "Which topic?" in dm.say("edit an answer", replies=2)


def test_several_topics_matching_typed_words_are_offered_too(webhook, slack, publish_api):
    dm = owner_with_topics(webhook, slack, publish_api, TOPICS)
    assert "Which topic?" in dm.say("edit an answer")
    reply = dm.say("laptop")
    assert "2 topics match" in reply
    assert "What is the new answer" in dm.say("3")


# --- user text shown back is escaped -----------------------------------------------------------

def test_user_text_shown_back_cannot_ping_a_channel_or_forge_a_mention(webhook, slack,
                                                                       publish_api):
    dm = owner_with_topics(webhook, slack, publish_api, [])
    dm.say("add a topic")
    # As Slack sends what was typed: "@channel" becomes <!channel>, "&" becomes &amp;.
    dm.say("Who decides when to ping <!channel> &amp; <!here>?")
    confirm = dm.say("Only <@U0BOSS> &amp; the <!subteam^S0OPS> team, never &lt;!everyone&gt;.")
    assert "Save this topic?" in confirm
    assert "&lt;!channel&gt; &amp; &lt;!here&gt;" in confirm and "&lt;@U0BOSS&gt;" in confirm
    assert "Saved" in dm.say("yes")
    dm.say("no")
    assert "&lt;!channel&gt;" in dm.say("show my topics")
    assert "&lt;!here&gt;" in dm.say("edit answer 1")
    dm.say("cancel")
    assert "&lt;!channel&gt;" in dm.say("delete topic 1")
    dm.say("no")
    for post in slack.posts(dm.channel):
        shown = post.args.get("text", "") + str(post.args.get("blocks", ""))
        for markup in ("<!channel>", "<!here>", "<@U0BOSS>", "<!subteam", "<!everyone>"):
            assert markup not in shown, (markup, shown)
    [topic] = publish_api.call("GET", f"/v1/users/{TEAM}/{dm.user}/topics").json()["topics"]
    assert topic["question"] == "Who decides when to ping <!channel> & <!here>?"
    assert topic["answer"] == ("Only <@U0BOSS> & the <!subteam^S0OPS> team, "
                               "never <!everyone>.")


# --- the learning loop's forms join the same mechanism ----------------------------------------

def owner_with_a_question(webhook, slack, publish_api) -> tuple:
    dm = owner_with_topics(webhook, slack, publish_api)
    path = f"/v1/users/{TEAM}/{dm.user}/unanswered"
    body = {"question": "Can I work from the Lisbon office?", "asker_team_id": TEAM,
            "asker_user_id": "U0ASKER9"}
    response = publish_api.call("POST", path, json=body)
    assert response.status_code == 201, response.text
    return dm, response.json()["id"]


def button(slack, dm, title: str) -> str:
    for block in slack.posts(dm.channel)[-1].args["blocks"]:
        for element in block.get("elements") or []:
            if element["text"]["text"] == title:
                return element["value"]
    raise AssertionError(f"no {title!r} button")


LEARNING_SLOTS = [("Answer it", "What is your answer to", "answering a question"),
                  ("Add to a topic", "Which topic should", "adding a question to a topic")]


@pytest.mark.parametrize("title, prompt, activity", LEARNING_SLOTS)
def test_a_question_form_resumes_after_showing_topics(webhook, slack, publish_api, title,
                                                      prompt, activity):
    dm, _ = owner_with_a_question(webhook, slack, publish_api)
    dm.say("show my unanswered questions")
    assert prompt in dm.click(button(slack, dm, title))
    reply = dm.say("list my topics", replies=3)
    assert "You have 1 topic" in reply and f"Back to {activity}" in reply and prompt in reply


@pytest.mark.parametrize("title, prompt, activity", LEARNING_SLOTS)
def test_a_question_form_is_abandoned_for_publishing(webhook, slack, publish_api, title,
                                                     prompt, activity):
    dm, question = owner_with_a_question(webhook, slack, publish_api)
    dm.say("show my unanswered questions")
    dm.click(button(slack, dm, title))
    reply = dm.click("/publish", replies=2)
    assert f"OK, I stopped {activity}" in reply and "Publish all your topics" in reply
    still = publish_api.call("GET", f"/v1/users/{TEAM}/{dm.user}/unanswered?state=open")
    assert [q["id"] for q in still.json()["unanswered"]] == [question]


def test_answer_it_clicked_while_adding_a_topic_starts_answering_that_question(webhook, slack,
                                                                             publish_api):
    dm, _ = owner_with_a_question(webhook, slack, publish_api)
    dm.say("show my unanswered questions")
    answer_it = button(slack, dm, "Answer it")
    dm.say("add a topic")
    reply = dm.click(answer_it, replies=2)
    assert "OK, I stopped adding a topic" in reply
    assert "What is your answer to “Can I work from the Lisbon office?”" in reply
    assert "as a new topic" in dm.say("Yes, book a desk two days ahead.")
