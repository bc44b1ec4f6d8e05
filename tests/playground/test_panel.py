"""The side panel on a real publish-api (PostgreSQL), read with the playground's own token:
each person's topics with ✅/🔴, their bot, and their asks per day as a chart whose bars are
scaled to the busiest day; text from publish-api is escaped."""

from __future__ import annotations

import re

import pytest
import requests

from tests.playground.servers import free_port, start_playground
from tests.support.services import start_publish_api

TEAM = "T0PANEL"
PLAYGROUND_TOKEN = "playground-panel-token-0123456789"


@pytest.fixture
def services(tmp_path_factory):
    # Each test its own publish-api and playground (~3 s): no test sees what another wrote.
    logs = tmp_path_factory.mktemp("logs")
    api = start_publish_api(free_port(), logs, PLAYGROUND_API_TOKEN=PLAYGROUND_TOKEN)
    try:
        playground = start_playground(
            free_port(), logs, SLACK_BOT_TOKEN="xoxb-panel-test",
            SLACK_SIGNING_SECRET="panel-secret",
            CONCIERGE_URL=f"http://127.0.0.1:{free_port()}", PUBLISH_API_URL=api.url,
            PLAYGROUND_API_TOKEN=PLAYGROUND_TOKEN, PLAYGROUND_TEAM_ID=TEAM,
            PLAYGROUND_PEOPLE="Alice,Bob")
        yield api, playground
        playground.stop()
    finally:
        api.stop()


def test_topics_bot_and_asks_per_day(services):
    api, playground = services
    alice = f"/v1/users/{TEAM}/UALICE"
    assert api.call("PUT", alice, json={"display_name": "Alice"}).ok
    topic = api.call("POST", alice + "/topics", json={
        "question": "Where is <b>the</b> wiki?", "answer": "On the intranet."}).json()
    asker = {"asker_team_id": TEAM, "asker_user_id": "UBOB"}
    for _ in range(2):
        assert api.call("POST", alice + "/asks", json={**asker, "topic_id": topic["id"]}).ok
    assert api.call("POST", alice + "/unanswered",
                    json={**asker, "question": "What is the airspeed of a swallow?"}).ok

    panel = requests.get(f"{playground.url}/as/UBOB/panel", timeout=10).text
    alice_part = panel[panel.index('id="owner-UALICE"'):panel.index('id="owner-UBOB"')]
    assert "🔴 Where is &lt;b&gt;the&lt;/b&gt; wiki?" in alice_part
    assert "no bot yet" in alice_part
    assert "Asks, 7 days: 2 answered, 1 unanswered" in alice_part
    heights = [float(h) for h in re.findall(r'class="answered"[^>]*height="([\d.]+)"', alice_part)]
    assert len(heights) == 7 and heights[-1] == pytest.approx(70 * 2 / 3) and sum(heights[:-1]) == 0
    bob_part = panel[panel.index('id="owner-UBOB"'):]
    assert "No topics yet." in bob_part and "Asks" not in bob_part


def test_the_playground_token_cannot_write(services):
    api, _ = services
    refused = requests.post(f"{api.url}/v1/users/{TEAM}/UALICE/topics", timeout=10,
                            headers={"Authorization": f"Bearer {PLAYGROUND_TOKEN}"},
                            json={"question": "Q?", "answer": "A."})
    assert refused.status_code == 403


def _page_token(playground) -> str:
    page = requests.get(playground.url + "/as/UBOB/DBOB", timeout=10).text
    assert 'id="transfer"' in page  # the import/export form, outside the refreshing panel
    return re.search(r'"X-Playground-Token": "([^"]+)"', page).group(1)


def _words(html: str) -> str:
    return " ".join(html.split())


def _import(playground, name: str, data: bytes, action: str) -> requests.Response:
    return requests.post(f"{playground.url}/as/UBOB/topics/import", timeout=10,
                         headers={"X-Playground-Token": _page_token(playground)},
                         files={"file": (name, data)}, data={"action": action})


def test_a_topic_file_is_previewed_imported_and_exported_from_the_page(services):
    api, playground = services
    bob = f"/v1/users/{TEAM}/UBOB"
    assert api.call("PUT", bob, json={"display_name": "Bob"}).ok
    csv = (b"question,answer,state\n"
           b"Where do I park?,In the garage <b>B</b>.,unpublished\n"
           b"Who orders lunch?,The office team.,unpublished\n")

    preview = _import(playground, "bob's topics.csv", csv, "preview")
    assert preview.status_code == 200
    assert "would add 2 topics, change 0 topics" in _words(preview.text)
    assert "bob&#39;s topics.csv" in preview.text  # the file's name, escaped
    assert api.call("GET", bob + "/topics").json()["topics"] == []  # a preview changes nothing

    imported = _import(playground, "topics.csv", csv, "import")
    assert imported.status_code == 200 and "2 topics added" in _words(imported.text)
    questions = [t["question"] for t in api.call("GET", bob + "/topics").json()["topics"]]
    assert sorted(questions) == ["Where do I park?", "Who orders lunch?"]

    exported = requests.get(f"{playground.url}/as/UBOB/topics.json", timeout=10)
    assert exported.status_code == 200
    assert 'filename="topics-bob.json"' in exported.headers["Content-Disposition"]
    assert {t["answer"] for t in exported.json()["topics"]} == {"In the garage <b>B</b>.",
                                                                "The office team."}


def test_a_bad_topic_file_names_its_problems_and_changes_nothing(services):
    api, playground = services
    bob = f"/v1/users/{TEAM}/UBOB"
    assert api.call("PUT", bob, json={"display_name": "Bob"}).ok
    before = api.call("GET", bob + "/topics").json()["topics"]
    bad = b"question,answer\nA question without an answer?,\n"
    report = _import(playground, "bad.csv", bad, "import")
    assert report.status_code == 200
    assert "cannot be imported; nothing was changed" in _words(report.text)
    assert "row 2" in report.text
    assert api.call("GET", bob + "/topics").json()["topics"] == before
    refused = requests.post(f"{playground.url}/as/UBOB/topics/import", timeout=10,
                            files={"file": ("topics.csv", b"question,answer\nQ?,A.\n")})
    assert refused.status_code == 403  # no page token: another site cannot import
