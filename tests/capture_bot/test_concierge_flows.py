"""Conversations through Slack's protocol with the real concierge, action server and
publish-api: free-text form answers go through the real NLU model, as in Slack."""

from __future__ import annotations

import pytest

from tests.capture_bot.servers import SIGNING_SECRET
from tests.capture_bot.test_slack_connector import TEAM, channel_id
from tests.support.slack_api import message_event, send_event, send_interaction

pytestmark = pytest.mark.slow


class Dm:
    """One user's DM with the concierge: say something, get the concierge's new replies."""

    def __init__(self, webhook, slack, user):
        self.webhook, self.slack, self.user, self.channel = webhook, slack, user, channel_id()

    def say(self, text: str, replies: int = 1) -> str:
        before = len(self.slack.posts(self.channel))
        event = message_event(TEAM, self.user, text, channel=self.channel)
        assert send_event(self.webhook, SIGNING_SECRET, event).status_code == 200
        return self._new_replies(before, replies)

    def click(self, payload: str, replies: int = 1) -> str:
        before = len(self.slack.posts(self.channel))
        response = send_interaction(self.webhook, SIGNING_SECRET, TEAM, self.user, payload,
                                    channel=self.channel)
        assert response.status_code == 200
        return self._new_replies(before, replies)

    def _new_replies(self, before: int, count: int) -> str:
        posts = self.slack.wait_for_posts(before + count, channel=self.channel)
        new = posts[before:]
        return "\n".join(_text(post.args) for post in new)


def _text(args) -> str:
    blocks = args.get("blocks") or []
    if isinstance(blocks, list) and blocks and blocks[0].get("type") == "section":
        return "\n".join(b["text"]["text"] for b in blocks if b.get("type") == "section")
    return args.get("text", "")


def test_alice_adds_two_topics_lists_them_and_publishes(webhook, slack, publish_api):
    dm = Dm(webhook, slack, "U0CAROL")
    assert "Hi! I keep your answers" in dm.say("hi")
    assert "What is the question" in dm.say("hey, add a new topic")
    assert "what is your answer" in dm.say("Where is the wifi password?")
    confirm = dm.say("It is on the fridge, next to the coffee.")
    assert "Save this topic?" in confirm and "Where is the wifi password?" in confirm
    assert "Add another topic?" in dm.say("yes")
    assert "What is the question" in dm.click("/affirm")
    assert "what is your answer" in dm.say("How do I publish my slides?")
    assert "Save this topic?" in dm.say("Upload them to the wiki.")
    assert "Add another topic?" in dm.click("/affirm")
    assert "Anything else?" in dm.say("no thanks")
    listing = dm.say("show my topics")
    assert "You have 2 topics: 0 ✅ published, 2 🔴 pending." in listing
    assert "*2.* How do I publish my slides?" in listing
    assert "Publish all your topics" in dm.say("let's publish now")
    assert "Publishing started (2 topics)" in dm.say("yes")
    topics = publish_api.call("GET", f"/v1/users/{TEAM}/U0CAROL/topics").json()["topics"]
    assert [t["answer"] for t in topics] == ["It is on the fridge, next to the coffee.",
                                             "Upload them to the wiki."]


def test_cancel_in_the_middle_of_adding_a_topic(webhook, slack, publish_api):
    dm = Dm(webhook, slack, "U0DAN")
    assert "What is the question" in dm.say("add a topic")
    assert "OK, cancelled" in dm.click("/cancel")
    assert "You have no topics yet" in dm.say("show my topics")


def test_edit_and_delete_by_number(webhook, slack, publish_api):
    dm = Dm(webhook, slack, "U0ERIN")
    dm.say("add a new topic")
    dm.say("When is the standup?")
    dm.say("At 9:30.")
    dm.say("yes")
    dm.say("no")
    # The topic and its answer now, each once, with no doubled question mark.
    assert ("What is the new answer to this question?\n*When is the standup?*\n"
            "Its answer now:\n>At 9:30.\n") in dm.say("edit answer 1")
    assert "Updated the answer" in dm.say("At 10:00 on Mondays.")
    assert "Delete this topic?\n*When is the standup?*" in dm.say("delete topic 1")
    # Never published: no live bot answers it, so none is said to.
    assert dm.say("yes").startswith("Deleted “When is the standup?”.")
    assert "You have no topics yet" in dm.say("show my topics")


def test_unknown_text_gets_the_fallback_with_buttons(webhook, slack):
    dm = Dm(webhook, slack, "U0FRED")
    assert "didn't get that" in dm.say("purple elephants compile quietly")
    assert slack.posts(dm.channel)[-1].args["blocks"][1]["type"] == "actions"
