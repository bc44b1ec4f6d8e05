"""The publish task on a real worker and RabbitMQ: what it does with a message it cannot serve."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from celery import Celery
from kombu import Connection

from tests.support.private_services import free_port
from tests.support.services import (
    QUEUE_URL,
    start_broker_worker,
    start_publish_api,
    wait_until,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def dead_letters(tmp_path):
    """publish-api and a worker whose queue dead-letters rejected messages into `<queue>.dead`."""
    if shutil.which("rabbitmqctl") is None:
        pytest.skip("rabbitmqctl is needed to give the queue a dead-letter policy")
    api = start_publish_api(free_port(), tmp_path)
    dead, policy = f"{api.queue}.dead", f"dlx-{api.queue}"
    definition = {"dead-letter-exchange": "", "dead-letter-routing-key": dead}
    _rabbitmqctl("set_policy", "--apply-to", "queues", policy, f"^{api.queue}$",
                 json.dumps(definition))
    with Connection(QUEUE_URL) as conn:
        conn.default_channel.queue_declare(dead, durable=True, auto_delete=False)
    worker = start_broker_worker(api, tmp_path, tmp_path / "bots")
    yield api, dead
    worker.stop()
    api.stop()
    _rabbitmqctl("clear_policy", policy)
    with Connection(QUEUE_URL) as conn:
        for queue in (api.queue, dead):
            conn.default_channel.queue_delete(queue)


def _rabbitmqctl(*args: str) -> None:
    done = subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        pytest.skip(f"rabbitmqctl {args[0]} failed: {done.stderr.strip()[:200]}")


def _dead_message(queue: str):
    with Connection(QUEUE_URL) as conn:
        message = conn.default_channel.basic_get(queue, no_ack=True)
    return message and json.loads(message.body)[0]


def test_a_task_publish_api_refuses_is_dead_lettered_not_acknowledged(dead_letters):
    api, dead = dead_letters
    client = Celery("test-client", broker=QUEUE_URL, set_as_current=False)
    client.send_task("publish_broker.publish", args=[2_000_000_000], queue=api.queue)  # no job
    args = wait_until(lambda: _dead_message(dead), timeout=60, interval=0.2,
                      what="the rejected message in the dead-letter queue")
    assert args == [2_000_000_000]


@pytest.fixture
def api(tmp_path):
    running = start_publish_api(free_port(), tmp_path)
    yield running
    running.stop()


def test_retries_run_out_then_the_job_fails_and_the_lease_holders_job_is_left_alone(api,
                                                                                     tmp_path):
    owner = "/v1/users/T0TASKS/U0BUSY"
    api.call("PUT", owner, json={"display_name": "Busy"})
    topic = api.call("POST", f"{owner}/topics", json={"question": "Q?", "answer": "A."}).json()
    held = api.call("POST", f"{owner}/publish").json()["job"]["id"]
    claimed = api.call("POST", f"/v1/jobs/{held}/transitions",
                       json={"state": "training", "claim": "a-worker-elsewhere"})
    assert claimed.status_code == 200
    api.call("PATCH", f"{owner}/topics/{topic['id']}", json={"answer": "B."})
    waiting = api.call("POST", f"{owner}/publish").json()["job"]["id"]
    worker = start_broker_worker(api, tmp_path, tmp_path / "bots", TASK_MAX_RETRIES="2")
    try:
        failed = wait_until(lambda: _if_failed(api, waiting), timeout=30, interval=0.2,
                            what="the waiting job to fail once its retries ran out")
        # The held job's task retries on its own schedule: it may still be waiting for its last.
        wait_until(lambda: worker.log().count("Retry in") >= 4, timeout=60, interval=0.2,
                   what="both tasks to retry twice")
    finally:
        worker.stop()
    assert "timed out waiting" in failed["error"]
    # The held job's task gave up too, but failing it is its lease holder's business.
    assert api.call("GET", f"/v1/jobs/{held}").json()["state"] == "training"
    assert worker.log().count("Retry in") >= 4  # Celery's own retries, two per task


def _if_failed(api, job_id: int):
    job = api.call("GET", f"/v1/jobs/{job_id}").json()
    return job if job["state"] == "failed" else None
