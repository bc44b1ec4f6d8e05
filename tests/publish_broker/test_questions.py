"""The learning loop's notices on a real worker, RabbitMQ, publish-api and Slack stand-in: the
owner's batched digest of new questions, and the answer sent to each asker once, when the topic
made from their question goes live (real training)."""

from __future__ import annotations

import socket
import time

import pytest
from kombu import Connection

from publish_broker.notify import answer_message, digest_message
from tests.support.services import (
    QUEUE_URL,
    start_broker_worker,
    start_publish_api,
    wait_until,
)
from tests.support.slack_api import SlackApi

pytestmark = pytest.mark.slow

TEAM = "T0LEARN"
SLACK_TOKEN = "xoxb-questions"
DELAY_S, PERIOD_S = 1, 6


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def slack():
    with SlackApi(bot_token=SLACK_TOKEN) as server:
        yield server


@pytest.fixture(scope="module")
def api(tmp_path_factory, slack):
    logs = tmp_path_factory.mktemp("questions")
    running = start_publish_api(_free_port(), logs, QUESTION_DIGEST_DELAY_S=str(DELAY_S),
                                QUESTION_DIGEST_PERIOD_S=str(PERIOD_S))
    worker = start_broker_worker(running, logs, logs / "bots", SLACK_BOT_TOKEN=SLACK_TOKEN,
                                 SLACK_API_URL=slack.url, PARAPHRASES_PER_TOPIC="4")
    yield running
    worker.stop()
    running.stop()
    with Connection(QUEUE_URL) as conn:
        conn.default_channel.queue_delete(running.queue)


def _owner(api, user_id: str) -> str:
    path = f"/v1/users/{TEAM}/{user_id}"
    assert api.call("PUT", path, json={"display_name": user_id}).status_code == 201
    return path


def _asked(api, path: str, question: str, asker: str) -> dict:
    body = {"question": question, "asker_team_id": TEAM, "asker_user_id": asker}
    response = api.call("POST", f"{path}/unanswered", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_the_owner_gets_one_digest_per_period_naming_each_question_once(api, slack):
    path = _owner(api, "U0DIGEST")
    started = time.monotonic()
    _asked(api, path, "<!channel> where is <@U0BOSS>'s office?", "U0BOB")
    _asked(api, path, "Who runs payroll?", "U0CAROL")
    first = slack.wait_for_posts(1, channel="U0DIGEST", timeout=60)[0].args["text"]
    assert "<!channel>" not in first and "<@U0BOSS>" not in first
    assert "“&lt;!channel&gt; where is &lt;@U0BOSS&gt;'s office?” (asked by <@U0BOB>)" in first
    assert "“Who runs payroll?” (asked by <@U0CAROL>)" in first
    _asked(api, path, "Where is the gym?", "U0BOB")
    posts = slack.wait_for_posts(2, channel="U0DIGEST", timeout=60)
    # The second digest waited for the owner's period to end after the first.
    assert time.monotonic() - started >= DELAY_S + PERIOD_S
    second = posts[1].args["text"]
    assert "Where is the gym?" in second and "payroll" not in second
    assert len(slack.posts(channel="U0DIGEST")) == 2


def test_each_asker_is_told_the_answer_once_when_it_goes_live(api, slack):
    path = _owner(api, "U0ANSWER")
    bob = _asked(api, path, "Who runs <b>payroll</b>?", "U0BOB2")
    _asked(api, path, "who runs <b>PAYROLL</b>?", "U0CAROL2")
    _asked(api, path, "Is it Friday?", "U0DAN2")  # never answered: Dan is told nothing
    resolved = api.call("POST", f"{path}/unanswered/{bob['id']}/answer",
                        json={"answer": "Dana & co."})
    assert resolved.status_code == 200, resolved.text
    job = api.call("POST", f"{path}/publish").json()["job"]["id"]
    for asker in ("U0BOB2", "U0CAROL2"):
        text = slack.wait_for_posts(1, channel=asker, timeout=300)[0].args["text"]
        assert text.lower().startswith("<@u0answer> answered your question “who runs &lt;b&gt;")
        assert text.endswith("”: Dana &amp; co.")
    wait_until(lambda: not api.call("GET", f"/v1/jobs/{job}/deliveries").json()["deliveries"],
               timeout=30, what="every delivery marked")
    # A later version holding the same topic goes live: nobody is told twice.
    api.call("POST", f"{path}/topics", json={"question": "Where is the gym?", "answer": "Roof."})
    api.call("POST", f"{path}/publish")
    slack.wait_for(lambda _: any("live with 2 topics" in post.args["text"]
                                 for post in slack.posts(channel="U0ANSWER")), timeout=300)
    assert [len(slack.posts(channel=a)) for a in ("U0BOB2", "U0CAROL2", "U0DAN2")] == [1, 1, 0]


def test_messages_escape_what_people_typed():
    digest = digest_message([{"question": "a & <!here>", "asker_user_id": "U1",
                              "kind": "wrong_answer", "given_answer": "<https://x|y>"}])
    assert "a &amp; &lt;!here&gt;" in digest and "&lt;https://x|y&gt;" in digest
    assert "marked unhelpful" in digest
    told = answer_message({"owner_user_id": "U2", "question": "<@U3>?", "answer": "<!channel>"})
    assert told == "<@U2> answered your question “&lt;@U3&gt;?”: &lt;!channel&gt;"
