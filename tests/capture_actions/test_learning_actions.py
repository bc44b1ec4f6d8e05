"""The learning loop's actions through the real rasa-sdk executor against a real publish-api:
the owner's open questions and their buttons, answering, attaching, dismissing, 👍/👎 on an
answer, and how often topics were asked this week."""

from __future__ import annotations

import pytest

from actions import feedback, messages
from actions.unanswered import question_buttons
from tests.capture_actions.conftest import new_team, run, said, slots_set, tracker

pytestmark = pytest.mark.slow

OWNER = "U0ALICE"


@pytest.fixture
def team(publish_api, api_env):
    api_env(publish_api.url, publish_api.token)
    team = new_team()
    assert publish_api.call("PUT", f"/v1/users/{team}/{OWNER}",
                            json={"display_name": "Alice"}).status_code == 201
    return team


def ask(publish_api, team, question, asker="U0BOB", **extra):
    body = {"question": question, "asker_team_id": team, "asker_user_id": asker, **extra}
    response = publish_api.call("POST", f"/v1/users/{team}/{OWNER}/unanswered", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def questions(publish_api, team, state=""):
    query = f"?state={state}" if state else ""
    return publish_api.call("GET", f"/v1/users/{team}/{OWNER}/unanswered{query}").json()[
        "unanswered"]


def test_open_questions_are_listed_newest_first_escaped_with_their_buttons(executor,
                                                                          publish_api, team):
    older = ask(publish_api, team, "Where is the <!channel> coffee?")
    newer = ask(publish_api, team, "Who runs payroll?", "U0CAROL")
    result = run(executor, "action_show_unanswered", tracker("show my unanswered questions",
                                                              team=team))
    blocks = result["responses"][0]["custom"]["blocks"]
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert texts[0].startswith("You have 2 open questions")
    assert texts[1].startswith("“Who runs payroll?” asked by <@U0CAROL>")
    assert "“Where is the &lt;!channel&gt; coffee?”" in texts[2] and "<!channel>" not in texts[2]
    values = [[e["value"] for e in b["elements"]] for b in blocks if b["type"] == "actions"]
    assert values == [[b["payload"] for b in question_buttons(newer["id"])],
                      [b["payload"] for b in question_buttons(older["id"])]]
    assert values[0][0] == f'/answer_question{{"question_id":"{newer["id"]}"}}'


def test_no_open_questions_says_so(executor, team):
    result = run(executor, "action_show_unanswered", tracker("unanswered", team=team))
    assert messages.NO_OPEN_QUESTIONS in said(result)


def test_answer_it_asks_only_for_the_answer_then_makes_the_topic(executor, publish_api, team):
    asked = ask(publish_api, team, "Who runs <b>payroll</b>?")
    ask(publish_api, team, "who runs <b>payroll</b>?", "U0CAROL")
    checked = run(executor, "validate_answer_question_form", tracker(
        "/answer_question", team=team, set_now={"question_id": str(asked["id"])},
        active_loop="answer_question_form"))
    slots = slots_set(checked)
    assert slots["question_label"] == "Who runs &lt;b&gt;payroll&lt;/b&gt;?"
    assert slots["question_text"] == "Who runs <b>payroll</b>?"
    done = run(executor, "action_answer_question", tracker("Dana does.", team=team, slots={
        **slots, "question_answer": "Dana does."}))
    assert "as a new topic" in said(done) and "The 2 people who asked" in said(done)
    assert slots_set(done)["question_id"] is None
    topics = publish_api.call("GET", f"/v1/users/{team}/{OWNER}/topics").json()["topics"]
    assert [(t["question"], t["answer"]) for t in topics] == [
        ("Who runs <b>payroll</b>?", "Dana does.")]
    assert {q["state"] for q in questions(publish_api, team)} == {"answered"}
    # The same button again: the question is no longer open, and the owner is told so.
    again = run(executor, "validate_answer_question_form", tracker(
        "/answer_question", team=team, set_now={"question_id": str(asked["id"])},
        active_loop="answer_question_form"))
    assert slots_set(again)["question_id"] is None and messages.QUESTION_CLOSED in said(again)


def test_add_to_a_topic_offers_the_topics_and_attaches(executor, publish_api, team):
    publish_api.call("POST", f"/v1/users/{team}/{OWNER}/topics",
                     json={"question": "Where is the coffee?", "answer": "Second floor."})
    asked = ask(publish_api, team, "coffee machine?")
    offer = run(executor, "action_ask_attach_topic_ref", tracker(
        "", team=team, slots={"question_text": "coffee machine?"}))
    assert "Which topic should “coffee machine?” join?" in said(offer)
    buttons = offer["responses"][0]["custom"]["blocks"][-1]["elements"]
    assert [b["value"] for b in buttons] == ["1", "/cancel"]
    picked = run(executor, "validate_attach_question_form", tracker(
        "1", team=team, set_now={"attach_topic_ref": "1"}, active_loop="attach_question_form"))
    assert slots_set(picked)["attach_topic_label"] == "Where is the coffee?"
    done = run(executor, "action_attach_question", tracker("1", team=team, slots={
        "question_id": str(asked["id"]), "question_text": "coffee machine?",
        **slots_set(picked)}))
    assert "as another way to ask “Where is the coffee?”" in said(done)
    topic = publish_api.call("GET", f"/v1/users/{team}/{OWNER}/topics").json()["topics"][0]
    assert topic["alternatives"] == ["coffee machine?"]
    assert questions(publish_api, team)[0]["state"] == "attached"


def test_dismiss_closes_the_question_of_the_button(executor, publish_api, team):
    asked = ask(publish_api, team, "Is it Friday?")
    click = tracker("/dismiss_question", team=team)
    click["latest_message"]["entities"] = [{"entity": "question_id", "value": str(asked["id"])}]
    reply = said(run(executor, "action_dismiss_question", click))
    assert "Dismissed “Is it Friday?”" in reply
    # The bot said it didn't know: no "instead of guessing" for a bot that never guessed.
    assert "go on saying it doesn't know" in reply and "guess" not in reply
    assert questions(publish_api, team)[0]["state"] == "dismissed"
    assert messages.QUESTION_CLOSED in said(run(executor, "action_dismiss_question", click))


def test_dismissing_a_wrong_answer_says_the_bot_stops_giving_it_from_the_next_publish(
        executor, publish_api, team):
    asked = ask(publish_api, team, "Where is the tea?", kind="wrong_answer",
                given_answer="Second floor.")
    click = tracker("/dismiss_question", team=team)
    click["latest_message"]["entities"] = [{"entity": "question_id", "value": str(asked["id"])}]
    reply = said(run(executor, "action_dismiss_question", click))
    assert "From your next publish" in reply and "instead of giving that answer" in reply


def _feedback(intent, reference, team, asker="U0BOB", slots=None):
    state = tracker(f"/{intent}", team=team, user=asker, slots=slots)
    state["latest_message"]["intent"] = {"name": intent, "confidence": 1.0}
    state["latest_message"]["entities"] = [{"entity": "ask_ref", "value": reference}]
    return state


def test_thumbs_down_records_a_wrong_answer_for_the_owner(executor, publish_api, team):
    topic = publish_api.call("POST", f"/v1/users/{team}/{OWNER}/topics", json={
        "question": "Where is the coffee?", "answer": "Second floor."}).json()
    answered = {"owner_team_id": team, "owner_user_id": OWNER, "owner_label": "@Alice",
                "question": "where is the tea?", "answer": "Second floor.",
                "topic_id": topic["id"]}
    remembered = {"answered_asks": {"r1": answered}}
    down = run(executor, "action_answer_feedback",
               _feedback("answer_unhelpful", "r1", team, slots=remembered))
    assert messages.told_owner_unhelpful("@Alice") in said(down)
    assert slots_set(down)["answered_asks"] == {}
    [wrong] = questions(publish_api, team, "open")
    assert (wrong["kind"], wrong["question"], wrong["given_answer"], wrong["topic_id"]) == (
        "wrong_answer", "where is the tea?", "Second floor.", topic["id"])
    # Someone else's click, or a reference this conversation never gave: nothing recorded.
    stranger = run(executor, "action_answer_feedback",
                   _feedback("answer_unhelpful", "r1", team, asker="U0MALLORY"))
    assert messages.FEEDBACK_UNKNOWN in said(stranger)
    up = run(executor, "action_answer_feedback",
             _feedback("answer_helpful", "r2", team, slots={"answered_asks": {"r2": answered}}))
    assert messages.FEEDBACK_THANKS in said(up)
    assert len(questions(publish_api, team)) == 1


def test_remember_keeps_the_last_answers_only():
    state = {"answered_asks": {str(i): {"n": i} for i in range(feedback.REMEMBERED_ANSWERS)}}

    class Slots:
        def get_slot(self, name):
            return state.get(name)

    kept = feedback.remember(Slots(), "new", {"n": "new"})["value"]
    assert list(kept) == [str(i) for i in range(1, feedback.REMEMBERED_ANSWERS)] + ["new"]
    assert [b["title"] for b in feedback.buttons("x")] == ["👍", "👎"]


def test_show_my_topics_says_how_often_each_was_asked_this_week(executor, publish_api, team):
    topic = publish_api.call("POST", f"/v1/users/{team}/{OWNER}/topics", json={
        "question": "Where is the coffee?", "answer": "Second floor."}).json()
    for asker in ("U0BOB", "U0CAROL", "U0BOB"):
        publish_api.call("POST", f"/v1/users/{team}/{OWNER}/asks", json={
            "asker_team_id": team, "asker_user_id": asker, "topic_id": topic["id"]})
    listing = said(run(executor, "action_show_topics", tracker("show my topics", team=team)))
    assert "Where is the coffee? · asked 3 times this week" in listing


def test_a_rate_limited_thumbs_down_says_so_and_records_nothing(executor, publish_api, team):
    for _ in range(30):  # publish-api's default ASKS_PER_ASKER_PER_HOUR
        publish_api.call("POST", f"/v1/users/{team}/{OWNER}/asks",
                         json={"asker_team_id": team, "asker_user_id": "U0BOB"})
    answered = {"owner_team_id": team, "owner_user_id": OWNER, "owner_label": "@Alice",
                "question": "q?", "answer": "a.", "topic_id": None}
    down = run(executor, "action_answer_feedback", _feedback(
        "answer_unhelpful", "r1", team, slots={"answered_asks": {"r1": answered}}))
    assert messages.RATE_LIMITED in said(down)
    assert questions(publish_api, team) == []
