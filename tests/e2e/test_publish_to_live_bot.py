"""Publish through publish-api → RabbitMQ → Celery worker → Rasa training → a live bot in a pool,
with each pool runtime: a local process, and containers on a real Docker engine (skipped
without one)."""

from __future__ import annotations

import re
import threading

import docker
import pytest

from actions.bot_client import BotUnavailable, ask
from tests.e2e.conftest import SLACK_BOT_TOKEN
from tests.support import isolation
from tests.support import logs as log_format
from tests.support.docker_engine import POOL_DOCKERFILE, build_image, engine_problem
from tests.support.services import (
    BOT_AUTH_TOKEN,
    start_broker_worker,
    start_publish_api,
    wait_until,
)

# Its tests keep their order when the modules are shuffled (pytest-random-order): one live bot per
# runtime for the module, whose tests are the steps of its story (publish, ask, republish, read
# the log).
pytestmark = [pytest.mark.slow, pytest.mark.random_order(disabled=True)]

RUN_ID = isolation.RUN_ID.upper()
TEAM = f"T0E2E{RUN_ID}"
OWNER = f"/v1/users/{TEAM}/UALICE"
NO_ENGINE = engine_problem()
TOPICS = [
    ("How do I reset my VPN password?", "Use the self-service portal at vpn.example.com."),
    ("Where can I find the holiday calendar?", "It is on the HR wiki under Calendars."),
    ("Who approves my expense report?", "Your line manager approves expenses."),
]


def _publish_and_wait(api, timeout=180) -> dict:
    response = api.call("POST", f"{OWNER}/publish")
    assert response.status_code == 202, response.text
    job_id = response.json()["job"]["id"]
    return wait_until(lambda: _final(api, job_id), timeout=timeout, interval=0.2,
                      what=f"job {job_id} to finish")


def _final(api, job_id):
    job = api.call("GET", f"/v1/jobs/{job_id}").json()
    return job if job["state"] in ("live", "failed", "superseded") else None


@pytest.fixture(scope="module", params=["process", "docker"])
def worker_settings(request, slack, models_dir):
    """Overrides conftest's: the same tests run once per runtime."""
    settings = {"SLACK_BOT_TOKEN": SLACK_BOT_TOKEN, "SLACK_API_URL": slack.url}
    if request.param == "process":
        yield settings
        return
    if NO_ENGINE:
        pytest.skip(f"no Docker engine ({NO_ENGINE}); ../shared/tools/docker-sandbox starts one")
    yield from _docker_settings(settings, models_dir)


@pytest.fixture(scope="module")
def publish_api(worker_settings, logs):
    """Overrides conftest's: a fresh API and database per runtime."""
    api = start_publish_api(5093, logs)
    yield api
    api.stop()


def _docker_settings(settings: dict, models_dir):
    image, prefix = f"faqbot-pool:e2e-{RUN_ID.lower()}", f"faqbot-e2e-{RUN_ID.lower()}-pool-"
    models_dir = models_dir / "docker"
    models_dir.mkdir()
    build_image(POOL_DOCKERFILE, image)
    client = docker.from_env(timeout=120)
    network = client.networks.create(f"faqbot-e2e-{RUN_ID.lower()}", driver="bridge",
                                     labels=isolation.test_labels("e2e"))
    models_dir.chmod(0o755)  # the pools' non-root user reads it through the bind mount
    yield {**settings, "BOT_RUNTIME": "docker", "POOL_IMAGE": image, "POOL_NAME_PREFIX": prefix,
           "BOT_NETWORK": network.name, "BOT_MODELS_DIR": str(models_dir),
           "BOT_MODELS_VOLUME": str(models_dir), "BOT_PUBLISH_PORTS": "true"}
    for container in client.containers.list(all=True, filters={"name": prefix}):
        container.remove(force=True)
    network.remove()
    client.images.remove(image, noprune=True)
    client.close()


@pytest.fixture(scope="module")
def live_bot(publish_api, worker):
    publish_api.call("PUT", OWNER, json={"display_name": "Alice"})
    for question, answer in TOPICS:
        publish_api.call("POST", f"{OWNER}/topics", json={"question": question, "answer": answer})
    job = _publish_and_wait(publish_api)
    assert job["state"] == "live", job
    return publish_api.call("GET", f"{OWNER}/bot").json()


def test_a_paraphrase_gets_the_right_answer(live_bot):
    answer = ask(live_bot["endpoint"], BOT_AUTH_TOKEN, "how can I reset the password for vpn")
    assert (answer.is_fallback, answer.text) == (False, TOPICS[0][1])


def test_an_unrelated_question_gets_the_fallback(live_bot):
    answer = ask(live_bot["endpoint"], BOT_AUTH_TOKEN, "what is the airspeed of a swallow")
    assert answer.is_fallback and answer.text is None


