"""The Docker Compose stack end to end on a real engine: every image builds, `docker-compose up`
comes up healthy, a publish makes a bot container, and an `ask` sent to the concierge's published
webhook as a signed Slack event is answered through the Slack stand-in.

Runs with `make stack-test` (FAQBOT_STACK_TEST=1); `../shared/tools/docker-sandbox` prepares an
engine on machines without one. Registry images are replaced by local stand-ins built by
tests/stack/images/standins.sh (python:3.11-slim, postgres, rabbitmq).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests

from tests.stack.checkout import REPO, clean_checkout
from tests.support.isolation import START_ENV
from tests.support.services import wait_until
from tests.support.slack_api import message_event, send_event

pytestmark = [pytest.mark.docker, pytest.mark.slow]

CONCIERGE_PORT, SLACK_PORT = 5720, 5721
SLACK_TOKEN, SIGNING_SECRET = "xoxb-stack-test", "stack-test-signing-secret"
TEAM, ALICE, BOB = "T5STACK", "U5STALICE", "U5STBOB"
TOPICS = [
    ("How do I reset my VPN password?", "Use the self-service portal at vpn.example.com."),
    ("Where can I find the holiday calendar?", "It is on the HR wiki under Calendars."),
]
SERVICES = ["postgres", "rabbitmq", "publish-api", "publish-broker", "capture-actions",
            "capture-bot", "slack"]


def _engine_problem() -> str | None:
    if not os.environ.get("FAQBOT_STACK_TEST"):
        return "the compose stack test runs with `make stack-test` (FAQBOT_STACK_TEST=1)"
    if not shutil.which("docker") or not shutil.which("docker-compose"):
        return "docker and docker-compose are not installed (../shared/tools/docker-sandbox)"
    if subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        return "no Docker engine is running (../shared/tools/docker-sandbox starts one)"
    return None


if _engine_problem():
    pytest.skip(_engine_problem(), allow_module_level=True)


class Stack:
    """One compose project in a clean checkout, named and labelled for this test run."""

    def __init__(self, checkout: Path, log_dir: Path):
        self.dir = checkout
        self.name = f"faqbotstack{uuid.uuid4().hex[:8]}"
        self.network = f"{self.name}-net"
        self.bots_network = f"{self.name}-bots"
        self.pool_prefix = f"{self.name}-pool-"
        self.log_dir = log_dir
        standins = subprocess.run([str(REPO / "tests/stack/images/standins.sh")], check=True,
                                  capture_output=True, text=True).stdout.split()
        self.env = {**START_ENV, **dict(item.split("=", 1) for item in standins),
                    "COMPOSE_PROJECT_NAME": self.name, "FAQBOT_IMAGE_TAG": "stacktest",
                    "FAQBOT_NETWORK": self.network, "FAQBOT_BOTS_NETWORK": self.bots_network,
                    "FAQBOT_POOL_PREFIX": self.pool_prefix,
                    "FAQBOT_BOT_MODELS_VOLUME": f"{self.name}-bot-models",
                    "CONCIERGE_BIND": "127.0.0.1",
                    "STACK_TEST_SLACK_BOT_TOKEN": SLACK_TOKEN, "STACK_TEST_SLACK_TEAM": TEAM,
                    "STACK_TEST_SLACK_USERS": f"{ALICE}:alice,{BOB}:bob",
                    "STACK_TEST_SLACK_PORT": str(SLACK_PORT)}

    def compose(self, *args: str, timeout: float = 1800) -> str:
        """Runs docker-compose with the test override. Raises AssertionError with its output."""
        command = ["docker-compose", "-f", "docker-compose.yml",
                   "-f", "tests/stack/docker-compose.test.yml", *args]
        done = subprocess.run(command, cwd=self.dir, env=self.env, capture_output=True,
                              text=True, timeout=timeout)
        assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def health(self) -> dict[str, str]:
        """Each service's container health (or state, for those without a health check)."""
        ids = self.compose("ps", "-q").split()
        states = json.loads(_docker("inspect", *ids)) if ids else []
        return {c["Config"]["Labels"]["com.docker.compose.service"]:
                (c["State"].get("Health") or {}).get("Status", c["State"]["Status"])
                for c in states}

    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        """Calls publish-api from inside its container (it is not published on the host)."""
        script = ("import json, os, sys, urllib.request\n"
                  "method, path, body = sys.argv[1], sys.argv[2], sys.argv[3]\n"
                  "request = urllib.request.Request('http://127.0.0.1:5000' + path, method=method,"
                  " data=body.encode() or None, headers={'Content-Type': 'application/json',"
                  " 'Authorization': 'Bearer ' + os.environ['API_TOKEN']})\n"
                  "print(urllib.request.urlopen(request, timeout=10).read().decode())\n")
        out = self.compose("exec", "-T", "publish-api", "python", "-c", script, method, path,
                           json.dumps(body) if body is not None else "", timeout=60)
        return json.loads(out)

    def save_logs(self) -> None:
        logs = subprocess.run(["docker-compose", "-f", "docker-compose.yml", "-f",
                               "tests/stack/docker-compose.test.yml", "logs", "--no-color"],
                              cwd=self.dir, env=self.env, capture_output=True, text=True)
        (self.log_dir / "stack.log").write_text(logs.stdout + logs.stderr)

    def down(self) -> None:
        """Removes the pools the broker started on this stack's network, then the stack."""
        bots = _docker("ps", "-aq", "--filter", "label=faqbot.managed=true",
                       "--filter", f"network={self.bots_network}").split()
        if bots:
            _docker("rm", "-f", *bots)
        self.compose("down", "-v", "--remove-orphans", timeout=300)


