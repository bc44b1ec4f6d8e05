"""Parallel HTTP requests against a served publish-api: caps and counts hold on both databases.

SQLite ignores SELECT ... FOR UPDATE; these races once stored 15 of 25 alternatives, let an owner
past the topic cap and made two jobs of one publish there.
"""

from concurrent.futures import ThreadPoolExecutor

import requests

SERVED_SETTINGS = {"MAX_TOPICS_PER_OWNER": "10", "ASKS_PER_ASKER_PER_HOUR": "8"}
TOPIC = {"question": "How do I reset my VPN password?", "answer": "Use the self-service portal."}


def _call(api, method, path, body=None) -> requests.Response:
    # One connection per call (a requests.Session is not meant to be shared between threads).
    headers = {"Authorization": f"Bearer {api.token}"}
    return requests.request(method, api.url + path, json=body, headers=headers, timeout=60)


def _in_parallel(count, call) -> list:
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(call, range(count)))


def _owner(api, user_id) -> str:
    path = f"/v1/users/T1/{user_id}"
    assert _call(api, "PUT", path, {"display_name": user_id}).status_code in (200, 201)
    return path


def test_parallel_alternatives_all_land_and_stop_at_the_cap(served_api):
    owner = _owner(served_api, "UALTERNATIVES")
    topic = _call(served_api, "POST", f"{owner}/topics", TOPIC).json()
    path = f"{owner}/topics/{topic['id']}"

    def add(i):
        return _call(served_api, "POST", f"{path}/alternatives", {"text": f"phrasing {i}"})

    statuses = sorted(response.status_code for response in _in_parallel(25, add))
    stored = _call(served_api, "GET", path).json()["alternatives"]
    assert statuses == [201] * 20 + [422] * 5
    assert len(stored) == 20 and len(set(stored)) == 20


def test_parallel_creates_stop_at_the_topic_cap(served_api):
    owner = _owner(served_api, "UCAP")

    def create(i):
        return _call(served_api, "POST", f"{owner}/topics", {**TOPIC, "question": f"q{i}?"})

    statuses = sorted(response.status_code for response in _in_parallel(15, create))
    assert statuses == [201] * 10 + [413] * 5
    assert len(_call(served_api, "GET", f"{owner}/topics").json()["topics"]) == 10


def test_parallel_publishes_of_unchanged_content_make_one_job(served_api, published_tasks):
    owner = _owner(served_api, "UPUBLISH")
    _call(served_api, "POST", f"{owner}/topics", TOPIC)

    def publish(_):
        response = _call(served_api, "POST", f"{owner}/publish")
        return response.status_code, response.json()["job"]["id"]

    results = _in_parallel(20, publish)
    assert len({job_id for _, job_id in results}) == 1
    assert sorted(status for status, _ in results) == [200] * 19 + [202]
    assert [m["args"] for m in published_tasks.drain()] == [[results[0][1]]]


def test_parallel_asks_of_one_asker_stop_at_the_hourly_limit(served_api):
    owner = _owner(served_api, "URATE")
    asker = {"asker_team_id": "T1", "asker_user_id": "UASKER"}

    def ask(_i):
        return _call(served_api, "POST", f"{owner}/asks", asker)

    statuses = sorted(response.status_code for response in _in_parallel(20, ask))
    assert statuses == [201] * 8 + [429] * 12
