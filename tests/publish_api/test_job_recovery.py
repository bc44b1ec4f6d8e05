"""Jobs never stick: leases on active jobs, live jobs superseded, lost messages sent again."""

from __future__ import annotations

import json
import shutil
import subprocess
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest
from kombu import Connection

from publish_api import create_app
from tests.support.services import wait_until

from .conftest import ApiClient
from .test_publishing import LIVE, TOPIC, _publish, _walk


@pytest.fixture
def api_with(app, config):
    """An API client over the test database whose app has some settings overridden."""
    built = []

    def build(**settings) -> ApiClient:
        built.append(create_app({**config, **settings}))
        return ApiClient(built[-1].test_client())

    yield build
    for each in built:
        each.extensions["db_engine"].dispose()


def _wait_past(timestamp: str, extra_s: float = 0.0) -> None:
    moment = datetime.fromisoformat(timestamp) + timedelta(seconds=extra_s)
    wait_until(lambda: datetime.now(timezone.utc) > moment, timeout=30, what=f"{moment}")


def _claim(api, job_id: int, claim: str | None, state: str = "training"):
    body = {"state": state, **({"claim": claim} if claim else {})}
    return api.post(f"/v1/jobs/{job_id}/transitions", body)


def test_a_publish_fails_a_job_whose_lease_expired_and_proceeds(api_with, owner, published_tasks):
    api = api_with(JOB_LEASE_S=0.5)
    api.post(f"{owner}/topics", TOPIC)
    _, stuck = _publish(api, owner)
    claimed = _walk(api, stuck["id"], "training")  # then its worker dies for good
    assert claimed["lease_expires_at"] is not None
    published_tasks.drain()
    _wait_past(claimed["lease_expires_at"])

    status, job = _publish(api, owner)  # the same content: it used to answer the stuck job
    assert status == 202 and job["id"] != stuck["id"] and job["state"] == "queued"
    old = api.get(f"/v1/jobs/{stuck['id']}").get_json()
    assert old["state"] == "failed" and "timed out" in old["error"]
    assert old["lease_expires_at"] is None
    assert [m["args"] for m in published_tasks.drain()] == [[job["id"]]]
    assert api.get(f"{owner}/bot").get_json()["last_error"] == old["error"]


def test_a_claim_fails_another_job_whose_lease_expired(api_with, owner):
    api = api_with(JOB_LEASE_S=0.5)
    topic = api.post(f"{owner}/topics", TOPIC).get_json()
    _, stuck = _publish(api, owner)
    claimed = _walk(api, stuck["id"], "training", "deploying")
    api.patch(f"{owner}/topics/{topic['id']}", {"answer": "changed"})
    _, waiting = _publish(api, owner)
    assert _claim(api, waiting["id"], "task-2").get_json()["error"]["code"] == "owner_busy"
    _wait_past(claimed["lease_expires_at"])

    response = _claim(api, waiting["id"], "task-2")
    assert response.status_code == 200 and response.get_json()["state"] == "training"
    assert api.get(f"/v1/jobs/{stuck['id']}").get_json()["state"] == "failed"


def test_every_transition_renews_the_lease(api_with, owner):
    api = api_with(JOB_LEASE_S=600)
    api.post(f"{owner}/topics", TOPIC)
    _, job = _publish(api, owner)
    assert job["lease_expires_at"] is None  # queued: nothing holds it yet
    training = _walk(api, job["id"], "training")
    deploying = _walk(api, job["id"], "deploying")
    lease = datetime.fromisoformat(deploying["lease_expires_at"])
    assert lease > datetime.fromisoformat(training["lease_expires_at"])
    assert timedelta(seconds=590) < lease - datetime.now(timezone.utc) <= timedelta(seconds=600)
    assert _walk(api, job["id"], "live", **LIVE)["lease_expires_at"] is None


