"""The playground's doors, over HTTP: the Web API stand-in answers only the bot token and
speaks Slack's errors; the page refuses changes without its token or from a foreign Host; text
from people is escaped; a message the concierge cannot take says so in the channel."""

from __future__ import annotations

import http.client
import json
import re
from urllib.parse import urlsplit

import pytest
import requests

from tests.playground.servers import free_port, start_playground
from tests.support.services import wait_until

BOT_TOKEN = "xoxb-doors-test-token"


@pytest.fixture(scope="module")
def playground(tmp_path_factory):
    # The concierge and publish-api are a closed port: nothing listens there.
    nowhere = f"http://127.0.0.1:{free_port()}"
    server = start_playground(free_port(), tmp_path_factory.mktemp("logs"),
                              SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET="doors-secret",
                              CONCIERGE_URL=nowhere, PUBLISH_API_URL=nowhere,
                              PLAYGROUND_API_TOKEN="doors-api-token-0123456789",
                              PLAYGROUND_PEOPLE="Alice,Bob")
    yield server
    server.stop()


def _call(playground, method, token=BOT_TOKEN, **args):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(playground.api_url + method, data=args, headers=headers, timeout=5)


def _page_token(playground, session) -> str:
    page = session.get(playground.url + "/as/UALICE/DALICE", timeout=5).text
    return re.search(r'"X-Playground-Token": "([^"]+)"', page).group(1)


def test_the_web_api_needs_the_bot_token(playground):
    assert _call(playground, "auth.test", token=None).json() == {"ok": False,
                                                                  "error": "not_authed"}
    assert _call(playground, "auth.test", token="xoxb-other").json()["error"] == "invalid_auth"
    me = _call(playground, "auth.test").json()
    assert me["ok"] and me["user_id"] == "U0CONCIERGE"


def test_the_web_api_answers_the_products_methods_as_slack_does(playground):
    alice = _call(playground, "users.info", user="UALICE").json()
    assert alice["user"]["profile"]["display_name"] == "Alice"
    assert _call(playground, "users.info", user="UNOBODY").json()["error"] == "user_not_found"
    assert _call(playground, "conversations.open", users="UBOB").json()["channel"]["id"] == "DBOB"
    posted = _call(playground, "chat.postMessage", channel="UBOB", text="Your bot is live").json()
    assert posted["ok"] and posted["channel"] == "DBOB"  # a user id means the DM with the bot
    assert _call(playground, "chat.postMessage", channel="C0NOPE", text="x").json()[
        "error"] == "channel_not_found"
    assert _call(playground, "chat.postMessage", channel="UBOB").json()["error"] == "no_text"
    assert _call(playground, "nosuch.method").json()["error"] == "unknown_method"


def test_posted_text_is_escaped_on_the_page(playground):
    _call(playground, "chat.postMessage", channel="UALICE",
          text="<img src=x onerror=alert(1)> *bold* :white_check_mark:")
    page = requests.get(playground.url + "/as/UALICE/DALICE", timeout=5).text
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt; <b>bold</b> ✅" in page


def test_a_reply_in_a_thread_shows_in_the_channel_marked(playground):
    asked = _call(playground, "chat.postMessage", channel="C0GENERAL", text="a question").json()
    reply = _call(playground, "chat.postMessage", channel="C0GENERAL", text="the reply",
                  thread_ts=asked["ts"]).json()
    assert reply["ok"]
    page = requests.get(playground.url + "/as/UBOB/C0GENERAL", timeout=5).text
    assert page.count("↳ reply in thread") == 1
    assert page.index("a question") < page.index("↳ reply in thread") < page.index("the reply")


def test_a_change_without_the_page_token_is_refused(playground):
    session = requests.Session()
    url = playground.url + "/as/UALICE/C0GENERAL/messages"
    assert session.post(url, data={"text": "forged"}, timeout=5).status_code == 403
    token = _page_token(playground, session)
    answer = session.post(url, data={"text": "hello all"}, timeout=5,
                          headers={"X-Playground-Token": token})
    assert answer.status_code == 200 and "hello all" in answer.text
    assert "forged" not in answer.text


def test_a_foreign_host_is_refused(playground):
    answer = requests.get(playground.url + "/as/UALICE/DALICE", timeout=5,
                          headers={"Host": "attacker.example:80"})
    assert answer.status_code == 403


def test_a_message_the_concierge_cannot_take_says_so(playground):
    session = requests.Session()
    token = _page_token(playground, session)
    answer = session.post(playground.url + "/as/UBOB/DBOB/messages", data={"text": "hi"},
                          headers={"X-Playground-Token": token}, timeout=10)
    assert answer.status_code == 200
    assert "hi" in answer.text and "The concierge is not reachable" in answer.text


def test_people_are_added_by_name_and_bad_names_get_a_clear_error(playground):
    session = requests.Session()
    headers = {"X-Playground-Token": _page_token(playground, session)}
    added = session.post(playground.url + "/people", data={"name": "Dana Scully"},
                         headers=headers, timeout=5)
    assert added.headers["HX-Redirect"] == "/as/UDANASCULLY/DDANASCULLY"
    assert _call(playground, "users.info", user="UDANASCULLY").json()["user"]["name"] == (
        "danascully")
    taken = session.post(playground.url + "/people", data={"name": "alice"}, headers=headers,
                         timeout=5)
    assert taken.status_code == 422 and "@alice is already in the workspace" in taken.text
    bad = session.post(playground.url + "/people", data={"name": "<b>"}, headers=headers,
                       timeout=5)
    assert bad.status_code == 422 and "<b>" not in bad.text


