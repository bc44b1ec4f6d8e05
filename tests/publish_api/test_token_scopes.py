"""One token per client: the broker's, the action server's and the playground's reach only the
routes each calls; API_TOKEN still reaches every route."""

import pytest

from publish_api import create_app
from publish_api.api.auth import ACTIONS_ENDPOINTS, BROKER_ENDPOINTS, PLAYGROUND_ENDPOINTS
from publish_api.openapi import OPERATIONS
from publish_api.settings import SettingsError

from .conftest import TOKEN, ApiClient
from .test_users_and_auth import _concrete

BROKER_TOKEN = "broker-token-0123456789abcdef"
ACTIONS_TOKEN = "actions-token-0123456789abcdef"
PLAYGROUND_TOKEN = "playground-token-0123456789abcdef"
TOKENS = {"broker": BROKER_TOKEN, "action server": ACTIONS_TOKEN, "playground": PLAYGROUND_TOKEN}
SCOPES = {"broker": BROKER_ENDPOINTS, "action server": ACTIONS_ENDPOINTS,
          "playground": PLAYGROUND_ENDPOINTS}


@pytest.fixture
def scoped_config(config):
    return {**config, "BROKER_API_TOKEN": BROKER_TOKEN, "ACTIONS_API_TOKEN": ACTIONS_TOKEN,
            "PLAYGROUND_API_TOKEN": PLAYGROUND_TOKEN}


@pytest.fixture
def scoped_app(app, scoped_config):
    # `app` first: it empties the database.
    scoped = create_app(scoped_config)
    yield scoped
    scoped.extensions["db_engine"].dispose()


def endpoint_of(app, method, path):
    return app.url_map.bind("localhost").match(_concrete(path), method.upper())[0]


def test_every_scoped_endpoint_exists(scoped_app):
    endpoints = {rule.endpoint for rule in scoped_app.url_map.iter_rules()}
    assert BROKER_ENDPOINTS <= endpoints and ACTIONS_ENDPOINTS <= endpoints
    assert PLAYGROUND_ENDPOINTS <= endpoints


@pytest.mark.parametrize("client", sorted(TOKENS))
@pytest.mark.parametrize("method,path", [(op[0], op[1]) for op in OPERATIONS])
def test_a_client_token_reaches_its_routes_only(scoped_app, client, method, path):
    response = getattr(ApiClient(scoped_app.test_client(), TOKENS[client]), method)(
        _concrete(path), json={})
    if endpoint_of(scoped_app, method, path) in SCOPES[client]:
        assert response.status_code not in (401, 403), (response.status_code, response.json)
    else:
        assert response.status_code == 403
        error = response.get_json()["error"]
        assert error["code"] == "forbidden"
        assert f"the {client} token may not call {method.upper()} " in error["message"]


def test_the_action_server_cannot_set_an_endpoint_or_move_a_job(scoped_app):
    actions = ApiClient(scoped_app.test_client(), ACTIONS_TOKEN)
    assert actions.put("/v1/users/T1/UALICE", json={"display_name": "Alice"}).status_code == 201
    actions.post("/v1/users/T1/UALICE/topics", json={"question": "Q?", "answer": "A."})
    job = actions.post("/v1/users/T1/UALICE/publish").get_json()["job"]
    assert actions.get(f"/v1/jobs/{job['id']}").status_code == 403
    live = {"state": "live", "endpoint": "http://evil:5005", "model_digest": "x"}
    response = actions.post(f"/v1/jobs/{job['id']}/transitions", json=live)
    assert response.status_code == 403
    assert ApiClient(scoped_app.test_client()).get(f"/v1/jobs/{job['id']}").get_json()[
        "state"] == "queued"


