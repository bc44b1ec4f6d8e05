"""The whole product through Slack's protocol: signed Events API requests to the concierge,
its real action server, publish-api, RabbitMQ, the broker worker and a live process bot, with a
local server standing in for Slack's Web API."""

from __future__ import annotations

import time

import pytest

from tests.capture_bot.servers import SIGNING_SECRET
from tests.capture_bot.test_concierge_flows import Dm
from tests.support.slack_api import message_event, send_event

pytestmark = pytest.mark.slow

TEAM = "T0TEST"
VPN = ("How do I reset my VPN password?", "Use the self-service portal at vpn.example.com.")
LUNCH = ("Where do we order team lunch?", "Order lunch through the catering form on the wiki.")


@pytest.fixture(scope="module")
def alice_published(webhook, slack, publish_api):
    """Alice says hi, adds two topics, lists them (pending), publishes, hears it is live."""
    alice = Dm(webhook, slack, "U0ALICE")
    assert "Hi! I keep your answers" in alice.say("hi")
    for question, answer in (VPN, LUNCH):
        assert "What is the question" in alice.say("add a new topic")
        assert "what is your answer" in alice.say(question)
        assert "Save this topic?" in alice.say(answer)
        assert "Add another topic?" in alice.say("yes")
        assert "Anything else?" in alice.say("no")
    assert "2 🔴 pending" in alice.say("show my topics")
    assert "Publish all your topics" in alice.say("let's publish now")
    assert "Publishing started" in alice.say("yes")
    live = slack.wait_for(lambda calls: any("live" in c.args.get("text", "")
                                            for c in calls if c.args.get("channel") == "U0ALICE"),
                          timeout=180)
    assert live
    return alice


def test_alice_sees_her_topics_published(alice_published):
    listing = alice_published.say("show my topics")
    assert "2 ✅ published, 0 🔴 pending" in listing


def test_bob_gets_alices_answer_to_a_paraphrase(alice_published, webhook, slack):
    bob = Dm(webhook, slack, "U0BOB")
    reply = bob.say("ask <@U0ALICE> how can I reset the password of the vpn?")
    assert reply == f"@Alice says: {VPN[1]}"


def test_bob_asks_something_unrelated_and_alice_learns_of_it(alice_published, webhook, slack,
                                                              publish_api):
    bob = Dm(webhook, slack, "U0BOB")
    question = "what is the airspeed velocity of an unladen swallow?"
    reply = bob.say(f"ask <@U0ALICE> {question}")
    assert "@Alice's bot doesn't know that one yet" in reply
    unanswered = publish_api.call("GET", f"/v1/users/{TEAM}/U0ALICE/unanswered").json()
    assert [(u["question"], u["asker_user_id"]) for u in unanswered["unanswered"]] == [
        (question, "U0BOB")]


def test_bad_signature_and_stale_timestamp_get_no_reply(alice_published, webhook, slack):
    before = len(slack.posts())
    event = message_event(TEAM, "U0BOB", "hi", channel="D0BOBSIG")
    assert send_event(webhook, "not-the-secret", event).status_code in (400, 401, 403)
    stale = int(time.time()) - 3600
    assert send_event(webhook, SIGNING_SECRET, event, timestamp=stale).status_code in (
        400, 401, 403)
    # A valid request afterwards is answered: the two above really were dropped, not queued.
    assert send_event(webhook, SIGNING_SECRET, message_event(
        TEAM, "U0BOB", "hi", channel="D0BOBOK")).status_code == 200
    slack.wait_for_posts(1, channel="D0BOBOK")
    assert slack.posts(channel="D0BOBSIG") == []
    assert len(slack.posts()) == before + 1


def test_a_retried_event_gets_exactly_one_reply(alice_published, webhook, slack):
    event = message_event(TEAM, "U0BOB", "ask <@U0ALICE> where do we order team lunch?",
                          channel="D0BOBRETRY")
    assert send_event(webhook, SIGNING_SECRET, event).status_code == 200
    for attempt, reason in ((1, "http_timeout"), (2, "http_error")):
        response = send_event(webhook, SIGNING_SECRET, event, retry_num=attempt,
                              retry_reason=reason)
        assert response.status_code == 200
    replies = slack.wait_for_posts(1, channel="D0BOBRETRY")
    assert replies[0].args["text"] == f"@Alice says: {LUNCH[1]}"
    # Wait for a marker reply in the same channel: anything the retries caused is before it.
    send_event(webhook, SIGNING_SECRET, message_event(TEAM, "U0BOB", "hi", channel="D0BOBRETRY"))
    replies = slack.wait_for_posts(2, channel="D0BOBRETRY")
    assert [r.args["text"] for r in replies].count(f"@Alice says: {LUNCH[1]}") == 1
