"""Publisher.run, the task's logic, driven in-process against a real publish-api (Postgres),
real training and a real local bot pool: the paths the end-to-end tests cannot time."""

from __future__ import annotations

import socket
import subprocess

import pytest

from actions.bot_client import ask
from publish_broker.api_client import PublishApiClient
from publish_broker.errors import ApiRejected, JobClosed, OwnerBusy
from publish_broker.notify import SlackNotifier
from publish_broker.pipeline import Publisher
from publish_broker.runtime import BotKey
from publish_broker.runtime.pool_process import PoolProcessRuntime
from publish_broker.training import Trainer
from tests.support.services import BOT_AUTH_TOKEN, start_publish_api
from tests.support.slack_api import SlackApi

pytestmark = pytest.mark.slow

TEAM = "T0PIPE"
POOL_PORT = 5260
VPN = {"question": "How do I reset my VPN password?", "answer": "Use the VPN portal."}
WIFI = {"question": "What is the guest wifi password?", "answer": "It is on the fridge."}


class CountingTrainer(Trainer):
    """The real trainer, counting how often it really trains."""

    trainings = 0

    def train(self, version, out_dir):
        self.trainings += 1
        return super().train(version, out_dir)


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    running = start_publish_api(5097, tmp_path_factory.mktemp("pipeline-logs"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def slack():
    with SlackApi(bot_token="xoxb-pipeline") as server:
        yield server


@pytest.fixture(scope="module")
def publisher(api, slack, tmp_path_factory):
    trainer = CountingTrainer(paraphrases_per_topic=6)
    trainer.warm_up()
    runtime = PoolProcessRuntime(tmp_path_factory.mktemp("pipeline-bots"), BOT_AUTH_TOKEN,
                                 port=POOL_PORT, stop_on_close=True)
    yield Publisher(PublishApiClient(api.url, api.token), trainer, runtime,
                    SlackNotifier("xoxb-pipeline", slack.url), tmp_path_factory.mktemp("work"))
    runtime.close()


def owner(api, user_id: str, *topics: dict) -> str:
    path = f"/v1/users/{TEAM}/{user_id}"
    api.call("PUT", path, json={"display_name": user_id})
    for topic in topics:
        api.call("POST", f"{path}/topics", json=topic)
    return path


def publish(api, path: str) -> int:
    response = api.call("POST", f"{path}/publish")
    assert response.status_code == 202, response.text
    return response.json()["job"]["id"]


def test_a_version_whose_model_is_live_is_not_retrained(api, publisher):
    path = owner(api, "U0SAME", VPN, WIFI)
    assert publisher.run(publish(api, path)) == "live"
    topic_id = api.call("GET", f"{path}/topics").json()["topics"][0]["id"]
    api.call("PATCH", f"{path}/topics/{topic_id}", json={"answer": "Temporary."})
    interim = publish(api, path)
    api.call("PATCH", f"{path}/topics/{topic_id}", json={"answer": VPN["answer"]})
    back = publish(api, path)  # supersedes `interim`: same content as the live version
    trainings = publisher.trainer.trainings

    assert publisher.run(interim) == "superseded"
    assert publisher.run(back) == "live"
    assert publisher.trainer.trainings == trainings
    bot = api.call("GET", f"{path}/bot").json()
    assert ask(bot["endpoint"], BOT_AUTH_TOKEN, "reset my vpn password").text == VPN["answer"]


def test_running_a_finished_job_again_changes_nothing(api, publisher, caplog):
    caplog.set_level("INFO", logger="publish_broker.pipeline")
    path = owner(api, "U0AGAIN", VPN)
    job_id = publish(api, path)
    assert publisher.run(job_id) == "live"
    steps = [f"job {job_id}: {state}" for state in ("training", "deploying", "live")]
    assert [r.getMessage() for r in caplog.records if r.getMessage() in steps] == steps
    before = api.call("GET", f"/v1/jobs/{job_id}").json()
    assert publisher.run(job_id) == "live"
    assert api.call("GET", f"/v1/jobs/{job_id}").json() == before


def test_a_deploy_failure_fails_the_job_and_tells_the_owner(api, publisher, slack):
    # The pool is down and something else holds its port: no pool can start.
    path = owner(api, "U0NOPORT", WIFI)
    publisher.runtime._stop_on_close = True
    publisher.runtime.close()
    blocker = _listen(POOL_PORT)
    assert blocker is not None
    try:
        job_id = publish(api, path)
        assert publisher.run(job_id) == "failed"
    finally:
        blocker.close()
    job = api.call("GET", f"/v1/jobs/{job_id}").json()
    assert job["state"] == "failed" and "pool" in job["error"]
    dm = slack.wait_for_posts(1, channel="U0NOPORT")[-1].args["text"]
    assert "Publishing failed" in dm and job["error"] in dm


def test_deleting_every_topic_retires_the_bot(api, publisher, slack):
    path = owner(api, "U0RETIRE", VPN)
    assert publisher.run(publish(api, path)) == "live"
    assert publisher.runtime.status(BotKey(TEAM, "U0RETIRE")) is not None
    api.call("DELETE", f"{path}/topics")
    assert publisher.run(publish(api, path)) == "live"
    assert publisher.runtime.status(BotKey(TEAM, "U0RETIRE")) is None
    bot = api.call("GET", f"{path}/bot").json()
    assert bot["endpoint"] is None and bot["model_digest"] is None
    assert "retired" in slack.wait_for_posts(2, channel="U0RETIRE")[-1].args["text"]


def test_one_job_per_owner_at_a_time(api, publisher):
    path = owner(api, "U0BUSY", VPN)
    first = publish(api, path)
    api.call("POST", f"/v1/jobs/{first}/transitions", json={"state": "training"})
    api.call("POST", f"{path}/topics", json=WIFI)
    second = publish(api, path)
    with pytest.raises(OwnerBusy):
        publisher.run(second)
    api.call("POST", f"/v1/jobs/{first}/transitions", json={"state": "failed", "error": "x"})
    with pytest.raises(JobClosed):
        publisher.api.transition(first, "training")


def test_a_killed_pool_answers_again_and_an_unchanged_republish_does_not_retrain(
        api, publisher):
    path = owner(api, "U0RESTART", VPN, WIFI)
    assert publisher.run(publish(api, path)) == "live"
    endpoint = api.call("GET", f"{path}/bot").json()["endpoint"]
    subprocess.run(["kill", "-9", str(publisher.runtime.pid())], check=True)
    trainings = publisher.trainer.trainings

    publisher.runtime.start()  # a worker's warm-up after a restart
    assert ask(endpoint, BOT_AUTH_TOKEN, "reset my vpn password").text == VPN["answer"]
    # An ask that found the bot down reports it; the unchanged publish then redeploys it.
    api.call("PUT", f"{path}/bot/health", json={"health": "unhealthy", "error": "down"})
    subprocess.run(["kill", "-9", str(publisher.runtime.pid())], check=True)
    assert publisher.run(publish(api, path)) == "live"

    assert publisher.trainer.trainings == trainings
    assert ask(endpoint, BOT_AUTH_TOKEN, "guest wifi password").text == WIFI["answer"]


def test_another_task_waits_while_the_lease_holder_works(api, publisher):
    path = owner(api, "U0CLAIM", VPN)
    job_id = publish(api, path)
    publisher.api.transition(job_id, "training", claim="task-a")  # task-a's worker is training
    with pytest.raises(OwnerBusy):
        publisher.run(job_id, claim="task-b")  # a re-sent message for the same job
    assert publisher.run(job_id, claim="task-a") == "live"  # task-a, redelivered, takes over
    assert publisher.run(job_id, claim="task-b") == "live"  # nothing left to do


def test_a_question_the_owner_dismissed_is_refused_after_the_next_publish(api, publisher):
    path = owner(api, "U0DISMISS", VPN, WIFI)
    assert publisher.run(publish(api, path)) == "live"
    endpoint = api.call("GET", f"{path}/bot").json()["endpoint"]
    stray = "How do I reset my email password?"
    before = ask(endpoint, BOT_AUTH_TOKEN, stray)
    assert not before.is_fallback and before.text == VPN["answer"]  # a wrong answer
    report = {"question": stray, "asker_team_id": TEAM, "asker_user_id": "U0ASKER",
              "kind": "wrong_answer", "given_answer": before.text}
    question = api.call("POST", f"{path}/unanswered", json=report).json()
    api.call("POST", f"{path}/unanswered/{question['id']}/dismiss")

    trainings = publisher.trainer.trainings
    assert publisher.run(publish(api, path)) == "live"
    assert publisher.trainer.trainings == trainings + 1  # the same topics, a new model
    endpoint = api.call("GET", f"{path}/bot").json()["endpoint"]
    assert ask(endpoint, BOT_AUTH_TOKEN, stray).is_fallback
    assert ask(endpoint, BOT_AUTH_TOKEN, "reset my vpn password").text == VPN["answer"]


def test_a_request_publish_api_refuses_is_not_mistaken_for_a_closed_job(publisher):
    with pytest.raises(ApiRejected):
        publisher.run(2_000_000_000)  # no such job: a 404, which no retry mends


def _listen(port: int) -> socket.socket | None:
    """A socket listening on `port`, or None when something else already does."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        server.bind(("127.0.0.1", port))
    except OSError:
        server.close()
        return None
    server.listen()
    return server