@pytest.mark.parametrize("client", ["action server", "playground"])
def test_only_the_admin_replaces_an_owners_topics_on_import(scoped_app, client):
    admin = ApiClient(scoped_app.test_client())
    admin.put("/v1/users/T1/UALICE", json={"display_name": "Alice"})
    admin.post("/v1/users/T1/UALICE/topics", json={"question": "Kept?", "answer": "Yes."})
    scoped = ApiClient(scoped_app.test_client(), TOKENS[client])
    file = {"topics": [{"question": "New?", "answer": "Yes."}]}

    replaced = scoped.post("/v1/users/T1/UALICE/topics/import?mode=replace", json=file)

    assert replaced.status_code == 403
    error = replaced.get_json()["error"]
    assert (error["code"], error["field"]) == ("forbidden", "mode")
    assert f"the {client} token may not replace" in error["message"]
    merged = scoped.post("/v1/users/T1/UALICE/topics/import?mode=merge", json=file)
    assert merged.status_code == 200
    questions = [t["question"] for t in admin.get("/v1/users/T1/UALICE/topics").get_json()[
        "topics"]]
    assert questions == ["Kept?", "New?"]
    assert admin.post("/v1/users/T1/UALICE/topics/import?mode=replace&dry_run=true",
                      json=file).status_code == 200


def test_the_broker_moves_jobs_but_cannot_touch_topics(scoped_app):
    ApiClient(scoped_app.test_client()).put("/v1/users/T1/UALICE", json={"display_name": "A"})
    broker = ApiClient(scoped_app.test_client(), BROKER_TOKEN)
    assert broker.get("/v1/jobs/1").status_code == 404  # accepted; no such job
    assert broker.get("/v1/users/T1/UALICE/topics").status_code == 403
    assert broker.delete("/v1/users/T1/UALICE/topics").status_code == 403


@pytest.mark.parametrize("method,path", [(op[0], op[1]) for op in OPERATIONS])
def test_the_admin_token_still_reaches_every_route(scoped_app, method, path):
    response = getattr(ApiClient(scoped_app.test_client()), method)(_concrete(path), json={})
    assert response.status_code not in (401, 403)


def test_a_wrong_token_is_still_401(scoped_app):
    for token in (BROKER_TOKEN + "x", ACTIONS_TOKEN[:-1], ""):
        response = ApiClient(scoped_app.test_client(), token).get("/v1/jobs/1")
        assert response.status_code == 401


def test_client_tokens_are_not_logged(scoped_app, caplog):
    caplog.set_level("DEBUG")
    forbidden = ApiClient(scoped_app.test_client(), BROKER_TOKEN).get("/v1/users/T1/UA/bot")
    ApiClient(scoped_app.test_client(), ACTIONS_TOKEN).post("/v1/jobs/1/transitions", json={})
    text = caplog.text + forbidden.get_data(as_text=True)
    assert BROKER_TOKEN not in text and ACTIONS_TOKEN not in text and TOKEN not in text


def test_client_tokens_are_optional(config):
    settings = create_app({**config, "BROKER_API_TOKEN": ""}).config["SETTINGS"]
    assert settings.BROKER_API_TOKEN is None and settings.ACTIONS_API_TOKEN is None
    assert settings.PLAYGROUND_API_TOKEN is None


@pytest.mark.parametrize("name", ["BROKER_API_TOKEN", "ACTIONS_API_TOKEN",
                                  "PLAYGROUND_API_TOKEN"])
def test_a_short_client_token_is_named(config, name):
    with pytest.raises(SettingsError, match=name) as raised:
        create_app({**config, name: "short-secret"})
    assert "short-secret" not in str(raised.value)


def test_a_client_token_equal_to_another_is_refused(config):
    with pytest.raises(SettingsError, match="must differ") as raised:
        create_app({**config, "ACTIONS_API_TOKEN": TOKEN})
    assert TOKEN not in str(raised.value)


def test_the_playground_only_reads(scoped_app):
    ApiClient(scoped_app.test_client()).put("/v1/users/T1/UALICE", json={"display_name": "A"})
    playground = ApiClient(scoped_app.test_client(), PLAYGROUND_TOKEN)
    assert playground.get("/v1/users/T1/UALICE/topics").status_code == 200
    assert playground.get("/v1/users/T1/UALICE/asks/daily?days=7").status_code == 200
    assert playground.post("/v1/users/T1/UALICE/topics",
                           json={"question": "Q?", "answer": "A."}).status_code == 403
    assert playground.post("/v1/users/T1/UALICE/publish").status_code == 403
