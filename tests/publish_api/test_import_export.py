"""Export of an owner's topics as JSON and CSV, and import: validated, all or nothing, dry runs."""

import csv
import io

import pytest
from sqlalchemy import create_engine, text

from publish_api import create_app

from .conftest import ApiClient

OWNER = "/v1/users/T1/UALICE"
BOB = "/v1/users/T1/UBOB"
LIVE = {"endpoint": "http://faqbot-t1-ualice:5005", "model_digest": "abc123"}
CSV_TYPE = {"Content-Type": "text/csv"}


def topic(question, answer="An answer.", alternatives=()):
    return {"question": question, "answer": answer, "alternatives": list(alternatives)}


def create(api, owner, *topics):
    for body in topics:
        assert api.post(f"{owner}/topics", body).status_code == 201


def current(api, owner):
    """The owner's topics as (question, answer, alternatives), in order."""
    return [(t["question"], t["answer"], t["alternatives"])
            for t in api.get(f"{owner}/topics").get_json()["topics"]]


def import_file(api, owner, data, media="application/json", **params):
    query = "&".join(f"{name}={value}" for name, value in params.items())
    return api.client.post(f"{owner}/topics/import?{query}", data=data,
                           headers={**api.headers, "Content-Type": media})


def import_json(api, owner, topics, **params):
    return api.post(f"{owner}/topics/import?" + "&".join(
        f"{name}={value}" for name, value in params.items()), {"topics": topics})


def questions(report, outcome):
    return [item["question"] for item in report[outcome]]


def go_live(api, owner):
    job = api.post(f"{owner}/publish").get_json()["job"]
    for state in ("training", "deploying", "live"):
        body = {"state": state, **(LIVE if state == "live" else {})}
        assert api.post(f"/v1/jobs/{job['id']}/transitions", body).status_code == 200


def test_export_names_each_topics_state(any_api, any_owner, published_tasks):
    create(any_api, any_owner, topic("Kept?"), topic("Edited?"), topic("Removed?"))
    go_live(any_api, any_owner)
    ids = {t["question"]: t["id"] for t in any_api.get(f"{any_owner}/topics").get_json()["topics"]}
    any_api.patch(f"{any_owner}/topics/{ids['Edited?']}", {"answer": "A newer answer."})
    any_api.delete(f"{any_owner}/topics/{ids['Removed?']}")
    create(any_api, any_owner, topic("Added since?", alternatives=["Added later?"]))

    exported = any_api.get(f"{any_owner}/topics/export").get_json()["topics"]

    assert [(t["question"], t["state"]) for t in exported] == [
        ("Kept?", "published"), ("Edited?", "changed"), ("Added since?", "unpublished"),
        ("Removed?", "deleted")]
    assert exported[1]["answer"] == "A newer answer."
    assert exported[2] == {"question": "Added since?", "answer": "An answer.",
                           "alternatives": ["Added later?"], "state": "unpublished"}


def test_csv_export_is_spreadsheet_safe_and_imports_back_unchanged(any_api, any_owner):
    tricky = [
        topic("How do I sum?", "=SUM(A1:A3) in a cell", ["+ plus?", "What about 'quotes'?"]),
        topic("Two lines?", "Line one,\n\"line\" two 🎉"),
        topic("Apostrophe?", "'=not a formula either"),
        topic("-dash question?", "@someone knows"),
    ]
    create(any_api, any_owner, *tricky)

    response = any_api.get(f"{any_owner}/topics/export?format=csv")

    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="topics-T1-UALICE.csv"' in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["question", "answer", "state", "alternative_1", "alternative_2"]
    # Cells a spreadsheet would run as formulas start with an apostrophe.
    assert rows[1][1] == "'=SUM(A1:A3) in a cell" and rows[1][3] == "'+ plus?"
    assert rows[3][1] == "''=not a formula either" and rows[4][:2] == ["'-dash question?",
                                                                      "'@someone knows"]
    again = import_file(any_api, any_owner, response.data, "text/csv", dry_run="true").get_json()
    assert len(again["unchanged"]) == 4 and again["added"] == again["changed"] == []

    assert any_api.put(BOB, {"display_name": "Bob"}).status_code == 201
    copied = import_file(any_api, BOB, response.data, "text/csv").get_json()
    assert questions(copied, "added") == [t["question"] for t in tricky]
    assert current(any_api, BOB) == current(any_api, any_owner)


