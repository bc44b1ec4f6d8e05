import pytest

from publish_api import create_app
from publish_api.openapi import OPERATIONS
from publish_api.settings import SettingsError

from .conftest import TOKEN, ApiClient


def _concrete(path: str) -> str:
    return (
        path.replace("{team_id}", "T1")
        .replace("{user_id}", "UALICE")
        .replace("{topic_id}", "1")
        .replace("{job_id}", "1")
        .replace("{version_id}", "1")
        .replace("{question_id}", "1")
    )


@pytest.mark.parametrize("method,path", [(op[0], op[1]) for op in OPERATIONS])
def test_every_route_needs_the_token(app, method, path):
    for token in (None, "wrong-token", TOKEN + "x"):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = getattr(app.test_client(), method)(_concrete(path), json={}, headers=headers)
        assert response.status_code == 401, (method, path, token)
        assert response.get_json()["error"]["code"] == "unauthorized"


def test_health_and_openapi_are_public(app):
    client = app.test_client()
    health = client.get("/health")
    assert health.status_code == 200
    assert health.get_json() == {"status": "ok", "database": "ok", "queue": "ok"}
    document = client.get("/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    assert "/v1/users/{team_id}/{user_id}/publish" in document["paths"]


def test_broker_url_is_the_deprecated_name_of_queue_url(config, caplog):
    unreachable = "amqp://guest:guest@127.0.0.1:1//"
    old = {k: v for k, v in config.items() if not k.startswith("QUEUE_")}
    app = create_app({**old, "BROKER_URL": unreachable, "BROKER_TIMEOUT_S": 0.5})
    settings = app.config["SETTINGS"]
    assert (settings.QUEUE_URL, settings.QUEUE_TIMEOUT_S) == (unreachable, 0.5)
    assert app.test_client().get("/health").get_json()["queue"] == "unreachable"
    notices = [r.getMessage() for r in caplog.records if "deprecated" in r.getMessage()]
    assert len(notices) == 2 and "name it QUEUE_URL" in notices[0], notices
    both = create_app({**config, "BROKER_URL": unreachable}).config["SETTINGS"]
    assert both.QUEUE_URL == config["QUEUE_URL"]  # the new name wins


def test_health_reports_an_unreachable_queue(config):
    app = create_app(
        {**config, "QUEUE_URL": "amqp://guest:guest@127.0.0.1:1//", "QUEUE_TIMEOUT_S": 0.5}
    )
    response = app.test_client().get("/health")
    assert response.status_code == 503
    assert response.get_json()["queue"] == "unreachable"


def test_token_is_not_logged(app, caplog):
    caplog.set_level("DEBUG")
    ApiClient(app.test_client(), token="wrong-secret-value").get("/v1/jobs/1")
    ApiClient(app.test_client()).get("/v1/jobs/999")
    assert TOKEN not in caplog.text and "wrong-secret-value" not in caplog.text


def test_missing_token_setting_names_the_variable(config, monkeypatch):
    monkeypatch.delenv("API_TOKEN", raising=False)
    config = {k: v for k, v in config.items() if k != "API_TOKEN"}
    with pytest.raises(SettingsError, match="API_TOKEN") as raised:
        create_app(config)
    assert "DATABASE_URL" not in str(raised.value)


def test_bad_port_setting_names_the_variable(config):
    with pytest.raises(SettingsError, match="PUBLISH_API_PORT"):
        create_app({**config, "PUBLISH_API_PORT": 70000})


def test_upsert_user_creates_then_updates(api):
    created = api.put("/v1/users/T1/UALICE", {"display_name": "Alice"})
    assert created.status_code == 201
    assert created.get_json()["display_name"] == "Alice"
    updated = api.put("/v1/users/T1/UALICE", {"display_name": "Alice B"})
    assert updated.status_code == 200
    assert updated.get_json() | {"created_at": None} == {
        "team_id": "T1",
        "user_id": "UALICE",
        "display_name": "Alice B",
        "created_at": None,
    }


def test_same_user_id_in_two_workspaces_is_two_users(api):
    assert api.put("/v1/users/T1/U1", {"display_name": "One"}).status_code == 201
    assert api.put("/v1/users/T2/U1", {"display_name": "Other"}).status_code == 201
    assert api.get("/v1/users/T1/U1/topics").status_code == 200


@pytest.mark.parametrize(
    "body,status,field",
    [
        ({}, 422, "display_name"),
        ({"display_name": ""}, 422, "display_name"),
        ({"display_name": 5}, 422, "display_name"),
        ({"display_name": "x" * 201}, 422, "display_name"),
        ({"display_name": "A", "extra": 1}, 422, "extra"),
    ],
)
def test_bad_user_bodies(api, body, status, field):
    response = api.put("/v1/users/T1/UALICE", body)
    assert response.status_code == status
    assert response.get_json()["error"]["field"] == field


def test_malformed_json_is_400(api):
    for raw in (b"{not json", b"[1, 2]", b"null", b""):
        response = api.put(
            "/v1/users/T1/UALICE", data=raw, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, raw
        assert response.get_json()["error"]["code"] == "malformed_request"


def test_ids_must_be_slack_ids(api):
    response = api.put("/v1/users/t-1/UALICE", {"display_name": "A"})
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "team_id"


def test_unknown_owner_is_404(api):
    response = api.get("/v1/users/T1/UNOBODY/topics")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "user_not_found"


def test_unknown_route_and_method_are_json(api):
    assert api.get("/v1/nowhere").get_json()["error"]["code"] == "not_found"
    response = api.delete("/v1/jobs/1")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"


def test_oversized_body_is_413(api):
    response = api.put("/v1/users/T1/UALICE", {"display_name": "x" * 300_000})
    assert response.status_code == 413