def test_only_the_lease_holder_takes_a_job_over_until_the_lease_expires(api_with, owner):
    api = api_with(JOB_LEASE_S=3)
    api.post(f"{owner}/topics", TOPIC)
    _, job = _publish(api, owner)
    assert _claim(api, job["id"], "task-a").status_code == 200
    duplicate = _claim(api, job["id"], "task-b")  # e.g. a re-sent message
    assert duplicate.status_code == 409 and duplicate.get_json()["error"]["code"] == "owner_busy"
    redelivered = _claim(api, job["id"], "task-a")  # the same task, after its worker died
    assert redelivered.status_code == 200
    _wait_past(redelivered.get_json()["lease_expires_at"])

    assert _claim(api, job["id"], "task-b").status_code == 200  # task-a's worker is gone
    late = _claim(api, job["id"], "task-a", state="deploying")
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "invalid_transition"
    assert _claim(api, job["id"], "task-b", state="deploying").status_code == 200


def test_a_job_delivered_again_after_three_lost_workers_is_failed(api, owner):
    # Each worker it reached died (out of memory, say) and the queue delivered it again.
    api.post(f"{owner}/topics", TOPIC)
    _, job = _publish(api, owner)
    retried = None
    for delivery in (1, 2, 3):
        body = {"state": "training", "claim": "task-a", "redelivered": delivery > 1}
        retried = api.post(f"/v1/jobs/{job['id']}/transitions", body).get_json()
        assert (retried["state"], retried["deliveries"]) == ("training", delivery)
        if delivery == 1:  # a retry of Celery's own (a new message) is not a lost worker
            again = _claim(api, job["id"], "task-a").get_json()
            assert (again["state"], again["deliveries"]) == ("training", 1)

    fourth = api.post(f"/v1/jobs/{job['id']}/transitions",
                      {"state": "training", "claim": "task-a", "redelivered": True})

    assert fourth.status_code == 200
    failed = fourth.get_json()
    assert (failed["state"], failed["deliveries"]) == ("failed", 4)
    assert "stopped the bot builder 3 times" in failed["error"]
    assert failed["lease_expires_at"] is None
    assert api.get(f"{owner}/bot").get_json()["last_error"] == failed["error"]
    assert _claim(api, job["id"], "task-a").status_code == 409  # final: the task is dropped


def test_going_live_supersedes_the_previous_live_job(api, owner):
    topic = api.post(f"{owner}/topics", TOPIC).get_json()
    _, first = _publish(api, owner)
    first = _walk(api, first["id"], "training", "deploying", "live", **LIVE)
    api.patch(f"{owner}/topics/{topic['id']}", {"answer": "changed"})
    _, second = _publish(api, owner)
    _walk(api, second["id"], "training", "deploying", "live", **LIVE)

    old = api.get(f"/v1/jobs/{first['id']}").get_json()
    assert (old["state"], old["finished_at"]) == ("superseded", first["finished_at"])
    assert api.get(f"{owner}/bot").get_json()["live_job_id"] == second["id"]
    status, same = _publish(api, owner)
    assert (status, same["id"], same["state"]) == (200, second["id"], "live")


def test_a_queued_job_whose_message_was_lost_is_sent_again(api_with, owner, published_tasks):
    api = api_with(QUEUED_RESEND_S=0.5)
    api.post(f"{owner}/topics", TOPIC)
    _, job = _publish(api, owner)
    assert [m["args"] for m in published_tasks.drain()] == [[job["id"]]]  # the broker loses it
    status, again = _publish(api, owner)
    assert (status, again["id"]) == (200, job["id"])
    assert published_tasks.drain() == []  # not stale yet: nothing is sent twice
    _wait_past(again["updated_at"], extra_s=0.5)

    status, resent = _publish(api, owner)
    assert (status, resent["id"], resent["state"]) == (200, job["id"], "queued")
    assert published_tasks.drain() == [{"task": "publish_broker.publish", "args": [job["id"]]}]
    assert _publish(api, owner)[1]["id"] == job["id"] and published_tasks.drain() == []