def test_a_json_export_imports_back_unchanged(any_api, any_owner, published_tasks):
    create(any_api, any_owner, topic("Live?"), topic("Gone?"))
    go_live(any_api, any_owner)
    gone = any_api.get(f"{any_owner}/topics").get_json()["topics"][1]["id"]
    any_api.delete(f"{any_owner}/topics/{gone}")
    exported = any_api.get(f"{any_owner}/topics/export").get_json()

    report = any_api.post(f"{any_owner}/topics/import", exported).get_json()

    assert questions(report, "unchanged") == ["Live?"]
    # A deleted row describes the live bot until the next publish: it is not brought back.
    assert questions(report, "skipped") == ["Gone?"]
    assert report["added"] == report["changed"] == report["deleted"] == report["errors"] == []
    assert current(any_api, any_owner) == [("Live?", "An answer.", [])]


def test_dry_run_reports_what_would_change_and_changes_nothing(any_api, any_owner):
    create(any_api, any_owner, topic("Same?"), topic("Edited?"), topic("Absent?"))
    before = current(any_api, any_owner)
    rows = [topic("Same?"), topic("edited?", "New answer."), topic("New?", alternatives=["Fresh?"])]

    dry = import_json(any_api, any_owner, rows, dry_run="true")

    assert dry.status_code == 200
    report = dry.get_json()
    assert report["dry_run"] is True and report["mode"] == "merge"
    assert questions(report, "added") == ["New?"] and report["added"][0]["id"] is None
    assert questions(report, "changed") == ["edited?"] and report["changed"][0]["row"] == 2
    assert questions(report, "unchanged") == ["Same?"]
    assert report["deleted"] == [] and report["errors"] == []
    assert current(any_api, any_owner) == before

    done = import_json(any_api, any_owner, rows).get_json()
    assert done["dry_run"] is False and isinstance(done["added"][0]["id"], int)
    assert current(any_api, any_owner) == [
        ("Same?", "An answer.", []), ("edited?", "New answer.", []),
        ("Absent?", "An answer.", []), ("New?", "An answer.", ["Fresh?"])]


def test_replace_deletes_the_topics_absent_from_the_file(any_api, any_owner):
    create(any_api, any_owner, topic("Stays?"), topic("Absent?"))

    dry = import_json(any_api, any_owner, [topic("Stays?")], mode="replace", dry_run="true")
    assert questions(dry.get_json(), "deleted") == ["Absent?"]
    assert len(current(any_api, any_owner)) == 2

    report = import_json(any_api, any_owner, [topic("Stays?")], mode="replace").get_json()
    assert questions(report, "deleted") == ["Absent?"]
    assert current(any_api, any_owner) == [("Stays?", "An answer.", [])]
    assert any_api.get(f"{any_owner}/topics").get_json()["pending_deletions"] == 0


def test_a_file_with_any_bad_row_changes_nothing_and_names_each_problem(any_api, any_owner):
    create(any_api, any_owner, topic("Existing?"))
    before = current(any_api, any_owner)
    rows = [
        topic("Existing?", "Would be changed."),
        topic("Fine?"),
        {"question": "No answer?"},
        topic("Bad alternative?", alternatives=["ok", "x" * 301]),
        topic("Control\x00character?"),
        topic("fine?"),
        {"question": "Extra?", "answer": "A.", "owner": "UBOB"},
        "not an object",
    ]

    response = import_json(any_api, any_owner, rows)

    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "import_invalid" and error["message"].startswith(
        "nothing was imported: row 3: ")
    assert [(d["row"], d["field"]) for d in error["details"]] == [
        (3, "answer"), (4, "alternatives.1"), (5, "question"), (6, "question"), (7, "owner"),
        (8, None)]
    assert "the same question as row 2" in error["details"][3]["message"]
    assert current(any_api, any_owner) == before
    dry = import_json(any_api, any_owner, rows, dry_run="true").get_json()
    assert dry["errors"] == error["details"] and questions(dry, "changed") == ["Existing?"]


