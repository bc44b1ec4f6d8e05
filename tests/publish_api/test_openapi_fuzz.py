"""Property test generated from /openapi.json: no 500s, every response matches the document."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .conftest import TOKEN

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def api_schema(app):
    client = app.test_client()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    # Give the fuzzer owners and topics to find, so it gets past 404s.
    for user in ("T1/UALICE", "T1/UBOB"):
        client.put(f"/v1/users/{user}", json={"display_name": "Fuzz"}, headers=auth)
        client.post(
            f"/v1/users/{user}/topics", json={"question": "q?", "answer": "a"}, headers=auth
        )
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_responses_match_the_schema(case):
    case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"}, checks=CHECKS)
