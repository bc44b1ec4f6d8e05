"""The action server as the concierge reaches it: a real `python -m actions.server` process on
a real publish-api, refusing every request without ACTIONS_TOKEN."""

from __future__ import annotations

import subprocess
import sys
import zlib

import pytest
import requests

from actions import messages
from tests.capture_actions.conftest import DOMAIN, new_team, tracker
from tests.capture_bot.servers import ACTIONS_DIR, ACTIONS_TOKEN, free_port, start_action_server
from tests.support import logs
from tests.support.services import wait_until

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def action_server(publish_api, tmp_path_factory):
    taken = set(range(5400, 5420))
    env = {"PUBLISH_API_URL": publish_api.url, "API_TOKEN": publish_api.token}
    server = start_action_server(free_port(taken), tmp_path_factory.mktemp("actions-logs"), env)
    yield server
    server.stop()


def show_topics(server, team, headers=None):
    state = tracker("show my topics", team=team)
    call = {"next_action": "action_show_topics", "sender_id": state["sender_id"],
            "tracker": state, "domain": DOMAIN, "version": "3.6.21"}
    return requests.post(server.url + "/webhook", json=call, headers=headers or {}, timeout=10)


def registered(publish_api, team) -> bool:
    return publish_api.call("GET", f"/v1/users/{team}/U0ALICE/topics").status_code == 200


@pytest.mark.parametrize("headers", [None, {"Authorization": "Bearer wrong-token-0123456789"},
                                     {"Authorization": ACTIONS_TOKEN},
                                     {"Authorization": f"Basic {ACTIONS_TOKEN}"}])
def test_a_request_without_the_token_is_refused_and_does_nothing(action_server, publish_api,
                                                                  headers):
    team = new_team()
    response = show_topics(action_server, team, headers)
    assert response.status_code == 401
    assert response.json() == {"error": "missing or wrong bearer token"}
    assert not registered(publish_api, team)
    assert ACTIONS_TOKEN not in action_server.log()


def test_the_action_list_needs_the_token_too(action_server):
    assert requests.get(action_server.url + "/actions", timeout=5).status_code == 401


def test_a_request_with_the_token_runs_the_action(action_server, publish_api):
    team = new_team()
    response = show_topics(action_server, team, {"Authorization": f"Bearer {ACTIONS_TOKEN}"})
    assert response.status_code == 200, response.text
    assert messages.LIST_EMPTY in str(response.json()["responses"])
    assert registered(publish_api, team)


def test_one_log_line_per_request_with_its_id_and_action(action_server):
    headers = {"Authorization": f"Bearer {ACTIONS_TOKEN}", "X-Request-ID": "concierge-7"}
    response = show_topics(action_server, new_team(), headers)
    assert response.status_code == 200 and response.headers["X-Request-ID"] == "concierge-7"
    line = "request concierge-7: POST /webhook action_show_topics 200 ("
    wait_until(lambda: line in action_server.log(), timeout=10, what="the request's log line")
    log = action_server.log()
    assert logs.foreign(log) == [], "lines in another format"
    # A refused request is logged without anything of its body, and is the only warning.
    refused = [m for m in logs.messages(log, logs.REQUEST_LINE) if m["status"] == "401"]
    assert refused and all(" POST /webhook 401 " in m[0] for m in refused if m["method"] == "POST")
    assert all("missing or wrong ACTIONS_TOKEN" in line for line in logs.problems(log))


AUTH = {"Authorization": f"Bearer {ACTIONS_TOKEN}"}


@pytest.mark.parametrize("body", [b'["an", "array", "<secret-ish>"]', b"42", b"not json {"])
def test_a_body_that_is_no_action_call_is_400_without_echo(action_server, body):
    response = requests.post(action_server.url + "/webhook", data=body, timeout=10,
                             headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"error": "the body must be a JSON object: an action call"}
    assert b"secret-ish" not in response.content


def test_a_body_over_the_cap_is_refused_compressed_or_not(action_server):
    big = b'{"next_action": "' + b"x" * 3_000_000 + b'"}'
    plain = requests.post(action_server.url + "/webhook", data=big, headers=AUTH, timeout=30)
    assert plain.status_code == 413
    bomb = requests.post(action_server.url + "/webhook", data=zlib.compress(big, 9),
                         headers={**AUTH, "Content-Encoding": "deflate"}, timeout=30)
    assert bomb.status_code == 413


def test_an_options_request_without_the_token_is_refused_as_a_warning(action_server):
    response = requests.options(action_server.url + "/webhook", timeout=10)
    assert response.status_code == 401
    wait_until(lambda: " OPTIONS /webhook 401 " in action_server.log(), timeout=10,
               what="the OPTIONS request's log line")
    assert not [line for line in logs.problems(action_server.log()) if " ERROR " in line]


def test_health_needs_no_token(action_server):
    response = requests.get(action_server.url + "/health", timeout=5)
    assert response.status_code == 200


@pytest.mark.parametrize("env, named", [
    ({"API_TOKEN": "x" * 20}, "ACTIONS_TOKEN: field required"),
    ({"API_TOKEN": "x" * 20, "ACTIONS_TOKEN": "short-token"}, "ACTIONS_TOKEN"),
    ({"ACTIONS_TOKEN": ACTIONS_TOKEN}, "API_TOKEN: field required"),
    ({"ACTIONS_TOKEN": ACTIONS_TOKEN, "API_TOKEN": "x" * 20, "BOT_TIMEOUT_S": "9"},
     "BOT_TIMEOUT_S"),
])
def test_the_server_refuses_to_start_naming_the_variable(env, named):
    """Before its health check can pass: not at the first message."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ACTIONS_DIR), **env}
    done = subprocess.run([sys.executable, "-m", "actions.server", "--actions", "actions",
                           "-p", str(free_port())], cwd=ACTIONS_DIR, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert named in done.stderr
    assert "x" * 20 not in done.stderr and ACTIONS_TOKEN not in done.stderr
