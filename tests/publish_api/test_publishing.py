from concurrent.futures import ThreadPoolExecutor

import pytest

from publish_api import create_app
from publish_api.db import get_session
from publish_api.services import owners, publishing

from .conftest import ApiClient

TOPIC = {"question": "How do I reset my VPN password?", "answer": "Use the self-service portal."}


def _publish(api, owner):
    response = api.post(f"{owner}/publish")
    return response.status_code, response.get_json()["job"]


def _walk(api, job_id, *states, **live):
    response = api.get(f"/v1/jobs/{job_id}")
    for state in states:
        body = {"state": state, **(live if state == "live" else {})}
        if state == "failed":
            body["error"] = "training data was invalid"
        response = api.post(f"/v1/jobs/{job_id}/transitions", body)
        assert response.status_code == 200, response.get_json()
    return response.get_json()


LIVE = {"endpoint": "http://faqbot-t1-ualice:5005", "model_digest": "abc123"}


def test_publish_queues_one_task_after_commit(api, owner, published_tasks):
    api.post(f"{owner}/topics", TOPIC)
    status, job = _publish(api, owner)
    assert status == 202 and job["state"] == "queued" and job["topic_count"] == 1
    assert published_tasks.drain() == [{"task": "publish_broker.publish", "args": [job["id"]]}]
    assert api.get(f"/v1/jobs/{job['id']}").get_json() == job
    version = api.get(f"/v1/versions/{job['version_id']}").get_json()
    assert version["digest"] == job["digest"]
    assert [(t["question"], t["answer"]) for t in version["topics"]] == [
        (TOPIC["question"], TOPIC["answer"])
    ]


def test_nothing_changed_answers_the_current_job_and_enqueues_nothing(api, owner, published_tasks):
    api.post(f"{owner}/topics", TOPIC)
    _, first = _publish(api, owner)
    published_tasks.drain()
    status, again = _publish(api, owner)
    assert (status, again["id"]) == (200, first["id"])
    _walk(api, first["id"], "training", "deploying", "live", **LIVE)
    status, after_live = _publish(api, owner)
    assert (status, after_live["id"], after_live["state"]) == (200, first["id"], "live")
    assert published_tasks.drain() == []


def test_nothing_to_publish(api, owner, published_tasks):
    response = api.post(f"{owner}/publish")
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "nothing_to_publish"
    assert published_tasks.drain() == []


def test_rolled_back_publish_sends_nothing(app, owner, published_tasks):
    with app.app_context():
        session = get_session()
        ApiClient(app.test_client()).post(f"{owner}/topics", TOPIC)
        user = owners.get_owner(session, "T1", "UALICE")
        job = publishing._new_job(session, user, [{"id": 1}], "d" * 64)
        from publish_api.db import on_commit

        on_commit(session, lambda: app.extensions["publish_queue"].send_publish(job.id))
        session.rollback()
        session.commit()  # an empty commit later must not send the rolled-back task
    assert published_tasks.drain() == []
    assert ApiClient(app.test_client()).get(f"/v1/jobs/{job.id}").status_code == 404


def test_newer_publish_supersedes_a_queued_one(api, owner, published_tasks):
    topic = api.post(f"{owner}/topics", TOPIC).get_json()
    _, first = _publish(api, owner)
    api.patch(f"{owner}/topics/{topic['id']}", {"answer": "Ask IT."})
    status, second = _publish(api, owner)
    assert status == 202 and second["id"] != first["id"]
    old = api.get(f"/v1/jobs/{first['id']}").get_json()
    assert old["state"] == "superseded"
    assert [m["args"] for m in published_tasks.drain()] == [[first["id"]], [second["id"]]]
    response = api.post(f"/v1/jobs/{first['id']}/transitions", {"state": "training"})
    assert response.status_code == 409  # the broker drops the superseded task


def test_concurrent_publishes_yield_one_job(app, owner, published_tasks):
    ApiClient(app.test_client()).post(f"{owner}/topics", TOPIC)

    def publish(_):
        response = ApiClient(app.test_client()).post(f"{owner}/publish")
        return response.status_code, response.get_json()["job"]["id"]

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(publish, range(6)))
    assert len({job_id for _, job_id in results}) == 1
    assert sorted(status for status, _ in results) == [200] * 5 + [202]
    assert len(published_tasks.drain()) == 1


