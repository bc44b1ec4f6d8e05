"""Version storage on both databases: snapshots pruned, stored compactly, loaded only when read;
topic lists paged."""

import json
import re

from sqlalchemy import event, text

from publish_api import create_app
from publish_api.db import get_session
from publish_api.models import Topic
from publish_api.services import owners

from .conftest import ApiClient

TOPIC = {"question": "How do I reset my VPN password?", "answer": "Use the self-service portal."}
LIVE = {"endpoint": "http://faqbot-t1-ualice:5005", "model_digest": "abc123"}


def _walk(api, job_id, *states):
    for state in states:
        body = {"state": state, **(LIVE if state == "live" else {})}
        assert api.post(f"/v1/jobs/{job_id}/transitions", body).status_code == 200


def _publish_new_content(api, owner, topic_id, answer) -> dict:
    api.patch(f"{owner}/topics/{topic_id}", {"answer": answer})
    response = api.post(f"{owner}/publish")
    assert response.status_code == 202
    return response.get_json()["job"]


def _version_status(api, job) -> int:
    return api.get(f"/v1/versions/{job['version_id']}").status_code


def test_old_snapshots_are_pruned_but_live_in_progress_and_recent_ones_kept(any_config):
    api = ApiClient(create_app({**any_config, "KEEP_VERSIONS": 2}).test_client())
    owner = "/v1/users/T1/UALICE"
    api.put(owner, {"display_name": "Alice"})
    topic = api.post(f"{owner}/topics", TOPIC).get_json()
    training = _publish_new_content(api, owner, topic["id"], "v1")
    _walk(api, training["id"], "training")
    jobs = [_publish_new_content(api, owner, topic["id"], f"v{n}") for n in (2, 3, 4)]
    # v2 was superseded and is not among the 2 newest; v1 is still being trained.
    assert [_version_status(api, job) for job in [training, *jobs]] == [200, 410, 200, 200]
    gone = api.get(f"/v1/versions/{jobs[0]['version_id']}").get_json()["error"]
    assert (gone["code"], gone["field"]) == ("version_pruned", "version_id")
    assert api.get(f"/v1/jobs/{jobs[0]['id']}").get_json()["topic_count"] == 1

    _walk(api, training["id"], "deploying", "live")
    assert _version_status(api, training) == 200  # live now
    _walk(api, jobs[2]["id"], "training", "deploying", "live")
    assert [_version_status(api, job) for job in [training, *jobs]] == [410, 410, 200, 200]
    assert {t["state"] for t in api.get(f"{owner}/topics").get_json()["topics"]} == {"published"}


def test_snapshots_are_stored_as_compact_json(any_app, any_api, any_owner):
    body = {"question": "Where is the party? 🎉🎉", "answer": "Café ☕, 3rd floor"}
    any_api.post(f"{any_owner}/topics", body)
    any_api.post(f"{any_owner}/publish")
    with any_app.extensions["db_engine"].connect() as connection:
        stored = connection.execute(text("SELECT CAST(topics AS TEXT) FROM versions")).scalar_one()
    assert "🎉🎉" in stored and "Café ☕" in stored  # not \ud83c\udf89 escapes
    assert stored == json.dumps(json.loads(stored), separators=(",", ":"), ensure_ascii=False)


def test_job_views_do_not_load_the_snapshot(any_app, any_api, any_owner):
    any_api.post(f"{any_owner}/topics", TOPIC)
    job = any_api.post(f"{any_owner}/publish").get_json()["job"]
    statements = []
    engine = any_app.extensions["db_engine"]

    def record(_conn, _cursor, statement, *_rest):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        assert any_api.get(f"/v1/jobs/{job['id']}").get_json()["topic_count"] == 1
        _walk(any_api, job["id"], "training")
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert statements and not [s for s in statements if re.search(r"\.topics\b", s)]
    # ...while the broker's read of the version does load it.
    assert len(any_api.get(f"/v1/versions/{job['version_id']}").get_json()["topics"]) == 1


def test_topic_lists_are_paged(any_api, any_owner):
    ids = [any_api.post(f"{any_owner}/topics", {**TOPIC, "question": f"q{i}"}).get_json()["id"]
           for i in range(5)]
    seen, cursor, pages = [], None, 0
    while True:
        query = f"?limit=2&cursor={cursor}" if cursor else "?limit=2"
        page = any_api.get(f"{any_owner}/topics{query}").get_json()
        seen += [t["id"] for t in page["topics"]]
        pages, cursor = pages + 1, page["next_cursor"]
        if cursor is None:
            break
    assert (seen, pages) == (ids, 3)


def test_the_default_page_is_the_whole_list(any_config):
    api = ApiClient(create_app({**any_config, "MAX_TOPICS_PER_OWNER": 3}).test_client())
    owner = "/v1/users/T1/UALICE"
    api.put(owner, {"display_name": "Alice"})
    for i in range(3):
        api.post(f"{owner}/topics", {**TOPIC, "question": f"q{i}"})
    listing = api.get(f"{owner}/topics").get_json()
    assert (len(listing["topics"]), listing["next_cursor"]) == (3, None)
    assert listing["pending_deletions"] == 0
    assert len(api.get(f"{owner}/topics?limit=1000").get_json()["topics"]) == 3  # capped, not 422


def test_bad_paging_names_the_parameter(any_api, any_owner):
    for query, field in (("limit=0", "limit"), ("limit=x", "limit"), ("cursor=abc", "cursor"),
                         ("cursor=-1", "cursor")):
        response = any_api.get(f"{any_owner}/topics?{query}")
        assert response.status_code == 422, query
        assert response.get_json()["error"]["field"] == field


def test_a_full_owner_fits_the_default_page_as_existing_clients_expect(any_app, any_api, any_owner):
    # capture-actions reads "topics" and "pending_deletions" of one unpaged call.
    cap = any_app.config["SETTINGS"].MAX_TOPICS_PER_OWNER
    with any_app.app_context():
        session = get_session()
        owner = owners.get_owner(session, "T1", "UALICE")
        session.add_all(
            Topic(owner_id=owner.id, question=f"q{i}?", answer="a", alternatives=[])
            for i in range(cap)
        )
        session.commit()
    listing = any_api.get(f"{any_owner}/topics").get_json()
    assert (len(listing["topics"]), listing["next_cursor"], cap) == (500, None, 500)
