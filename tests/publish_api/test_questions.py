"""The learning loop's state in publish-api: questions (open, answered, attached, dismissed), the
ask log and its daily counts, caps and the per-asker rate limit, the owner's digest and the
answers owed to askers. On PostgreSQL and SQLite."""

from datetime import datetime, timedelta, timezone

import pytest

from publish_api import create_app
from publish_api.models import Ask, User

from .conftest import ApiClient
from .test_publishing import LIVE, _publish, _walk

OWNER = "/v1/users/T1/UALICE"


def _ask(question, asker="UBOB", **extra):
    return {"question": question, "asker_team_id": "T1", "asker_user_id": asker, **extra}


def _topic(api, question="Where is the coffee?", answer="Second floor."):
    return api.post(f"{OWNER}/topics", {"question": question, "answer": answer}).get_json()


def test_a_question_is_open_and_the_same_one_again_is_not_a_second(any_api, any_owner):
    first = any_api.post(f"{OWNER}/unanswered", _ask("Who runs payroll?"))
    assert first.status_code == 201
    item = first.get_json()
    assert (item["state"], item["kind"], item["topic_id"], item["given_answer"]) == (
        "open", "not_answered", None, None)
    again = any_api.post(f"{OWNER}/unanswered", _ask("Who runs payroll?"))
    assert again.status_code == 200 and again.get_json()["id"] == item["id"]
    listed = any_api.get(f"{OWNER}/unanswered?state=open").get_json()["unanswered"]
    assert [q["id"] for q in listed] == [item["id"]]
    # Both asks are in the log, unanswered.
    today = any_api.get(f"{OWNER}/asks/daily?days=1").get_json()["days"]
    assert today[0]["unanswered"] == 2 and today[0]["answered"] == 0


def test_a_wrong_answer_is_recorded_with_what_was_answered(any_api, any_owner):
    topic = _topic(any_api)
    body = _ask("Where is the tea?", kind="wrong_answer", given_answer="Second floor.",
                topic_id=topic["id"])
    item = any_api.post(f"{OWNER}/unanswered", body).get_json()
    assert (item["kind"], item["given_answer"], item["topic_id"]) == (
        "wrong_answer", "Second floor.", topic["id"])
    # A report is not another ask: the ask was logged when it was answered.
    assert any_api.get(f"{OWNER}/asks/daily?days=1").get_json()["days"][0]["unanswered"] == 0
    missing = any_api.post(f"{OWNER}/unanswered", _ask("Tea?", kind="wrong_answer"))
    assert missing.status_code == 422
    stray = any_api.post(f"{OWNER}/unanswered", _ask("Tea?", given_answer="x"))
    assert stray.status_code == 422


def test_answering_makes_a_topic_and_closes_the_same_words_of_others(any_api, any_owner):
    bob = any_api.post(f"{OWNER}/unanswered", _ask("Who runs payroll?")).get_json()
    carol = any_api.post(f"{OWNER}/unanswered", _ask("who runs PAYROLL?", "UCAROL")).get_json()
    other = any_api.post(f"{OWNER}/unanswered", _ask("Where is the gym?")).get_json()
    done = any_api.post(f"{OWNER}/unanswered/{bob['id']}/answer", {"answer": "Dana does."})
    assert done.status_code == 200, done.get_json()
    result = done.get_json()
    assert result["topic"]["question"] == "Who runs payroll?"
    assert result["topic"]["answer"] == "Dana does."
    assert {q["id"] for q in result["questions"]} == {bob["id"], carol["id"]}
    assert {q["state"] for q in result["questions"]} == {"answered"}
    assert {q["topic_id"] for q in result["questions"]} == {result["topic"]["id"]}
    still_open = any_api.get(f"{OWNER}/unanswered?state=open").get_json()["unanswered"]
    assert [q["id"] for q in still_open] == [other["id"]]
    twice = any_api.post(f"{OWNER}/unanswered/{bob['id']}/answer", {"answer": "Again."})
    assert twice.status_code == 409 and twice.get_json()["error"]["code"] == "question_closed"
    topics = any_api.get(f"{OWNER}/topics").get_json()["topics"]
    assert [t["question"] for t in topics] == ["Who runs payroll?"]  # one topic, not two