def test_an_upload_is_shared_in_the_dm_and_only_its_reader_downloads_it(playground):
    from slack_sdk import WebClient

    client = WebClient(token=BOT_TOKEN, base_url=playground.api_url)
    answer = client.files_upload_v2(channel="UALICE", filename="topics.csv",
                                    content=b"question,answer\n<b>Q</b>,A\n", title="<Her> topics")
    file_id = answer["file"]["id"]
    page = requests.get(playground.url + "/as/UALICE/DALICE", timeout=5).text
    assert f'href="/as/UALICE/files/{file_id}"' in page
    assert "&lt;Her&gt; topics" in page and "<Her>" not in page
    download = requests.get(f"{playground.url}/as/UALICE/files/{file_id}", timeout=5)
    assert download.status_code == 200 and download.content == b"question,answer\n<b>Q</b>,A\n"
    assert "attachment" in download.headers["Content-Disposition"]
    assert requests.get(f"{playground.url}/as/UBOB/files/{file_id}", timeout=5).status_code == 404


def test_an_upload_url_takes_its_bytes_once_and_only_with_its_secret(playground):
    started = _call(playground, "files.getUploadURLExternal", filename="a.csv", length=3).json()
    url = started["upload_url"]
    path, _, secret = url.partition("?secret=")
    assert secret and path.endswith("/api/upload/" + started["file_id"])
    assert requests.post(path + "?secret=wrong", data=b"abc", timeout=5).status_code == 404
    assert requests.post(path, data=b"abc", timeout=5).status_code == 404
    assert requests.post(url, data=b"abcd", timeout=5).status_code == 413  # not the length
    chunked = requests.post(url, data=iter([b"ab", b"cd"]), timeout=5)  # no Content-Length
    assert chunked.status_code == 413
    assert requests.post(url, data=b"abc", timeout=5).status_code == 200
    assert requests.post(url, data=b"abc", timeout=5).status_code == 404  # used
    # Each request has its line in the log, named by its id; the upload's secret is in none.
    upload_line = re.compile(r"request [0-9a-f]{32}: POST /api/upload/\S+ 200 ")
    wait_until(lambda: upload_line.search(playground.log_path.read_text()), timeout=10,
               what="the upload's line in the playground's log")
    assert secret not in playground.log_path.read_text()
    files = f'[{{"id": "{started["file_id"]}"}}]'
    assert _call(playground, "files.completeUploadExternal", files=files,
                 channel_id="C0NOPE").json()["error"] == "channel_not_found"
    assert _call(playground, "files.completeUploadExternal", files='[{"id": "FNOPE"}]',
                 channel_id="UBOB").json()["error"] == "file_not_found"
    assert _call(playground, "files.completeUploadExternal", files="not json",
                 channel_id="UBOB").json()["error"] == "invalid_arguments"
    assert _call(playground, "files.getUploadURLExternal", filename="a.csv",
                 length=0).json()["error"] == "invalid_arguments"


def test_a_path_cannot_forge_a_log_line(playground):
    forged = "2026-12-08 01:00:00,000 ERROR playground: forged"
    response = requests.get(playground.url + "/as/UALICE/D%0a" + forged.replace(" ", "%20")
                            + "%00", timeout=5)
    assert response.status_code == 404
    escaped = r"/as/UALICE/D\x0a" + forged + r"\x00 404"
    wait_until(lambda: escaped in playground.log(), timeout=10, what="the escaped log line")
    log = playground.log()
    assert "\x00" not in log
    assert not any(line.startswith(forged) for line in log.splitlines())


def test_a_click_names_its_button_by_block_and_action_as_slack_does(playground):
    rows = [{"type": "actions", "elements": [{"type": "button", "action_id": "choice_0",
                                              "text": {"type": "plain_text", "text": "Dismiss"},
                                              "value": f"/dismiss_{n}"}]} for n in (1, 2)]
    posted = _call(playground, "chat.postMessage", channel="UALICE", text="Unanswered",
                   blocks=json.dumps(rows)).json()
    blocks = posted["message"]["blocks"]
    assert len({block["block_id"] for block in blocks}) == 2  # Slack gives each block an id
    session = requests.Session()
    headers = {"X-Playground-Token": _page_token(playground, session)}

    def click(block_id):
        return session.post(playground.url + "/as/UALICE/DALICE/click", headers=headers,
                            data={"ts": posted["ts"], "block_id": block_id,
                                  "action_id": "choice_0"}, timeout=10)

    assert click(blocks[1]["block_id"]).status_code == 200  # sent (the concierge is away)
    for wrong in ("", "no-such-block"):
        refused = click(wrong)
        assert refused.status_code == 422 and "not on this message" in refused.text


def test_a_body_over_the_limit_is_refused_unread_and_pages_stay_out_of_frames(playground):
    session = requests.Session()
    token = _page_token(playground, session)
    host = urlsplit(playground.url)
    # Only the headers: the answer comes before any of the announced 6 MB is sent.
    connection = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
    connection.putrequest("POST", "/as/UALICE/DALICE/messages")
    for name, value in (("Content-Type", "application/x-www-form-urlencoded"),
                        ("Content-Length", "6000000"), ("X-Playground-Token", token)):
        connection.putheader(name, value)
    connection.endheaders()
    assert connection.getresponse().status == 413
    connection.close()
    page = session.get(playground.url + "/as/UALICE/DALICE", timeout=5)
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