def test_bad_csv_files_are_refused_with_what_is_wrong(any_api, any_owner):
    def post(data):
        return import_file(any_api, any_owner, data, "text/csv")

    for data, words in ((b"question,answer\n\xff\xfe,x\n", "not UTF-8"),
                        (b'question,answer\n"unclosed,x\n', "cannot be read"),
                        (b"", "empty")):
        response = post(data)
        assert response.status_code == 400, data
        error = response.get_json()["error"]
        assert error["code"] == "malformed_request" and words in error["message"]

    header = post(b"question,reply\nWhy?,Because.\n").get_json()["error"]
    assert [(d["row"], d["field"]) for d in header["details"]] == [(1, "answer"), (1, "reply")]

    rows = post("question,answer,alternative_1,alternative_2\r\n"
                "Ok?,Yes.,,\r\n"
                ",Missing question.\r\n"
                "\r\n"
                "Too many?,Cells.,a,b,c\r\n"
                f"Long alternative?,A.,,{'y' * 301}\r\n".encode()).get_json()["error"]
    assert [(d["row"], d["field"]) for d in rows["details"]] == [
        (3, "question"), (5, None), (6, "alternative_2")]
    assert current(any_api, any_owner) == []


def test_oversize_files_are_413_and_large_ones_within_the_limit_pass(any_config):
    app = create_app({**any_config, "MAX_IMPORT_BYTES": 64 * 1024})
    try:
        api = ApiClient(app.test_client())
        api.put(OWNER, {"display_name": "Alice"})
        big = [topic(f"Question {i}?", "x" * 1000) for i in range(100)]  # ~100 KB

        response = import_json(api, OWNER, big)

        assert response.status_code == 413
        assert response.get_json()["error"]["code"] == "too_large"
        assert current(api, OWNER) == []
        # Past the 256 KiB of the other routes, within the import's own limit.
        default = create_app(any_config)
        huge = [topic(f"Question {i}?", "x" * 2900) for i in range(120)]
        report = import_json(ApiClient(default.test_client()), OWNER, huge).get_json()
        assert len(report["added"]) == 120
        default.extensions["db_engine"].dispose()
    finally:
        app.extensions["db_engine"].dispose()


def test_the_topic_cap_holds_for_imports(any_config):
    app = create_app({**any_config, "MAX_TOPICS_PER_OWNER": 3})
    try:
        api = ApiClient(app.test_client())
        api.put(OWNER, {"display_name": "Alice"})
        create(api, OWNER, topic("One?"), topic("Two?"))
        rows = [topic("Three?"), topic("Four?")]

        response = import_json(api, OWNER, rows)

        assert response.status_code == 422
        problem = response.get_json()["error"]["details"][0]
        assert problem["field"] == "topics" and "at most 3 topics" in problem["message"]
        assert [q for q, _a, _alt in current(api, OWNER)] == ["One?", "Two?"]
        # Replacing makes room: the absent topics leave.
        replaced = import_json(api, OWNER, rows, mode="replace")
        assert replaced.status_code == 200, replaced.get_json()
        assert [q for q, _a, _alt in current(api, OWNER)] == ["Three?", "Four?"]
    finally:
        app.extensions["db_engine"].dispose()


def test_other_media_types_and_bad_options_are_refused(any_api, any_owner):
    response = import_file(any_api, any_owner, b"question: x", "text/plain")
    assert response.status_code == 415
    assert response.get_json()["error"]["field"] == "Content-Type"
    bad_mode = import_json(any_api, any_owner, [], mode="overwrite")
    assert bad_mode.status_code == 422 and bad_mode.get_json()["error"]["field"] == "mode"
    bad_format = any_api.get(f"{any_owner}/topics/export?format=xlsx")
    assert bad_format.status_code == 422
    assert import_json(any_api, "/v1/users/T1/UNOBODY", []).status_code == 404
    for body in (b"[1, 2]", b'{"topics": [], "more": 1}', b"{nope"):
        assert import_file(any_api, any_owner, body).status_code == 400, body