def test_attach_adds_a_phrasing_and_dismiss_closes(any_api, any_owner):
    topic = _topic(any_api)
    asked = any_api.post(f"{OWNER}/unanswered", _ask("coffee machine?")).get_json()
    attached = any_api.post(f"{OWNER}/unanswered/{asked['id']}/attach",
                            {"topic_id": topic["id"]}).get_json()
    assert attached["topic"]["alternatives"] == ["coffee machine?"]
    assert attached["questions"][0]["state"] == "attached"
    gone = any_api.post(f"{OWNER}/unanswered", _ask("Is it Friday?")).get_json()
    dismissed = any_api.post(f"{OWNER}/unanswered/{gone['id']}/dismiss").get_json()
    assert dismissed["topic"] is None and dismissed["questions"][0]["state"] == "dismissed"
    states = {q["id"]: q["state"] for q in any_api.get(f"{OWNER}/unanswered").get_json()[
        "unanswered"]}
    assert states == {asked["id"]: "attached", gone["id"]: "dismissed"}
    unknown = any_api.post(f"{OWNER}/unanswered/{gone['id'] + 100}/dismiss")
    assert unknown.status_code == 404
    assert unknown.get_json()["error"]["code"] == "question_not_found"
    nowhere = any_api.post(f"{OWNER}/unanswered", _ask("Lunch?")).get_json()
    bad_topic = any_api.post(f"{OWNER}/unanswered/{nowhere['id']}/attach", {"topic_id": 999})
    assert bad_topic.status_code == 404
    assert any_api.get(f"{OWNER}/unanswered?state=open").get_json()["unanswered"][0][
        "id"] == nowhere["id"]  # nothing half-done


def test_a_question_too_long_for_a_topic_is_refused_and_stays_open(any_api, any_owner):
    asked = any_api.post(f"{OWNER}/unanswered", _ask("why " * 100)).get_json()
    refused = any_api.post(f"{OWNER}/unanswered/{asked['id']}/answer", {"answer": "Because."})
    assert refused.status_code == 422 and refused.get_json()["error"]["field"] == "question"
    assert any_api.get(f"{OWNER}/topics").get_json()["topics"] == []
    assert any_api.get(f"{OWNER}/unanswered?state=open").get_json()["unanswered"][0][
        "id"] == asked["id"]


def test_an_asker_is_rate_limited_per_owner(any_config):
    app = create_app({**any_config, "ASKS_PER_ASKER_PER_HOUR": 3})
    api = ApiClient(app.test_client())
    api.put(OWNER, {"display_name": "Alice"})
    api.put("/v1/users/T1/UDAN", {"display_name": "Dan"})
    assert api.post(f"{OWNER}/asks", {"asker_team_id": "T1", "asker_user_id": "UBOB"}
                    ).status_code == 201
    for i in range(2):
        assert api.post(f"{OWNER}/unanswered", _ask(f"q{i}")).status_code == 201
    limited = api.post(f"{OWNER}/unanswered", _ask("one more"))
    assert limited.status_code == 429
    assert limited.get_json()["error"]["code"] == "rate_limited"
    assert 0 < int(limited.headers["Retry-After"]) <= 3600
    assert api.post(f"{OWNER}/asks", {"asker_team_id": "T1", "asker_user_id": "UBOB"}
                    ).status_code == 429
    # Others may still ask Alice, and Bob may still ask Dan.
    assert api.post(f"{OWNER}/unanswered", _ask("mine", "UCAROL")).status_code == 201
    assert api.post("/v1/users/T1/UDAN/unanswered", _ask("hi")).status_code == 201
    app.extensions["db_engine"].dispose()


def test_an_owner_has_at_most_so_many_open_questions(any_config):
    app = create_app({**any_config, "MAX_OPEN_QUESTIONS_PER_OWNER": 2})
    api = ApiClient(app.test_client())
    api.put(OWNER, {"display_name": "Alice"})
    first = api.post(f"{OWNER}/unanswered", _ask("a")).get_json()
    api.post(f"{OWNER}/unanswered", _ask("b"))
    full = api.post(f"{OWNER}/unanswered", _ask("c"))
    assert full.status_code == 413 and full.get_json()["error"]["code"] == "question_limit"
    api.post(f"{OWNER}/unanswered/{first['id']}/dismiss")
    assert api.post(f"{OWNER}/unanswered", _ask("c")).status_code == 201
    app.extensions["db_engine"].dispose()


