"""`make run` from a clean checkout, with no DATABASE_URL/BROKER_URL: the whole product runs on
its embedded defaults, a publish makes a live bot that answers, an `ask` through Slack's protocol
gets the owner's answer, and Ctrl-C stops every process it started, bots included.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess

import psutil
import pytest
import requests

from actions.bot_client import ask
from tests.stack.checkout import clean_checkout
from tests.support.services import wait_until
from tests.support.slack_api import SlackApi, message_event, send_event

pytestmark = pytest.mark.slow

API_PORT, ACTIONS_PORT, CONCIERGE_PORT, SLACK_PORT, POOL_PORT = 5711, 5712, 5713, 5714, 5715
# make run's development defaults, which it prints at start.
DEV_API_TOKEN, DEV_BOT_TOKEN = "dev-api-token-change-me", "dev-bot-token-change-me"
SLACK_TOKEN, SIGNING_SECRET = "xoxb-make-run-test", "make-run-test-signing-secret"
TEAM, ALICE, BOB = "T5RUN", "U5ALICE", "U5BOB"
OWNER = f"/v1/users/{TEAM}/{ALICE}"
API = f"http://127.0.0.1:{API_PORT}"
TOPICS = [
    ("How do I reset my VPN password?", "Use the self-service portal at vpn.example.com."),
    ("Where can I find the holiday calendar?", "It is on the HR wiki under Calendars."),
]


class MakeRun:
    """`make run` in its own session, as a terminal would run it; Ctrl-C is SIGINT to the group."""

    def __init__(self, checkout, slack_url, log_path):
        env = {k: v for k, v in os.environ.items()
               if k not in ("DATABASE_URL", "BROKER_URL") and not k.endswith("TOKEN")}
        env.update(PUBLISH_API_PORT=str(API_PORT), ACTIONS_PORT=str(ACTIONS_PORT),
                   CONCIERGE_PORT=str(CONCIERGE_PORT), POOL_PORT=str(POOL_PORT),
                   SLACK_API_URL=slack_url, SLACK_BOT_TOKEN=SLACK_TOKEN,
                   SLACK_SIGNING_SECRET=SIGNING_SECRET)
        self.log_path = log_path
        self.process = subprocess.Popen(["make", "run"], cwd=checkout, env=env,
                                        stdout=log_path.open("wb"), stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def processes(self) -> list[psutil.Process]:
        """make and every process below it (the bot pool included)."""
        root = psutil.Process(self.process.pid)
        return [root, *root.children(recursive=True)]

    def interrupt(self, timeout: float = 90) -> int:
        os.killpg(self.process.pid, signal.SIGINT)
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        """Ctrl-C if still running (a test failed early), then kill whatever is left."""
        if self.process.poll() is not None:
            return
        processes = self.processes()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.interrupt()
        for process in processes:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()


def _healthy(run: MakeRun, url: str) -> bool:
    if run.process.poll() is not None:
        raise AssertionError(f"make run exited early:\n{run.log()[-4000:]}")
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture(scope="module")
def slack():
    with SlackApi(bot_token=SLACK_TOKEN, team_id=TEAM, port=SLACK_PORT) as server:
        server.add_user(ALICE, "alice", "Alice")
        server.add_user(BOB, "bob", "Bob")
        yield server


@pytest.fixture(scope="module")
def make_run(tmp_path_factory, slack):
    checkout = clean_checkout(tmp_path_factory.mktemp("checkout"))
    run = MakeRun(checkout, slack.url, tmp_path_factory.mktemp("logs") / "make-run.log")
    try:
        wait_until(lambda: _healthy(run, f"{API}/health"), timeout=300, interval=0.5,
                   what="publish-api of make run")
        wait_until(lambda: _healthy(run, f"http://127.0.0.1:{CONCIERGE_PORT}/webhooks/slack/"),
                   timeout=300, interval=0.5, what="the concierge of make run")
        yield run
    finally:
        run.stop()


@pytest.fixture(scope="module")
def api():
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {DEV_API_TOKEN}"
    return session


def test_it_starts_on_embedded_defaults_and_prints_the_dev_tokens(make_run):
    log = make_run.log()
    assert "database sqlite, Celery transport sqla+sqlite" in log
    assert f"API_TOKEN={DEV_API_TOKEN} (development default)" in log
    for name in ("BROKER_API_TOKEN", "ACTIONS_API_TOKEN", "ACTIONS_TOKEN"):
        assert f"\nrun-local: {name}=dev-" in log, name
    assert SLACK_TOKEN not in log and SIGNING_SECRET not in log


def test_a_publish_makes_a_live_bot_that_answers(make_run, api):
    assert api.put(API + OWNER, json={"display_name": "Alice"}, timeout=10).ok
    for question, answer in TOPICS:
        response = api.post(f"{API}{OWNER}/topics", json={"question": question, "answer": answer},
                            timeout=10)
        assert response.status_code == 201, response.text
    response = api.post(f"{API}{OWNER}/publish", timeout=10)
    assert response.status_code == 202, response.text
    job_url = f"{API}/v1/jobs/{response.json()['job']['id']}"
    job = wait_until(lambda: _final(api.get(job_url, timeout=10).json()), timeout=240,
                     interval=0.5, what="the publish job")
    assert job["state"] == "live", (job, make_run.log()[-4000:])
    bot = api.get(f"{API}{OWNER}/bot", timeout=10).json()
    answer = ask(bot["endpoint"], DEV_BOT_TOKEN, "how can I reset the password for vpn")
    assert answer.text == TOPICS[0][1]
    assert bot["endpoint"].startswith(f"http://127.0.0.1:{POOL_PORT}/bots/")  # the local pool


def test_an_ask_through_slack_gets_the_owners_answer(make_run, slack):
    channel = "D5BOBDM"
    event = message_event(TEAM, BOB, f"ask <@{ALICE}> where is the holiday calendar",
                          channel=channel)
    webhook = f"http://127.0.0.1:{CONCIERGE_PORT}/webhooks/slack/webhook"
    assert send_event(webhook, SIGNING_SECRET, event).status_code == 200
    posts = slack.wait_for_posts(1, channel=channel, timeout=30)
    assert posts[-1].args["text"] == f"@Alice says: {TOPICS[1][1]}"


def test_ctrl_c_stops_every_process_bots_included(make_run):
    processes = make_run.processes()
    pools = [p for p in processes if "publish_broker.pool" in _command(p)]
    assert len(pools) == 1 and len(processes) > 8
    make_run.interrupt()
    _, alive = psutil.wait_procs(processes, timeout=10)
    assert alive == [], [p.cmdline() for p in alive]
    assert "run-local: stopped" in make_run.log()


def _command(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except psutil.NoSuchProcess:
        return ""


def _final(job: dict) -> dict | None:
    return job if job["state"] in ("live", "failed", "superseded") else None