def test_unreachable_queue_fails_the_job_and_answers_503(config, owner, published_tasks):
    api = ApiClient(
        create_app(
            {**config, "QUEUE_URL": "amqp://guest:guest@127.0.0.1:1//", "QUEUE_TIMEOUT_S": 0.5}
        ).test_client()
    )
    api.post(f"{owner}/topics", TOPIC)
    response = api.post(f"{owner}/publish")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "queue_unavailable"
    jobs = api.get(f"{owner}/topics")  # the topics are intact
    assert jobs.get_json()["topics"][0]["state"] == "pending"
    # A later publish, with the queue back, is not blocked by the failed job.
    assert published_tasks.drain() == []


def test_a_later_publish_works_after_an_unqueued_failure(config, api, owner, published_tasks):
    api.post(f"{owner}/topics", TOPIC)
    broken = ApiClient(
        create_app(
            {**config, "QUEUE_URL": "amqp://guest:guest@127.0.0.1:1//", "QUEUE_TIMEOUT_S": 0.5}
        ).test_client()
    )
    assert broken.post(f"{owner}/publish").status_code == 503
    status, job = _publish(api, owner)
    assert status == 202 and job["state"] == "queued"
    assert [m["args"] for m in published_tasks.drain()] == [[job["id"]]]


def test_live_marks_topics_published_and_records_the_bot(api, owner):
    kept = api.post(f"{owner}/topics", TOPIC).get_json()
    gone = api.post(f"{owner}/topics", {**TOPIC, "question": "Where is the wiki?"}).get_json()
    _, job = _publish(api, owner)
    unpublished = api.get(f"{owner}/bot")
    assert unpublished.status_code == 404
    assert unpublished.get_json()["error"]["code"] == "bot_not_found"
    live = _walk(api, job["id"], "training", "deploying", "live", **LIVE)
    assert live["state"] == "live" and live["finished_at"] and live["started_at"]
    bot = api.get(f"{owner}/bot").get_json()
    assert (bot["live_job_id"], bot["live_version_id"]) == (job["id"], job["version_id"])
    assert (bot["endpoint"], bot["model_digest"], bot["health"]) == (
        LIVE["endpoint"],
        "abc123",
        "healthy",
    )
    assert {t["state"] for t in api.get(f"{owner}/topics").get_json()["topics"]} == {"published"}

    api.patch(f"{owner}/topics/{kept['id']}", {"answer": "changed"})
    api.delete(f"{owner}/topics/{gone['id']}")
    listing = api.get(f"{owner}/topics").get_json()
    assert [t["state"] for t in listing["topics"]] == ["pending"]
    assert listing["pending_deletions"] == 1


def test_a_live_transition_without_endpoint_and_digest_retires_the_bot(api, owner):
    api.post(f"{owner}/topics", TOPIC)
    _walk(api, _publish(api, owner)[1]["id"], "training", "deploying", "live", **LIVE)
    api.delete(f"{owner}/topics")
    status, job = _publish(api, owner)
    assert status == 202 and job["topic_count"] == 0
    retired = {"endpoint": None, "model_digest": None}
    assert _walk(api, job["id"], "training", "deploying", "live", **retired)["state"] == "live"
    bot = api.get(f"{owner}/bot").get_json()
    assert (bot["live_job_id"], bot["endpoint"], bot["model_digest"]) == (job["id"], None, None)


def test_failed_job_keeps_the_live_version(api, owner):
    topic = api.post(f"{owner}/topics", TOPIC).get_json()
    _, first = _publish(api, owner)
    _walk(api, first["id"], "training", "deploying", "live", **LIVE)
    api.patch(f"{owner}/topics/{topic['id']}", {"answer": "changed"})
    _, second = _publish(api, owner)
    failed = _walk(api, second["id"], "training", "failed")
    assert (failed["state"], failed["error"]) == ("failed", "training data was invalid")
    bot = api.get(f"{owner}/bot").get_json()
    assert bot["live_job_id"] == first["id"] and bot["last_error"] == "training data was invalid"
    status, third = _publish(api, owner)  # a failed job does not count as current content
    assert status == 202 and third["id"] != second["id"]


