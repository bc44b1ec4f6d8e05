"""kombu's SQLite transport (`make run`'s default) loses the message of a worker killed with -9
(it hides a message when fetched, restores it only at a clean shutdown): once the job's lease
expires, the worker's periodic sweep fails it and tells the owner, whose next publish proceeds
instead of being blocked for good."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from actions.bot_client import ask
from publish_broker.runtime.process import ProcessRuntime
from tests.support.private_services import free_port
from tests.support.services import (
    BOT_AUTH_TOKEN,
    start_broker_worker,
    start_publish_api,
    wait_until,
)
from tests.support.slack_api import SlackApi

pytestmark = pytest.mark.slow

OWNER = "/v1/users/T0SQLITE/UALICE"
LEASE_S = 20
SLACK_BOT_TOKEN = "xoxb-test-sqlite"


@pytest.fixture
def sqlite_stack(tmp_path, slack):
    broker = f"sqla+sqlite:///{tmp_path / 'celery-broker.sqlite3'}"
    api = start_publish_api(free_port(), tmp_path, queue_url=broker, JOB_LEASE_S=str(LEASE_S))
    settings = {"QUEUE_URL": broker, "BOT_PORT_RANGE": "5250-5259", "SWEEP_INTERVAL_S": "2",
                "SLACK_BOT_TOKEN": SLACK_BOT_TOKEN, "SLACK_API_URL": slack.url}
    models, workers = tmp_path / "bots", []

    def start_worker(name: str = "worker"):
        workers.append(start_broker_worker(api, tmp_path, models, name=name, beat=True,
                                           **settings))

    try:
        start_worker()
        yield api, workers, start_worker
    finally:
        for worker in workers:
            if worker.process.poll() is None:
                worker.stop()
        ProcessRuntime(models, BOT_AUTH_TOKEN, stop_on_close=True).close()
        api.stop()


@pytest.fixture
def slack():
    with SlackApi(bot_token=SLACK_BOT_TOKEN) as server:
        yield server


def test_a_job_lost_with_a_killed_worker_is_failed_and_the_next_publish_proceeds(sqlite_stack,
                                                                                  slack):
    api, workers, start_worker = sqlite_stack
    api.call("PUT", OWNER, json={"display_name": "Alice"})
    for i in range(40):  # trains for long enough to be caught in the act
        api.call("POST", f"{OWNER}/topics", json={
            "question": f"What is the code name of project {i}?",
            "answer": f"Project {i} is called Falcon {i}."})
    lost = api.call("POST", f"{OWNER}/publish").json()["job"]
    wait_until(lambda: _job(api, lost["id"])["state"] != "queued", timeout=120, interval=0.05,
               what="the job to start")
    workers[0].kill()
    stuck = _job(api, lost["id"])
    assert stuck["state"] in ("training", "deploying"), stuck
    # Its message is gone: the replacement does not take the job over (it would go live).
    start_worker("replacement")
    lease = datetime.fromisoformat(stuck["lease_expires_at"])
    wait_until(lambda: datetime.now(timezone.utc) > lease, timeout=LEASE_S + 10,
               what="the lease to expire")
    # No publish: the sweep fails it and tells Alice why.
    told = slack.wait_for(lambda calls: [c for c in calls if c.method == "chat.postMessage"
                                         and c.args.get("channel") == "UALICE"], timeout=30)
    assert _job(api, lost["id"])["state"] == "failed"
    failure = [c.args["text"] for c in told if c.args.get("channel") == "UALICE"]
    assert len(failure) == 1 and "timed out" in failure[0], failure

    response = api.call("POST", f"{OWNER}/publish")  # the same content
    assert response.status_code == 202, response.text
    job = wait_until(lambda: _final(api, response.json()["job"]["id"]), timeout=240,
                     interval=0.2, what="the new job to finish")
    assert job["state"] == "live", job
    assert "timed out" in _job(api, lost["id"])["error"]
    bot = api.call("GET", f"{OWNER}/bot").json()
    answer = ask(bot["endpoint"], BOT_AUTH_TOKEN, "what is project 7 called")
    assert answer.text == "Project 7 is called Falcon 7."


def _job(api, job_id: int) -> dict:
    return api.call("GET", f"/v1/jobs/{job_id}").json()


def _final(api, job_id: int):
    job = _job(api, job_id)
    return job if job["state"] in ("live", "failed", "superseded") else None