def _docker(*args: str) -> str:
    return subprocess.run(["docker", *args], check=True, capture_output=True,
                          text=True).stdout


def _slack_posts(channel: str) -> list[dict]:
    try:
        calls = requests.get(f"http://127.0.0.1:{SLACK_PORT}/_test/calls", timeout=5).json()
    except (requests.RequestException, ValueError):
        return []
    return [c["args"] for c in calls["calls"] if c["method"] == "chat.postMessage" and c["ok"]
            and c["args"].get("channel") == channel]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    checkout = clean_checkout(tmp_path_factory.mktemp("stack-checkout"))
    env = {**START_ENV, "SLACK_BOT_TOKEN": SLACK_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
           "SLACK_API_URL": "http://slack:8080/api/", "CONCIERGE_PORT": str(CONCIERGE_PORT)}
    subprocess.run(["./init_config.sh"], cwd=checkout, env=env, check=True,
                   capture_output=True)
    stack = Stack(checkout, tmp_path_factory.mktemp("stack-logs"))
    started = time.monotonic()
    stack.compose("build")
    print(f"\nimages built in {time.monotonic() - started:.0f} s")
    try:
        started = time.monotonic()
        stack.compose("up", "-d")
        wait_until(lambda: _all_healthy(stack), timeout=600, interval=2,
                   what="every service of the stack to be healthy")
        print(f"stack healthy {time.monotonic() - started:.0f} s after `up -d`")
        yield stack
    finally:
        stack.save_logs()
        stack.down()


def _all_healthy(stack: Stack) -> bool:
    health = stack.health()
    assert all(health.get(name) != "unhealthy" for name in SERVICES), health
    return all(health.get(name) == "healthy" for name in SERVICES)


def test_every_service_is_healthy_and_only_the_webhook_is_published(stack):
    published = stack.compose("ps")
    assert f"127.0.0.1:{CONCIERGE_PORT}->5005/tcp" in published
    for port in ("5000", "5055", "5432", "5672"):
        assert f"->{port}/tcp" not in published, published


def test_a_publish_makes_a_pool_container_and_an_ask_through_slack_is_answered(stack):
    owner = f"/v1/users/{TEAM}/{ALICE}"
    stack.api("PUT", owner, {"display_name": "Alice"})
    for question, answer in TOPICS:
        stack.api("POST", f"{owner}/topics", {"question": question, "answer": answer})
    job = stack.api("POST", f"{owner}/publish")["job"]
    job = wait_until(lambda: _final(stack.api("GET", f"/v1/jobs/{job['id']}")), timeout=300,
                     interval=2, what="the publish job")
    assert job["state"] == "live", job
    assert "live" in wait_until(lambda: _slack_posts(ALICE), timeout=30)[-1]["text"]
    channel = "D5STBOB"
    event = message_event(TEAM, BOB, f"ask <@{ALICE}> how can I reset the password for vpn",
                          channel=channel)
    webhook = f"http://127.0.0.1:{CONCIERGE_PORT}/webhooks/slack/webhook"
    assert send_event(webhook, SIGNING_SECRET, event).status_code == 200
    reply = wait_until(lambda: _slack_posts(channel), timeout=30, what="the concierge's reply")
    assert reply[-1]["text"] == f"@Alice says: {TOPICS[0][1]}"
    bot = stack.api("GET", f"{owner}/bot")
    assert bot["endpoint"].startswith(f"http://{stack.pool_prefix}1:5005/bots/")


def test_pools_are_hardened_and_reach_neither_the_database_nor_the_queue(stack):
    pool = json.loads(_docker("inspect", f"{stack.pool_prefix}1"))[0]
    host = pool["HostConfig"]
    assert list(pool["NetworkSettings"]["Networks"]) == [stack.bots_network]
    assert json.loads(_docker("network", "inspect", stack.bots_network))[0]["Internal"] is True
    assert (host["ReadonlyRootfs"], host["CapDrop"], pool["Config"]["User"]) == (
        True, ["ALL"], "pool")
    assert "no-new-privileges" in host["SecurityOpt"] and host["PidsLimit"] > 0
    probe = ("import socket, sys\n"
             "for host, port in (('postgres', 5432), ('rabbitmq', 5672), ('publish-api', 5000)):\n"
             "    try:\n"
             "        socket.create_connection((host, port), timeout=3).close()\n"
             "        sys.exit(host + ' is reachable')\n"
             "    except OSError:\n"
             "        pass\n")
    _docker("exec", f"{stack.pool_prefix}1", "python", "-c", probe)


def test_a_request_with_a_bad_signature_gets_no_reply(stack):
    event = message_event(TEAM, BOB, "hi", channel="D5STBAD")
    webhook = f"http://127.0.0.1:{CONCIERGE_PORT}/webhooks/slack/webhook"
    assert send_event(webhook, "not-the-secret", event).status_code in (400, 401)
    assert _slack_posts("D5STBAD") == []


def _final(job: dict) -> dict | None:
    return job if job["state"] in ("live", "failed", "superseded") else None
