from concurrent.futures import ThreadPoolExecutor

import pytest

from publish_api import create_app

from .conftest import ApiClient

TOPIC = {"question": "How do I reset my VPN password?", "answer": "Use the self-service portal."}


def test_create_list_get_update_delete(api, owner):
    created = api.post(f"{owner}/topics", {**TOPIC, "alternatives": ["vpn password reset"]})
    assert created.status_code == 201
    topic = created.get_json()
    assert topic["state"] == "pending" and topic["alternatives"] == ["vpn password reset"]
    assert api.get(f"{owner}/topics/{topic['id']}").get_json()["question"] == TOPIC["question"]

    patched = api.patch(f"{owner}/topics/{topic['id']}", {"answer": "Ask IT."}).get_json()
    assert patched["answer"] == "Ask IT." and patched["question"] == TOPIC["question"]

    listing = api.get(f"{owner}/topics").get_json()
    assert [t["id"] for t in listing["topics"]] == [topic["id"]]
    assert api.delete(f"{owner}/topics/{topic['id']}").status_code == 204
    assert api.get(f"{owner}/topics").get_json() == {
        "topics": [],
        "pending_deletions": 0,
        "next_cursor": None,
    }
    assert api.get(f"{owner}/topics/{topic['id']}").status_code == 404


def test_delete_all(api, owner):
    for i in range(3):
        api.post(f"{owner}/topics", {**TOPIC, "question": f"q{i}"})
    assert api.delete(f"{owner}/topics").get_json() == {"deleted": 3}
    assert api.get(f"{owner}/topics").get_json()["topics"] == []


def test_question_and_answer_are_trimmed(api, owner):
    topic = api.post(f"{owner}/topics", {"question": "  Where? ", "answer": " Here "}).get_json()
    assert (topic["question"], topic["answer"]) == ("Where?", "Here")


@pytest.mark.parametrize(
    "body,field",
    [
        ({"answer": "a"}, "question"),
        ({"question": "q"}, "answer"),
        ({"question": "", "answer": "a"}, "question"),
        ({"question": "   ", "answer": "a"}, "question"),
        ({"question": "q" * 301, "answer": "a"}, "question"),
        ({"question": "q", "answer": "a" * 3001}, "answer"),
        ({"question": 7, "answer": "a"}, "question"),
        ({"question": "q", "answer": "a", "alternatives": "x"}, "alternatives"),
        ({"question": "q", "answer": "a", "alternatives": ["x"] * 21}, "alternatives"),
        ({"question": "q", "answer": "a", "alternatives": ["x" * 301]}, "alternatives.0"),
    ],
)
def test_bad_topic_bodies_name_the_field(api, owner, body, field):
    response = api.post(f"{owner}/topics", body)
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == field
    assert api.get(f"{owner}/topics").get_json()["topics"] == []  # nothing half-written


def test_limits_at_the_edge_are_accepted(api, owner):
    body = {
        "question": "q" * 300,
        "answer": "a" * 3000,
        "alternatives": [f"alt {i}" for i in range(20)],
    }
    assert api.post(f"{owner}/topics", body).status_code == 201


def test_patch_needs_a_field_and_rejects_nulls(api, owner):
    topic = api.post(f"{owner}/topics", TOPIC).get_json()
    assert api.patch(f"{owner}/topics/{topic['id']}", {}).status_code == 422
    assert api.patch(f"{owner}/topics/{topic['id']}", {"answer": None}).status_code == 422


def test_topics_of_another_owner_are_invisible(api, owner):
    topic = api.post(f"{owner}/topics", TOPIC).get_json()
    api.put("/v1/users/T1/UBOB", {"display_name": "Bob"})
    assert api.get(f"/v1/users/T1/UBOB/topics/{topic['id']}").status_code == 404
    assert api.delete(f"/v1/users/T1/UBOB/topics/{topic['id']}").status_code == 404
    assert api.get(f"{owner}/topics/{topic['id']}").status_code == 200


def test_huge_ids_are_404_not_500(api, owner):
    assert api.get(f"{owner}/topics/99999999999999").status_code == 404
    assert api.get("/v1/jobs/99999999999999").status_code == 404
    assert api.get("/v1/versions/99999999999999").status_code == 404


def test_topic_cap_is_500_by_default(app):
    assert app.config["SETTINGS"].MAX_TOPICS_PER_OWNER == 500


def test_topic_cap_gives_413(config, owner):
    api = ApiClient(create_app({**config, "MAX_TOPICS_PER_OWNER": 3}).test_client())
    for i in range(3):
        assert api.post(f"{owner}/topics", {**TOPIC, "question": f"q{i}"}).status_code == 201
    response = api.post(f"{owner}/topics", TOPIC)
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "topic_limit"


def test_concurrent_creates_cannot_pass_the_cap(config, owner):
    app = create_app({**config, "MAX_TOPICS_PER_OWNER": 5})

    def create(i):
        return ApiClient(app.test_client()).post(f"{owner}/topics", {**TOPIC, "question": f"q{i}"})

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(r.status_code for r in pool.map(create, range(12)))
    assert statuses == [201] * 5 + [413] * 7


def test_concurrent_edits_of_different_fields_both_survive(app, owner):
    api = ApiClient(app.test_client())
    topic = api.post(f"{owner}/topics", TOPIC).get_json()
    path = f"{owner}/topics/{topic['id']}"
    edits = [{"answer": "new answer"}, {"question": "new question?"}] * 5

    def edit(body):
        return ApiClient(app.test_client()).patch(path, body).status_code

    with ThreadPoolExecutor(4) as pool:
        assert set(pool.map(edit, edits)) == {200}
    final = api.get(path).get_json()
    assert (final["question"], final["answer"]) == ("new question?", "new answer")


def test_concurrent_alternative_additions_all_land(app, owner):
    api = ApiClient(app.test_client())
    topic = api.post(f"{owner}/topics", TOPIC).get_json()
    path = f"{owner}/topics/{topic['id']}/alternatives"

    def add(i):
        return ApiClient(app.test_client()).post(path, {"text": f"phrasing {i}"}).status_code

    with ThreadPoolExecutor(6) as pool:
        assert set(pool.map(add, range(12))) == {201}
    alternatives = api.get(f"{owner}/topics/{topic['id']}").get_json()["alternatives"]
    assert sorted(alternatives) == sorted(f"phrasing {i}" for i in range(12))


def test_alternatives_cap_at_20(api, owner):
    topic = api.post(f"{owner}/topics", {**TOPIC, "alternatives": [f"a{i}" for i in range(20)]})
    response = api.post(
        f"{owner}/topics/{topic.get_json()['id']}/alternatives", {"text": "one more"}
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "text"
