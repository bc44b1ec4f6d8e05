"""The learning loop end to end through Slack's protocol, with every real part (concierge,
action server, publish-api, RabbitMQ, broker worker, live bot): Alice publishes, Bob asks
something her bot does not know, Alice is told, answers it from the button and publishes, Bob is
told the answer, and a reworded ask gets it; Bob's 👎 puts the question back in Alice's list."""

from __future__ import annotations

import pytest

from tests.capture_bot.servers import free_port
from tests.capture_bot.test_concierge_flows import Dm
from tests.support.services import start_publish_api

pytestmark = pytest.mark.slow

TEAM = "T0TEST"
VPN = ("How do I reset my VPN password?", "Use the self-service portal at vpn.example.com.")
BIKE = "where can I park my bike?"
BIKE_ANSWER = "Bike racks are behind building B."


@pytest.fixture(scope="module")
def publish_api(logs):
    api = start_publish_api(free_port(), logs, QUESTION_DIGEST_DELAY_S="1",
                            QUESTION_DIGEST_PERIOD_S="5")
    yield api
    api.stop()


def _wait_for_dm(slack, user: str, words: str, timeout: float = 240) -> str:
    """The first post to `user`'s DM (by user id, as the broker posts) containing `words`."""
    def found(_calls):
        return [p for p in slack.posts(channel=user) if words in p.args.get("text", "")]

    slack.wait_for(found, timeout=timeout)
    return found(None)[0].args["text"]


def _buttons(slack, dm) -> dict:
    """{title: payload} of every button in the concierge's last post to `dm`."""
    blocks = slack.posts(dm.channel)[-1].args["blocks"]
    return {e["text"]["text"]: e["value"]
            for block in blocks for e in block.get("elements") or []}


def test_an_unknown_question_reaches_the_owner_and_its_answer_reaches_the_asker(
        webhook, slack, publish_api):
    alice, bob = Dm(webhook, slack, "U0ALICE"), Dm(webhook, slack, "U0BOB")
    alice.say("add a new topic")
    alice.say(VPN[0])
    alice.say(VPN[1])
    alice.say("yes")
    alice.say("no")
    alice.say("publish")
    assert "Publishing started" in alice.say("yes")
    _wait_for_dm(slack, "U0ALICE", "live with 1 topic")

    assert "doesn't know that one yet" in bob.say(f"ask <@U0ALICE> {BIKE}")
    told = _wait_for_dm(slack, "U0ALICE", BIKE, timeout=60)
    assert "asked by <@U0BOB>" in told

    alice.say("show my unanswered questions")
    assert f"What is your answer to “{BIKE}”" in alice.click(_buttons(slack, alice)["Answer it"])
    assert "as a new topic" in alice.say(BIKE_ANSWER)
    alice.say("publish")
    assert "Publishing started" in alice.say("yes")
    answer = _wait_for_dm(slack, "U0BOB", "answered your question")
    assert answer == f"<@U0ALICE> answered your question “{BIKE}”: {BIKE_ANSWER}"

    reworded = bob.say("ask <@U0ALICE> where should I park my bike")
    assert reworded == f"@Alice says: {BIKE_ANSWER}"
    assert list(_buttons(slack, bob)) == ["👍", "👎"]
    assert "told @Alice that answer didn't help" in bob.click(_buttons(slack, bob)["👎"])
    wrong = publish_api.call("GET", f"/v1/users/{TEAM}/U0ALICE/unanswered?state=open").json()
    assert [(q["kind"], q["given_answer"]) for q in wrong["unanswered"]] == [
        ("wrong_answer", BIKE_ANSWER)]
    assert len([p for p in slack.posts(channel="U0BOB")
                if "answered your question" in p.args.get("text", "")]) == 1