@pytest.fixture
def failing_insert(any_config):
    """A database trigger that fails the insert of the topic 'Boom?': a failure in mid-write."""
    engine = create_engine(any_config["DATABASE_URL"])
    sqlite = engine.dialect.name == "sqlite"
    with engine.begin() as connection:
        if sqlite:
            connection.execute(text(
                "CREATE TRIGGER boom BEFORE INSERT ON topics WHEN NEW.question = 'Boom?' "
                "BEGIN SELECT RAISE(ABORT, 'boom'); END"))
        else:
            connection.execute(text(
                "CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN IF NEW.question = 'Boom?' "
                "THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"))
            connection.execute(text(
                "CREATE TRIGGER boom BEFORE INSERT ON topics FOR EACH ROW EXECUTE FUNCTION boom()"))
    yield
    with engine.begin() as connection:
        connection.execute(text("DROP TRIGGER boom" + ("" if sqlite else " ON topics")))
        if not sqlite:
            connection.execute(text("DROP FUNCTION boom()"))
    engine.dispose()


def test_an_import_failing_in_the_database_changes_nothing(any_api, any_owner, failing_insert):
    create(any_api, any_owner, topic("Edited?"), topic("Absent?"))
    before = current(any_api, any_owner)
    rows = [topic("Edited?", "Changed."), topic("Fine?"), topic("Boom?")]

    response = import_json(any_api, any_owner, rows, mode="replace")

    assert response.status_code == 500
    assert current(any_api, any_owner) == before


def test_imports_need_the_owner_to_exist_and_leave_others_alone(any_api, any_owner):
    assert any_api.put(BOB, {"display_name": "Bob"}).status_code == 201
    create(any_api, BOB, topic("Bob's?"))
    import_json(any_api, any_owner, [topic("Alice's?")], mode="replace")
    assert current(any_api, BOB) == [("Bob's?", "An answer.", [])]
    assert current(any_api, any_owner) == [("Alice's?", "An answer.", [])]


def test_problems_are_written_for_people(any_api, any_owner):
    rows = [{"question": "No answer?"}, topic("Empty answer?", "   "),
            topic("Long alternative?", alternatives=["ok", "x" * 301]),
            {"question": "State?", "answer": "A.", "state": "live"}, topic("Fine?")]

    report = import_json(any_api, any_owner, rows, dry_run="true").get_json()

    assert [(e["row"], e["field"], e["message"]) for e in report["errors"]] == [
        (1, "answer", "the answer is missing"),
        (2, "answer", "the answer is empty"),
        (3, "alternatives.1", "alternative 2 is too long: at most 300 characters"),
        (4, "state", "the state must be one of 'published', 'changed', 'unpublished' or "
                     "'deleted'")]
    assert report["error_count"] == 4
    assert not any("String should" in e["message"] for e in report["errors"])


def test_a_file_with_more_rows_than_the_cap_is_refused_before_any_row_is_checked(any_config):
    # 30,000 empty rows answered 3.5 MB of problems, one per row and field, before the cap.
    app = create_app({**any_config, "MAX_TOPICS_PER_OWNER": 500})
    try:
        api = ApiClient(app.test_client())
        api.put(OWNER, {"display_name": "Alice"})
        for media, data in (("application/json", b'{"topics": [' + b",".join([b"{}"] * 30_000)
                             + b"]}"),
                            ("text/csv", b"question,answer\r\n" + b"q,\r\n" * 30_000)):
            response = import_file(api, OWNER, data, media, dry_run="true")

            assert response.status_code == 200
            assert len(response.data) < 2_000, media
            report = response.get_json()
            assert report["error_count"] == 1 and report["errors"] == [{
                "row": None, "field": "topics", "message": "the file has 30000 topics, and an "
                "owner can have at most 500: nothing in it was checked"}]
            assert import_file(api, OWNER, data, media).status_code == 422
        assert current(api, OWNER) == []
    finally:
        app.extensions["db_engine"].dispose()


def test_a_report_names_the_first_100_problems_and_counts_them_all(any_api, any_owner):
    rows = [{"question": f"Question {n}?"} for n in range(300)]  # each misses its answer

    report = import_json(any_api, any_owner, rows, dry_run="true").get_json()
    refused = import_json(any_api, any_owner, rows).get_json()["error"]

    assert report["error_count"] == 300
    assert [e["row"] for e in report["errors"]] == list(range(1, 101))
    assert refused["details"] == report["errors"]
    assert refused["message"] == ("nothing was imported: row 1: the answer is missing "
                                  "(and 299 more problems)")