@pytest.mark.parametrize(
    "steps,bad",
    [
        ((), {"state": "deploying"}),
        ((), {"state": "live", **LIVE}),
        (("training",), {"state": "live", **LIVE}),
        (("training", "failed"), {"state": "training"}),
    ],
)
def test_invalid_transitions_are_409(api, owner, steps, bad):
    api.post(f"{owner}/topics", TOPIC)
    _, job = _publish(api, owner)
    _walk(api, job["id"], *steps)
    response = api.post(f"/v1/jobs/{job['id']}/transitions", bad)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "invalid_transition"


@pytest.mark.parametrize(
    "body,field",
    [
        ({"state": "live"}, None),
        ({"state": "failed"}, None),
        ({"state": "queued"}, "state"),
        ({"state": "live", "endpoint": "not a url", "model_digest": "x"}, "endpoint"),
        ({"state": "live", "endpoint": None, "model_digest": "x"}, None),
        ({"state": "live", "endpoint": "http://bot:5005", "model_digest": None}, None),
        ({"state": "live", "endpoint": None}, None),
    ],
)
def test_transition_bodies_are_validated(api, owner, body, field):
    api.post(f"{owner}/topics", TOPIC)
    _, job = _publish(api, owner)
    response = api.post(f"/v1/jobs/{job['id']}/transitions", body)
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == field


def test_one_job_per_owner_at_a_time_and_redelivery_takes_over(api, owner):
    topic = api.post(f"{owner}/topics", TOPIC).get_json()
    _, first = _publish(api, owner)
    _walk(api, first["id"], "training")
    api.patch(f"{owner}/topics/{topic['id']}", {"answer": "changed"})
    _, second = _publish(api, owner)
    busy = api.post(f"/v1/jobs/{second['id']}/transitions", {"state": "training"})
    assert busy.status_code == 409 and busy.get_json()["error"]["code"] == "owner_busy"
    # The first job's worker died; the redelivered task claims it again.
    assert _walk(api, first["id"], "training", "deploying")["state"] == "deploying"
    _walk(api, first["id"], "live", **LIVE)
    assert _walk(api, second["id"], "training")["state"] == "training"


def test_other_owners_are_not_blocked(api, owner):
    api.post(f"{owner}/topics", TOPIC)
    _, alice = _publish(api, owner)
    _walk(api, alice["id"], "training")
    api.put("/v1/users/T1/UBOB", {"display_name": "Bob"})
    api.post("/v1/users/T1/UBOB/topics", TOPIC)
    _, bob = _publish(api, "/v1/users/T1/UBOB")
    assert _walk(api, bob["id"], "training")["state"] == "training"


def test_bot_health_and_unanswered(api, owner):
    api.post(f"{owner}/topics", TOPIC)
    _, job = _publish(api, owner)
    _walk(api, job["id"], "training", "deploying", "live", **LIVE)
    bot = api.put(f"{owner}/bot/health", {"health": "unhealthy", "error": "container exited"})
    assert (bot.get_json()["health"], bot.get_json()["last_error"]) == (
        "unhealthy",
        "container exited",
    )

    for question in ("Where is the coffee?", "Who runs payroll?"):
        body = {"question": question, "asker_team_id": "T1", "asker_user_id": "UBOB"}
        assert api.post(f"{owner}/unanswered", body).status_code == 201
    items = api.get(f"{owner}/unanswered").get_json()["unanswered"]
    assert [i["question"] for i in items] == ["Who runs payroll?", "Where is the coffee?"]
    bad = api.post(
        f"{owner}/unanswered", {"question": "", "asker_team_id": "T1", "asker_user_id": "UBOB"}
    )
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "question"


def test_publishing_again_redeploys_a_bot_reported_down(api, owner, published_tasks):
    api.post(f"{owner}/topics", TOPIC)
    _, first = _publish(api, owner)
    _walk(api, first["id"], "training", "deploying", "live", **LIVE)
    api.put(f"{owner}/bot/health", {"health": "unhealthy", "error": "not answering"})
    published_tasks.drain()
    status, again = _publish(api, owner)
    assert status == 202 and again["id"] != first["id"] and again["digest"] == first["digest"]
    assert [m["args"] for m in published_tasks.drain()] == [[again["id"]]]
    _walk(api, again["id"], "training", "deploying", "live", **LIVE)
    assert api.get(f"{owner}/bot").get_json()["health"] == "healthy"
    status, same = _publish(api, owner)
    assert (status, same["id"]) == (200, again["id"])
