"""publish-api as gunicorn serves it: what the access log keeps, and slow clients."""

import socket
import time

import pytest
import requests

from tests.support.services import start_publish_api, wait_until

from .conftest import free_port

SECRET = "query-secret-0123456789"


@pytest.fixture(scope="module")
def server(tmp_path_factory, queue_name):
    api = start_publish_api(free_port(), tmp_path_factory.mktemp("serving"), queue=queue_name)
    yield api
    api.stop()


def test_the_access_log_has_paths_without_query_strings(server):
    auth = {"Authorization": f"Bearer {server.token}"}
    requests.get(f"{server.url}/health?token={SECRET}", timeout=10)
    requests.get(f"{server.url}/v1/jobs/1?token={SECRET}&x=1", headers=auth, timeout=10)
    line = '"GET /v1/jobs/1 HTTP/1.1" 404'
    wait_until(lambda: line in server.log(), timeout=10, what="the access log line")
    assert '"GET /health HTTP/1.1" 200' in server.log()
    assert SECRET not in server.log() and "token=" not in server.log()


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
