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
