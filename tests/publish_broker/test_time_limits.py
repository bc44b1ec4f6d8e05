"""The tasks' time limits on the real worker (Celery's prefork pool, one child) over RabbitMQ.

A task over its soft limit is interrupted and fails its job, saying why. A task that does not
stop at its soft limit (stuck in C code, say; here its child is stopped with SIGSTOP) is killed
with its child at the hard limit; the worker's main process fails its job saying why and tells
the owner, and a fresh child, warmed up first, serves the next owner's publish. The limits are
the settings, made small here: a publish of the most topics an owner may have, with
alternatives, trains for far longer than LIMIT_S (~30 s on an idle 2-core host, ~65 s at load
4.5), a publish of one topic for far less (~0.5 s of training, ~2 s in all).
"""

from __future__ import annotations

import os
import re
import secrets
import signal

import psutil
import pytest

from tests.support.private_services import free_port
from tests.support.services import start_broker_worker, start_publish_api, wait_until
from tests.support.slack_api import SlackApi

pytestmark = pytest.mark.slow

TEAM = f"T0LIMIT{secrets.token_hex(3).upper()}"
SLACK_BOT_TOKEN = "xoxb-test-limits"
MOST_TOPICS = 500  # publish-api's MAX_TOPICS_PER_OWNER
LIMIT_S = 12
TOO_LONG = "building your bot took too long"


@pytest.fixture
def slack():
    with SlackApi(bot_token=SLACK_BOT_TOKEN) as server:
        yield server


@pytest.fixture
def api(tmp_path):
    running = start_publish_api(free_port(), tmp_path)
    yield running
    running.stop()


@pytest.fixture
def start_worker(api, tmp_path, slack):
    started = []

    def start(**limits: str):
        started.append(start_broker_worker(
            api, tmp_path, tmp_path / "bots", SLACK_BOT_TOKEN=SLACK_BOT_TOKEN,
            SLACK_API_URL=slack.url, **limits))
        return started[-1]

    yield start
    for worker in started:
        worker.stop()


def _publish(api, user: str, topics: int, alternatives: int = 0) -> int:
    owner = f"/v1/users/{TEAM}/{user}"
    api.call("PUT", owner, json={"display_name": user})
    imported = api.call("POST", f"{owner}/topics/import", json={"topics": [
        {"question": f"What is the code name of project {i}?",
         "alternatives": [f"Which name does project {i} go by, variant {j}?"
                          for j in range(alternatives)],
         "answer": f"Project {i} is called Falcon {i}."} for i in range(topics)]})
    assert imported.status_code == 200, imported.text
    response = api.call("POST", f"{owner}/publish")
    assert response.status_code == 202, response.text
    return response.json()["job"]["id"]


def _final(api, job_id: int, timeout: float) -> dict:
    def final():
        job = api.call("GET", f"/v1/jobs/{job_id}").json()
        return job if job["state"] in ("live", "failed", "superseded") else None

    return wait_until(final, timeout=timeout, interval=0.2, what=f"job {job_id} to end")


def _told(slack, user: str) -> str:
    posts = slack.wait_for(lambda calls: any(c.args.get("channel") == user for c in calls
                                             if c.method == "chat.postMessage"), timeout=30)
    return " ".join(c.args.get("text", "") for c in posts if c.args.get("channel") == user)


def _child(worker) -> psutil.Process:
    (child,) = psutil.Process(worker.process.pid).children()
    return child


def _started(api, job_id: int) -> None:
    wait_until(lambda: api.call("GET", f"/v1/jobs/{job_id}").json()["state"] != "queued",
               timeout=120, interval=0.05, what=f"job {job_id} to start")


