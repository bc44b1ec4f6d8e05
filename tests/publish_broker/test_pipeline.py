"""Publisher.run, the task's logic, driven in-process against a real publish-api (Postgres),
real training and a real local bot pool: the paths the end-to-end tests cannot time."""

from __future__ import annotations

import socket
import subprocess

import pytest

from actions.bot_client import ask
from publish_broker.api_client import PublishApiClient
from publish_broker.errors import (
    ApiRejected,
    DeployError,
    JobClosed,
    OwnerBusy,
    TrainingError,
)
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
    """The real trainer, counting how often it really trains; ``meanwhile``, if set, is called
    as Rasa's training starts (what a test checks, or a failure it injects, at that point)."""

    trainings = 0
    meanwhile = None

    def train(self, version, out_dir):
        self.trainings += 1
        if self.meanwhile is not None:
            self.meanwhile()
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


def test_a_republished_bot_answers_before_rasa_has_packaged_its_model(api, publisher):
    path, key = owner(api, "U0EARLY", VPN, WIFI), BotKey(TEAM, "U0EARLY")
    assert publisher.run(publish(api, path)) == "live"
    endpoint, old = (api.call("GET", f"{path}/bot").json()[k] for k in ("endpoint",
                                                                         "model_digest"))
    change_answer(api, path, "Use the new VPN portal.")
    seen = {}

    def meanwhile():  # Rasa is about to package the model
        digest = publisher.runtime.status(key).model_digest
        seen["answer"] = ask(endpoint, BOT_AUTH_TOKEN, "reset my vpn password").text
        seen["packaged"] = publisher.runtime.stored_model(key, digest) is not None
        seen["old model kept"] = publisher.runtime.stored_model(key, old) is not None

    assert run_with(publisher, meanwhile, publish(api, path)) == "live"

    assert seen == {"answer": "Use the new VPN portal.", "packaged": False,
                    "old model kept": True}
    bot = api.call("GET", f"{path}/bot").json()
    assert publisher.runtime.stored_model(key, bot["model_digest"]) is not None  # Rasa's
    assert publisher.runtime.stored_model(key, old) is None  # pruned once the new one is live


def test_a_republish_failing_after_it_answered_early_gives_the_old_answers_back(
        api, publisher, slack):
    path, key = owner(api, "U0UNDO", VPN, WIFI), BotKey(TEAM, "U0UNDO")
    assert publisher.run(publish(api, path)) == "live"
    endpoint, old = (api.call("GET", f"{path}/bot").json()[k] for k in ("endpoint",
                                                                         "model_digest"))
    change_answer(api, path, "Use the new VPN portal.")
    answers = []

    def fail():
        answers.append(ask(endpoint, BOT_AUTH_TOKEN, "reset my vpn password").text)
        raise TrainingError("The bot could not be trained from these topics.")

    assert run_with(publisher, fail, publish(api, path)) == "failed"

    assert answers == ["Use the new VPN portal."]  # it had answered early
    assert ask(endpoint, BOT_AUTH_TOKEN, "reset my vpn password").text == VPN["answer"]
    assert publisher.runtime.status(key).model_digest == old
    stored = sorted(p.name for p in (publisher.runtime.models_dir / key.name).glob("*.tar.gz"))
    assert stored == [f"{old}.tar.gz"]
    assert "Publishing failed" in slack.wait_for_posts(2, channel="U0UNDO")[-1].args["text"]


def test_a_pool_that_cannot_answer_early_gets_the_model_after_training(api, publisher,
                                                                       monkeypatch):
    path, key = owner(api, "U0NOEARLY", VPN), BotKey(TEAM, "U0NOEARLY")
    assert publisher.run(publish(api, path)) == "live"
    change_answer(api, path, "Use the new VPN portal.")

    def refused(*_args):
        raise DeployError("The bot could not load the new version.")

    monkeypatch.setattr(publisher.runtime, "preview", refused)
    assert publisher.run(publish(api, path)) == "live"
    endpoint = api.call("GET", f"{path}/bot").json()["endpoint"]
    assert ask(endpoint, BOT_AUTH_TOKEN, "reset my vpn password").text == "Use the new VPN portal."
    assert publisher.runtime.stored_model(key, publisher.runtime.status(key).model_digest)


def test_a_bot_left_answering_early_is_trained_and_packaged_by_the_next_run(
        api, publisher, tmp_path):
    # What a task killed while Rasa packaged the model leaves: the bot answers from the
    # matcher-only archive, which must not pass for a stored model.
    path, key = owner(api, "U0LEFT", VPN), BotKey(TEAM, "U0LEFT")
    assert publisher.run(publish(api, path)) == "live"
    change_answer(api, path, "Use the new VPN portal.")
    job_id = publish(api, path)
    version = publisher.api.version(publisher.api.job(job_id)["version_id"])
    preview = publisher.trainer.preview(version, tmp_path)
    publisher.runtime.preview(key, preview.path, preview.digest)
    trainings = publisher.trainer.trainings

    assert publisher.runtime.stored_model(key, preview.digest) is None
    assert publisher.run(job_id) == "live"
    assert publisher.trainer.trainings == trainings + 1
    assert publisher.runtime.stored_model(key, preview.digest) is not None


def change_answer(api, path: str, answer: str) -> None:
    """The answer of the owner's first topic."""
    topic_id = api.call("GET", f"{path}/topics").json()["topics"][0]["id"]
    assert api.call("PATCH", f"{path}/topics/{topic_id}", json={"answer": answer}).ok


def run_with(publisher, meanwhile, job_id: int) -> str:
    publisher.trainer.meanwhile = meanwhile
    try:
        return publisher.run(job_id)
    finally:
        publisher.trainer.meanwhile = None


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
