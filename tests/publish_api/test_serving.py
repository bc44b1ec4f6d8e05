"""publish-api as gunicorn serves it: its log lines, and slow clients."""

import re
import socket
import time

import pytest
import requests

from tests.support import logs
from tests.support.services import start_publish_api, wait_until

from .conftest import free_port

SECRET = "query-secret-0123456789"


@pytest.fixture(scope="module")
def server(tmp_path_factory, queue_name):
    api = start_publish_api(free_port(), tmp_path_factory.mktemp("serving"), queue=queue_name)
    yield api
    api.stop()


def test_one_log_line_per_request_with_its_id_and_without_the_query(server):
    auth = {"Authorization": f"Bearer {server.token}"}
    requests.get(f"{server.url}/health?token={SECRET}", timeout=10)
    given = requests.get(f"{server.url}/v1/jobs/1?token={SECRET}&x=1", timeout=10,
                         headers={**auth, "X-Request-ID": "trace-42"})
    assert given.status_code == 404 and given.headers["X-Request-ID"] == "trace-42"
    # An id that is no plain token (a secret pasted there, say) is replaced, not logged.
    replaced = requests.get(f"{server.url}/health", headers={"X-Request-ID": SECRET * 4},
                            timeout=10)
    new_id = replaced.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", new_id)
    line = f"request {new_id}: GET /health 200 ("
    wait_until(lambda: line in server.log(), timeout=10, what="the request's log line")
    log = server.log()
    assert "request trace-42: GET /v1/jobs/1 404 (" in log
    assert SECRET not in log and "token=" not in log
    requests_logged = logs.messages(log, logs.REQUEST_LINE)
    assert len(requests_logged) >= 3 and all(match["ms"] for match in requests_logged)
    logs.check(log, "publish-api")  # gunicorn's lines and migrations' too


FORGED = "2026-12-08 01:00:00,000 ERROR publish_api: forged"


def test_a_path_cannot_forge_a_log_line_or_make_the_log_binary(server):
    auth = {"Authorization": f"Bearer {server.token}"}
    for path in ("/v1/users/T1/U1%0a" + FORGED.replace(" ", "%20") + "/topics",
                 "/v1/users/T1/U1%00%0d%1b/topics"):
        response = requests.get(server.url + path, headers={**auth, "X-Request-ID": "forge-1"},
                                timeout=10)
        assert response.status_code in (404, 422)
    line = r"request forge-1: GET /v1/users/T1/U1\x00\x0d\x1b/topics "
    wait_until(lambda: line in server.log(), timeout=10, what="the escaped request line")
    log = server.log()
    assert "\x00" not in log and "\x1b" not in log
    assert not any(each.startswith(FORGED) for each in log.splitlines())
    assert r"GET /v1/users/T1/U1\x0a" + FORGED + "/topics " in log
    logs.check(log, "publish-api")


def _chunks(data: bytes, size: int = 64 * 1024):
    """A body sent chunked (no Content-Length), as a streaming client sends it."""
    for start in range(0, len(data), size):
        yield data[start:start + size]


def test_a_chunked_body_over_the_limit_is_refused_not_cut(server):
    auth = {"Authorization": f"Bearer {server.token}", "Content-Type": "application/json"}
    owner = f"{server.url}/v1/users/T1/UCHUNK"
    assert requests.put(owner, json={"display_name": "Chunk"}, headers=auth,
                        timeout=10).status_code in (200, 201)
    small = b'{"question": "Chunked?", "answer": "Yes."}'
    created = requests.post(owner + "/topics", data=_chunks(small), headers=auth, timeout=10)
    assert created.status_code == 201, created.text
    # Past the 256 KiB of a JSON body: the first bytes used to be taken as the whole body.
    big = b'{"question": "Big?", "answer": "' + b"x" * 300_000 + b'"}'
    refused = requests.post(owner + "/topics", data=_chunks(big), headers=auth, timeout=10)
    assert refused.status_code == 413 and refused.json()["error"]["code"] == "too_large"
    row = b'{"question": "Q%d?", "answer": "' + b"y" * 2900 + b'"}'
    rows = b'{"topics": [' + b",".join(row % n for n in range(1800)) + b"]}"  # > 5 MiB
    imported = requests.post(owner + "/topics/import?dry_run=true", data=_chunks(rows),
                             headers=auth, timeout=30)
    assert imported.status_code == 413, imported.text[:300]
    topics = requests.get(owner + "/topics", headers=auth, timeout=10).json()["topics"]
    assert [t["question"] for t in topics] == ["Chunked?"]


def test_idle_connections_do_not_delay_a_health_check(server):
    # Two clients that connect and send nothing, one that stops half-way through its headers.
    idle = [socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1])))
            for _ in range(3)]
    idle[2].sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
    try:
        started = time.monotonic()
        response = requests.get(f"{server.url}/health", timeout=10)
        assert response.status_code == 200
        assert time.monotonic() - started < 2
    finally:
        for connection in idle:
            connection.close()