def test_the_bot_needs_its_token(live_bot):
    with pytest.raises(BotUnavailable):
        ask(live_bot["endpoint"], "wrong-token", "how do I reset my vpn password")


def test_topics_are_published_and_the_owner_was_told(publish_api, live_bot, slack):
    topics = publish_api.call("GET", f"{OWNER}/topics").json()["topics"]
    assert {t["state"] for t in topics} == {"published"}
    posts = slack.wait_for(lambda _: slack.posts(channel="UALICE"), timeout=10)
    posts = slack.posts(channel="UALICE")
    assert "live with 3 topics" in posts[-1].args["text"]


def test_the_workers_log_tells_each_job_in_one_format(live_bot, worker):
    log = worker.log()
    # The first job of this module's fresh database: Celery's lines name it, and so do ours.
    assert re.search(r"Task publish_broker\.publish\[job-1-[0-9a-f]{32}\] received", log)
    assert "job 1: training" in log and "job 1: live" in log
    log_format.check(log, "publish-broker")


def test_republish_has_zero_failed_asks(publish_api, live_bot):
    topic = publish_api.call("GET", f"{OWNER}/topics").json()["topics"][1]
    new_answer = "The holiday calendar moved to the intranet home page."
    publish_api.call("PATCH", f"{OWNER}/topics/{topic['id']}", json={"answer": new_answer})
    results, stop = [], threading.Event()

    def keep_asking():
        while not stop.is_set() and len(results) < 5000:
            try:
                results.append(ask(live_bot["endpoint"], BOT_AUTH_TOKEN,
                                   "how do I reset my vpn password", timeout=2))
            except BotUnavailable as exc:
                results.append(exc)

    asker = threading.Thread(target=keep_asking)
    asker.start()
    try:
        job = _publish_and_wait(publish_api)
    finally:
        stop.set()
        asker.join(timeout=10)
    assert job["state"] == "live", job
    failures = [r for r in results if isinstance(r, Exception) or r.text != TOPICS[0][1]]
    assert len(results) > 10 and failures == []
    answer = ask(live_bot["endpoint"], BOT_AUTH_TOKEN, "where is the holiday calendar")
    assert answer.text == new_answer
    bot = publish_api.call("GET", f"{OWNER}/bot").json()
    assert bot["endpoint"] == live_bot["endpoint"] and bot["live_job_id"] == job["id"]


def test_a_reverted_edit_goes_live_again(publish_api, live_bot, worker):
    # (That an unchanged model is not retrained is tested in tests/publish_broker/test_pipeline.py.)
    topic = publish_api.call("GET", f"{OWNER}/topics").json()["topics"][0]
    publish_api.call("PATCH", f"{OWNER}/topics/{topic['id']}", json={"answer": "temporary"})
    first = _publish_and_wait(publish_api)
    publish_api.call("PATCH", f"{OWNER}/topics/{topic['id']}", json={"answer": TOPICS[0][1]})
    second = _publish_and_wait(publish_api)
    assert first["state"] == second["state"] == "live"
    assert first["digest"] != second["digest"]
    answer = ask(live_bot["endpoint"], BOT_AUTH_TOKEN, "how do I reset my vpn password")
    assert answer.text == TOPICS[0][1]


def test_worker_killed_mid_job_the_job_still_completes(publish_api, live_bot, worker, logs,
                                                      models_dir, worker_settings):
    assert len(publish_api.call("GET", f"{OWNER}/topics").json()["topics"]) == 3
    for i in range(40):  # a bigger model trains for long enough to be caught in the act
        publish_api.call("POST", f"{OWNER}/topics",
                         json={"question": f"What is the code name of project {i}?",
                               "answer": f"Project {i} is called Falcon {i}."})
    response = publish_api.call("POST", f"{OWNER}/publish")
    job_id = response.json()["job"]["id"]
    state = wait_until(lambda: _state_if_started(publish_api, job_id), timeout=120,
                       interval=0.02, what="the job to start")
    assert state in ("training", "deploying"), state
    worker.kill()
    replacement = start_broker_worker(publish_api, logs, models_dir, name="replacement",
                                      **worker_settings)
    try:
        job = wait_until(lambda: _final(publish_api, job_id), timeout=180, interval=0.2,
                         what="the redelivered job to finish")
    finally:
        replacement.stop()
    assert job["state"] == "live", job
    answer = ask(live_bot["endpoint"], BOT_AUTH_TOKEN, "what is project 7 called")
    assert answer.text == "Project 7 is called Falcon 7."


def _state_if_started(api, job_id):
    state = api.call("GET", f"/v1/jobs/{job_id}").json()["state"]
    return state if state != "queued" else None