def _log_asks(app, days_ago: int, answered: int, unanswered: int, topic_id=None):
    sessionmaker = app.extensions["db_sessionmaker"]
    when = datetime.now(timezone.utc) - timedelta(days=days_ago)
    with sessionmaker() as session:
        owner = session.query(User).filter_by(slack_user_id="UALICE").one()
        for flag, count in ((True, answered), (False, unanswered)):
            session.add_all(
                Ask(owner_id=owner.id, asker_team_id="T1", asker_user_id="UBOB", answered=flag,
                    topic_id=topic_id if flag else None, created_at=when)
                for _ in range(count))
        session.commit()


def test_daily_counts_are_zero_filled_oldest_first_ending_today(any_app, any_api, any_owner):
    topic = _topic(any_api)
    _log_asks(any_app, 0, 2, 1, topic["id"])
    _log_asks(any_app, 3, 1, 4)
    _log_asks(any_app, 20, 5, 5)  # outside the default 14 days
    days = any_api.get(f"{OWNER}/asks/daily").get_json()["days"]
    today = datetime.now(timezone.utc).date()
    assert [d["date"] for d in days] == [
        (today - timedelta(days=13 - i)).isoformat() for i in range(14)]
    assert days[-1] == {"date": today.isoformat(), "answered": 2, "unanswered": 1}
    assert days[-4] == {"date": (today - timedelta(days=3)).isoformat(),
                        "answered": 1, "unanswered": 4}
    assert sum(d["answered"] + d["unanswered"] for d in days) == 8
    month = any_api.get(f"{OWNER}/asks/daily?days=30").get_json()["days"]
    assert len(month) == 30 and sum(d["answered"] for d in month) == 8
    for bad in ("0", "91", "x"):
        refused = any_api.get(f"{OWNER}/asks/daily?days={bad}")
        assert refused.status_code == 422 and refused.get_json()["error"]["field"] == "days"
    assert any_api.get("/v1/users/T1/UNOBODY/asks/daily").status_code == 404


def test_topics_say_how_often_they_were_asked_this_week(any_app, any_api, any_owner):
    coffee, tea = _topic(any_api), _topic(any_api, "Where is the tea?", "Kitchen.")
    _log_asks(any_app, 1, 3, 0, coffee["id"])
    _log_asks(any_app, 9, 4, 0, coffee["id"])  # last week
    logged = any_api.post(f"{OWNER}/asks", {"asker_team_id": "T1", "asker_user_id": "UBOB",
                                            "topic_id": tea["id"]})
    assert logged.status_code == 201 and logged.get_json()["answered"] is True
    counts = {t["id"]: t["asked_this_week"]
              for t in any_api.get(f"{OWNER}/topics").get_json()["topics"]}
    assert counts == {coffee["id"]: 3, tea["id"]: 1}
    any_api.put("/v1/users/T1/UDAN", {"display_name": "Dan"})
    foreign = any_api.post("/v1/users/T1/UDAN/asks", {
        "asker_team_id": "T1", "asker_user_id": "UBOB", "topic_id": tea["id"]})
    assert foreign.status_code == 404  # Alice's topic is not Dan's


def test_a_new_question_enqueues_the_owner_digest(api, owner, published_tasks):
    api.post(f"{owner}/unanswered", _ask("Who runs payroll?"))
    api.post(f"{owner}/unanswered", _ask("Who runs payroll?"))  # the same: no second digest
    assert published_tasks.drain() == [
        {"task": "publish_broker.question_digest", "args": ["T1", "UALICE"]}]


def test_the_digest_names_each_question_once_and_at_most_once_per_period(any_config):
    app = create_app({**any_config, "QUESTION_DIGEST_PERIOD_S": 3600})
    api = ApiClient(app.test_client())
    api.put(OWNER, {"display_name": "Alice"})
    assert api.post(f"{OWNER}/unanswered/digest").get_json() == {
        "questions": [], "retry_after": None}
    api.post(f"{OWNER}/unanswered", _ask("a"))
    api.post(f"{OWNER}/unanswered", _ask("b", "UCAROL"))
    first = api.post(f"{OWNER}/unanswered/digest").get_json()
    assert [(q["question"], q["asker_user_id"]) for q in first["questions"]] == [
        ("a", "UBOB"), ("b", "UCAROL")]
    assert api.post(f"{OWNER}/unanswered/digest").get_json() == {
        "questions": [], "retry_after": None}
    api.post(f"{OWNER}/unanswered", _ask("c"))
    early = api.post(f"{OWNER}/unanswered/digest").get_json()
    assert early["questions"] == [] and 3500 < early["retry_after"] <= 3600
    app.extensions["db_engine"].dispose()


