"""Ids are exactly Slack ids, and no text with control characters reaches either database."""

import pytest

TOPIC = {"question": "How do I reset my VPN password?", "answer": "Use the self-service portal."}


@pytest.mark.parametrize("path", ["/v1/users/T1/UOWNER%0A", "/v1/users/T1%0A/UOWNER",
                                  "/v1/users/T1/UOWNER%00", "/v1/users/T1/U%0D"])
def test_ids_with_a_trailing_newline_or_control_character_are_rejected(any_api, path):
    response = any_api.put(path, {"display_name": "Owner"})
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] in ("team_id", "user_id")
    assert any_api.get("/v1/users/T1/UOWNER/topics").status_code == 404  # no second owner


def _topic_path(api, owner):
    return f"{owner}/topics/{api.post(f'{owner}/topics', TOPIC).get_json()['id']}"


# (method, path under the owner or absolute, body, the field named in the error)
BAD_TEXTS = [
    ("put", "", {"display_name": "Al\x00ice"}, "display_name"),
    ("post", "/topics", {**TOPIC, "question": "VPN\x00?"}, "question"),
    ("post", "/topics", {**TOPIC, "answer": "Ask\x1b[31m IT"}, "answer"),
    ("post", "/topics", {**TOPIC, "alternatives": ["ok", "bad\x07"]}, "alternatives.1"),
    ("patch", "{topic}", {"answer": "a\x00"}, "answer"),
    ("post", "{topic}/alternatives", {"text": "x\x00y"}, "text"),
    ("post", "/unanswered",
     {"question": "Why\x00?", "asker_team_id": "T1", "asker_user_id": "UBOB"}, "question"),
    ("post", "/unanswered",
     {"question": "Why?", "asker_team_id": "T1", "asker_user_id": "UBOB\n"}, "asker_user_id"),
]


@pytest.mark.parametrize("method,where,body,field", BAD_TEXTS)
def test_control_characters_are_refused_naming_the_field(any_api, any_owner, method, where,
                                                         body, field):
    topic = _topic_path(any_api, any_owner)
    path = where.replace("{topic}", topic) if "{topic}" in where else any_owner + where
    response = getattr(any_api, method)(path, body)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert (error["code"], error["field"]) == ("validation_error", field)
    assert "control characters" in error["message"] or field.startswith("asker")


def test_control_characters_in_broker_texts_are_refused(any_api, any_owner):
    any_api.post(f"{any_owner}/topics", TOPIC)
    job = any_api.post(f"{any_owner}/publish").get_json()["job"]
    failed = {"state": "failed", "error": "boom\x00"}
    response = any_api.post(f"/v1/jobs/{job['id']}/transitions", failed)
    assert (response.status_code, response.get_json()["error"]["field"]) == (422, "error")
    health = {"health": "unhealthy", "error": "\x00"}
    response = any_api.put(f"{any_owner}/bot/health", health)
    assert (response.status_code, response.get_json()["error"]["field"]) == (422, "error")


def test_multiline_text_and_unicode_are_still_accepted(any_api, any_owner):
    body = {"question": "Où est le café ☕?", "answer": "Line one\n\tLine two\r\nLine three 🎉"}
    topic = any_api.post(f"{any_owner}/topics", body).get_json()
    assert (topic["question"], topic["answer"]) == (body["question"], body["answer"])


def test_invisible_and_direction_changing_characters_are_stripped(any_api, any_owner):
    # U+202E would show "Who runs payroll?" reversed after it; U+200B, a BOM and tag characters
    # show nothing. Zero-width joiners (emoji sequences) and a subdivision flag's tags stay.
    family, scotland = "👨\u200d👩\u200d👧", "\U0001f3f4" + "".join(
        chr(0xE0000 + ord(c)) for c in "gbsct") + "\U000e007f"
    body = {"question": "\ufeffWho runs \u202epayroll?\u200b",
            "answer": f"Ask\u2066 HR\u2069 {family} {scotland}\U000e0041",
            "alternatives": ["payroll\u200f owner"]}

    created = any_api.post(f"{any_owner}/topics", body).get_json()

    assert (created["question"], created["answer"], created["alternatives"]) == (
        "Who runs payroll?", f"Ask HR {family} {scotland}", ["payroll owner"])
    empty = any_api.post(f"{any_owner}/topics", {**TOPIC, "question": "\u200b\ufeff "})
    assert empty.status_code == 422 and empty.get_json()["error"]["field"] == "question"
    renamed = any_api.put(any_owner, {"display_name": "Al\u202eice"}).get_json()
    assert renamed["display_name"] == "Alice"