def test_the_sweep_fails_a_job_whose_worker_is_gone_without_another_publish(
        api_with, owner, published_tasks):
    api = api_with(JOB_LEASE_S=0.5)
    api.post(f"{owner}/topics", TOPIC)
    _, stuck = _publish(api, owner)
    claimed = _walk(api, stuck["id"], "training")  # then its worker is killed (-9)
    published_tasks.drain()
    assert stuck["id"] not in _swept(api)["failed"]  # its lease still runs
    _wait_past(claimed["lease_expires_at"])

    swept = api.post("/v1/jobs/sweep", {}).get_json()
    failed = [job for job in swept["failed"] if job["id"] == stuck["id"]]
    assert len(failed) == 1 and "timed out" in failed[0]["error"]
    assert failed[0]["user_id"] == owner.rsplit("/", 1)[1]  # the broker tells this owner
    assert api.get(f"/v1/jobs/{stuck['id']}").get_json()["state"] == "failed"
    assert stuck["id"] not in _swept(api)["failed"]  # told once
    assert published_tasks.drain() == []


def test_the_sweep_sends_a_stale_queued_job_again(api_with, owner, published_tasks):
    api = api_with(QUEUED_RESEND_S=0.5)
    api.post(f"{owner}/topics", TOPIC)
    _, job = _publish(api, owner)
    published_tasks.drain()  # the broker loses it
    assert job["id"] not in _swept(api)["resent"]  # not stale yet
    _wait_past(job["updated_at"], extra_s=0.5)

    assert job["id"] in _swept(api)["resent"]
    assert published_tasks.drain() == [{"task": "publish_broker.publish", "args": [job["id"]]}]
    assert job["id"] not in _swept(api)["resent"]  # sent again once, not on every sweep
    assert api.get(f"/v1/jobs/{job['id']}").get_json()["state"] == "queued"


def _swept(api) -> dict:
    response = api.post("/v1/jobs/sweep", {})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    return {"failed": [job["id"] for job in body["failed"]], "resent": body["resent"]}


@contextmanager
def _refusing(queue_name: str):
    """A RabbitMQ policy that makes the queue refuse every message (nack with confirms)."""
    if shutil.which("rabbitmqctl") is None:
        pytest.skip("rabbitmqctl is needed to make RabbitMQ refuse messages")
    policy = f"refuse-{queue_name}"
    definition = json.dumps({"max-length": 0, "overflow": "reject-publish"})
    _rabbitmqctl("set_policy", "--apply-to", "queues", policy, f"^{queue_name}$", definition)
    try:
        yield
    finally:
        _rabbitmqctl("clear_policy", policy)


def _rabbitmqctl(*args: str) -> None:
    done = subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        pytest.skip(f"rabbitmqctl {args[0]} failed: {done.stderr.strip()[:200]}")


def test_a_message_rabbitmq_refuses_fails_the_job(api, owner, queue_name, published_tasks):
    api.post(f"{owner}/topics", TOPIC)
    with _refusing(queue_name):
        response = api.post(f"{owner}/publish")  # unconfirmed, this was a 202 and a lost message
    assert response.status_code == 503, response.get_json()
    assert response.get_json()["error"]["code"] == "queue_unavailable"
    assert published_tasks.drain() == []
    status, job = _publish(api, owner)  # nothing is left queued: the next publish sends again
    assert status == 202 and [m["args"] for m in published_tasks.drain()] == [[job["id"]]]


def test_publishing_over_kombus_sqlite_transport(api_with, owner, queue_name, tmp_path):
    broker = f"sqla+sqlite:///{tmp_path / 'celery-broker.sqlite3'}"
    api = api_with(QUEUE_URL=broker)  # make run's default transport: no publisher confirms
    api.post(f"{owner}/topics", TOPIC)
    status, job = _publish(api, owner)
    assert (status, job["state"]) == (202, "queued")
    with Connection(broker) as conn:
        message = conn.SimpleQueue(queue_name).get(timeout=5)
        message.ack()
    assert message.headers["task"] == "publish_broker.publish"