def test_answers_are_owed_to_askers_once_the_topic_is_live(any_api, any_owner):
    bob = any_api.post(f"{OWNER}/unanswered", _ask("Who runs payroll?")).get_json()
    any_api.post(f"{OWNER}/unanswered", _ask("Who runs payroll?", "UCAROL"))
    any_api.post(f"{OWNER}/unanswered/{bob['id']}/answer", {"answer": "Dana does."})
    _, job = _publish(any_api, OWNER)
    assert any_api.get(f"/v1/jobs/{job['id']}/deliveries").get_json() == {"deliveries": []}
    _walk(any_api, job["id"], "training", "deploying", "live", **LIVE)
    owed = any_api.get(f"/v1/jobs/{job['id']}/deliveries").get_json()["deliveries"]
    assert [(d["asker_user_id"], d["question"], d["answer"]) for d in owed] == [
        ("UBOB", "Who runs payroll?", "Dana does."), ("UCAROL", "Who runs payroll?", "Dana does.")]
    assert owed[0]["owner_user_id"] == "UALICE" and owed[0]["owner_display_name"] == "Alice"
    for _ in range(2):  # marking is idempotent
        assert any_api.post(f"/v1/jobs/{job['id']}/deliveries/{owed[0]['id']}").status_code == 204
    left = any_api.get(f"/v1/jobs/{job['id']}/deliveries").get_json()["deliveries"]
    assert [d["asker_user_id"] for d in left] == ["UCAROL"]
    assert any_api.post(f"/v1/jobs/{job['id']}/deliveries/99999").status_code == 404


def test_a_version_carries_the_dismissed_questions_and_a_dismissal_changes_it(any_api, any_owner):
    _topic(any_api)
    _, first = _publish(any_api, OWNER)
    version = any_api.get(f"/v1/versions/{first['version_id']}").get_json()
    assert version["dismissed_questions"] == []  # nothing dismissed: the topics' digest alone
    for asker in ("UBOB", "UCAROL"):  # one wording, two askers: one question in the version
        any_api.post(f"{OWNER}/unanswered", _ask("Is it Friday?", asker))
    gym = any_api.post(f"{OWNER}/unanswered", _ask("Where is the gym?")).get_json()
    friday = any_api.get(f"{OWNER}/unanswered?state=open").get_json()["unanswered"][-1]
    any_api.post(f"{OWNER}/unanswered/{friday['id']}/dismiss")
    kept = any_api.post(f"{OWNER}/unanswered", _ask("Who runs payroll?")).get_json()
    any_api.post(f"{OWNER}/unanswered/{gym['id']}/dismiss")

    status, second = _publish(any_api, OWNER)
    assert status == 202 and second["id"] != first["id"]  # the same topics, a new version
    version = any_api.get(f"/v1/versions/{second['version_id']}").get_json()
    assert version["dismissed_questions"] == ["Is it Friday?", "Where is the gym?"]
    assert version["digest"] != first["digest"] and version["topics"] == [
        {k: v for k, v in t.items() if k in ("id", "question", "alternatives", "answer")}
        for t in any_api.get(f"{OWNER}/topics").get_json()["topics"]]
    assert "UBOB" not in str(version)  # askers stay out of the snapshot
    _, again = _publish(any_api, OWNER)
    assert again["id"] == second["id"]  # nothing changed since
    any_api.post(f"{OWNER}/unanswered/{kept['id']}/attach",
                 {"topic_id": version["topics"][0]["id"]})
    _, third = _publish(any_api, OWNER)  # an attached question is a phrasing of its topic
    version = any_api.get(f"/v1/versions/{third['version_id']}").get_json()
    assert version["topics"][0]["alternatives"] == ["Who runs payroll?"]
    assert version["dismissed_questions"] == ["Is it Friday?", "Where is the gym?"]


@pytest.mark.parametrize("path", ["/unanswered?state=closed", "/asks/daily?days=-1"])
def test_bad_queries_are_named(api, owner, path):
    response = api.get(f"{owner}{path}")
    assert response.status_code == 422 and response.get_json()["error"]["field"]
