"""The learning loop in conversation, through Slack's protocol with the real concierge (trained),
action server and publish-api: the owner's unanswered questions and their buttons."""

from __future__ import annotations

import pytest

from tests.capture_bot.test_concierge_flows import Dm
from tests.capture_bot.test_slack_connector import TEAM

pytestmark = pytest.mark.slow


def _owner_with_questions(publish_api, owner: str, *questions: str) -> list[dict]:
    path = f"/v1/users/{TEAM}/{owner}"
    assert publish_api.call("PUT", path, json={"display_name": owner}).status_code in (200, 201)
    recorded = []
    for number, question in enumerate(questions):
        body = {"question": question, "asker_team_id": TEAM, "asker_user_id": f"U0ASKER{number}"}
        response = publish_api.call("POST", f"{path}/unanswered", json=body)
        assert response.status_code == 201, response.text
        recorded.append(response.json())
    return recorded


def _buttons_of(slack, dm, question_id: int) -> dict:
    """The buttons of one question in the concierge's last list: {title: payload}."""
    blocks = slack.posts(dm.channel)[-1].args["blocks"]
    for block in blocks:
        values = {e["text"]["text"]: e["value"] for e in block.get("elements") or []}
        if any(f'"question_id":"{question_id}"' in value for value in values.values()):
            return values
    raise AssertionError(f"no buttons for question {question_id} in {blocks}")


def test_the_main_menu_has_the_unanswered_questions_button(webhook, slack):
    dm = Dm(webhook, slack, "U0MENU")
    dm.say("hi")
    buttons = slack.posts(dm.channel)[-1].args["blocks"][1]["elements"]
    assert "/show_unanswered" in [b["value"] for b in buttons]
    assert "No open questions" in dm.click("/show_unanswered")


def test_answer_attach_and_dismiss_from_the_list(webhook, slack, publish_api):
    payroll, coffee, friday = _owner_with_questions(
        publish_api, "U0OLIVIA", "Who runs payroll?", "coffee <!here> machine?", "Is it Friday?")
    dm = Dm(webhook, slack, "U0OLIVIA")
    listing = dm.say("show my unanswered questions")
    assert "You have 3 open questions" in listing
    assert listing.index("Is it Friday?") < listing.index("Who runs payroll?")  # newest first
    assert "“coffee &lt;!here&gt; machine?” asked by <@U0ASKER1>" in listing

    asked = dm.click(_buttons_of(slack, dm, payroll["id"])["Answer it"])
    assert "What is your answer to “Who runs payroll?”" in asked
    assert "as a new topic" in dm.say("Dana runs payroll, ask her on Mondays.")
    topics = publish_api.call("GET", f"/v1/users/{TEAM}/U0OLIVIA/topics").json()["topics"]
    assert [(t["question"], t["answer"]) for t in topics] == [
        ("Who runs payroll?", "Dana runs payroll, ask her on Mondays.")]

    dm.say("show my unanswered questions")
    offer = dm.click(_buttons_of(slack, dm, coffee["id"])["Add to a topic"])
    assert "Which topic should “coffee &lt;!here&gt; machine?” join?" in offer
    assert "*1.* Who runs payroll?" in offer
    assert "as another way to ask “Who runs payroll?”" in dm.click("1")

    dm.say("show my unanswered questions")
    assert "Dismissed “Is it Friday?”" in dm.click(_buttons_of(slack, dm, friday["id"])["Dismiss"])
    assert "No open questions" in dm.say("show my unanswered questions")
    states = {q["id"]: q["state"] for q in publish_api.call(
        "GET", f"/v1/users/{TEAM}/U0OLIVIA/unanswered").json()["unanswered"]}
    assert states == {payroll["id"]: "answered", coffee["id"]: "attached",
                      friday["id"]: "dismissed"}


def test_cancel_while_answering_changes_nothing(webhook, slack, publish_api):
    [question] = _owner_with_questions(publish_api, "U0PETER", "Where do I park?")
    dm = Dm(webhook, slack, "U0PETER")
    dm.say("show my unanswered questions")
    assert "What is your answer" in dm.click(_buttons_of(slack, dm, question["id"])["Answer it"])
    assert "OK, cancelled" in dm.click("/cancel")
    assert publish_api.call("GET", f"/v1/users/{TEAM}/U0PETER/topics").json()["topics"] == []
    still = publish_api.call("GET", f"/v1/users/{TEAM}/U0PETER/unanswered?state=open").json()
    assert [q["id"] for q in still["unanswered"]] == [question["id"]]