def test_a_task_over_its_hard_limit_is_killed_and_the_next_owner_is_served_warm(
        api, start_worker, slack):
    worker = start_worker(TASK_SOFT_TIME_LIMIT_S=str(LIMIT_S),
                          TASK_TIME_LIMIT_S=str(LIMIT_S + 3))
    slow = _publish(api, "USLOW", 120)  # trains for several seconds
    _started(api, slow)
    os.kill(_child(worker).pid, signal.SIGSTOP)  # it no longer heeds the soft limit
    slow = _final(api, slow, timeout=LIMIT_S + 60)
    assert slow["state"] == "failed"
    assert TOO_LONG in slow["error"]
    assert TOO_LONG in _told(slack, "USLOW")

    following = _publish(api, "UNEXT", 1)
    assert _final(api, following, timeout=240)["state"] == "live"
    log = worker.log()
    assert f"Hard time limit ({LIMIT_S + 3:.1f}s) exceeded for publish_broker.publish" in log
    assert re.search(rf"\[MainProcess\]: job {slow['id']} failed: {TOO_LONG}", log)
    # The killed child's replacement warmed up before it trained the next owner's bot.
    children = re.findall(r"\[(ForkPoolWorker-\d+)\]: publish-broker worker is warm", log)
    assert len(children) == 2, children
    version = api.call("GET", f"/v1/jobs/{following}").json()["version_id"]
    trained = log.index(f"{children[1]}]: trained version {version} ")
    assert log.index(f"{children[1]}]: publish-broker worker is warm") < trained


def test_a_task_over_its_soft_limit_fails_its_job_saying_why(api, start_worker, slack):
    worker = start_worker(TASK_SOFT_TIME_LIMIT_S=str(LIMIT_S),
                          TASK_TIME_LIMIT_S=str(LIMIT_S + 10))
    slow = _final(api, _publish(api, "USOFT", MOST_TOPICS, 3), timeout=LIMIT_S + 120)
    assert slow["state"] == "failed"
    assert TOO_LONG in slow["error"]
    assert TOO_LONG in _told(slack, "USOFT")
    log = worker.log()
    assert f"Soft time limit ({LIMIT_S:.1f}s) exceeded for publish_broker.publish" in log
    # Usually the task itself fails its job. Python may swallow the exception that interrupts it
    # (raised in a garbage collector's callback, it is only printed): the hard limit ends it then.
    failed_by = re.search(rf"\[(\S+)\]: job {slow['id']} failed: {TOO_LONG}", log).group(1)
    assert failed_by == ("MainProcess" if "Hard time limit" in log else "ForkPoolWorker-1")


def test_a_child_killed_mid_training_gives_its_task_back_to_a_fresh_child(api, start_worker):
    """As the kernel's OOM killer would: the main process requeues the message (reject on
    worker loss) and the task, the same lease holder, takes its job over in the next child."""
    worker = start_worker()
    job_id = _publish(api, "UOOM", 120)  # trains for several seconds
    _started(api, job_id)
    _child(worker).kill()
    assert _final(api, job_id, timeout=600)["state"] == "live"
    assert "WorkerLostError" in worker.log()


def test_a_job_that_kills_every_child_it_reaches_is_given_up_after_three(api, start_worker,
                                                                          slack):
    """A job that makes each child die (out of memory, say) is redelivered at each loss: the
    fourth delivery fails it and tells its owner, and the worker's slot serves the next owner."""
    worker = start_worker()
    job_id = _publish(api, "UCRASH", 120)  # trains for several seconds
    for delivery in (1, 2, 3):
        wait_until(lambda n=delivery: _delivered(api, job_id) == n, timeout=240, interval=0.05,
                   what=f"delivery {delivery} of job {job_id}")
        _child(worker).kill()

    crashed = _final(api, job_id, timeout=240)

    assert (crashed["state"], crashed["deliveries"]) == ("failed", 4)
    assert "stopped the bot builder 3 times" in crashed["error"]
    assert "stopped the bot builder 3 times" in _told(slack, "UCRASH")
    following = _publish(api, "UAFTER", 1)
    assert _final(api, following, timeout=240)["state"] == "live"


def _delivered(api, job_id: int) -> int:
    job = api.call("GET", f"/v1/jobs/{job_id}").json()
    return job["deliveries"] if job["state"] == "training" else 0
