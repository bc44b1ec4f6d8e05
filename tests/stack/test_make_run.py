"""`make run` from a clean checkout, with no DATABASE_URL/QUEUE_URL and no Slack token: the
whole product runs on its embedded defaults with the playground as its Slack, the terminal gets
one line per service and the address to open, a publish makes a live bot that answers and tells
its owner in the playground, an `ask` typed on the playground's page gets the owner's answer,
and Ctrl-C stops every process it started, bots included.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys

import psutil
import pytest
import requests

from actions.bot_client import ask
from tests.stack.checkout import clean_checkout
from tests.support import logs
from tests.support.isolation import START_ENV
from tests.support.services import wait_until

# Its tests keep their order when the modules are shuffled (pytest-random-order): one `make run`
# for the module, whose tests are the steps of one session (publish, then ask).
pytestmark = [pytest.mark.slow, pytest.mark.random_order(disabled=True)]

API_PORT, ACTIONS_PORT, CONCIERGE_PORT, PLAYGROUND_PORT, POOL_PORT = (
    5711, 5712, 5713, 5714, 5715)
# make run's development defaults, which it writes to var/log/run-local.log at start.
DEV_API_TOKEN, DEV_BOT_TOKEN = "dev-api-token-change-me", "dev-bot-token-change-me"
SIGNING_SECRET = "make-run-test-signing-secret"
# The playground's people: Slack ids derive from their names.
TEAM, ALICE, BOB = "T5RUN", "UALICE", "UBOB"
OWNER = f"/v1/users/{TEAM}/{ALICE}"
API = f"http://127.0.0.1:{API_PORT}"
PLAYGROUND = f"http://127.0.0.1:{PLAYGROUND_PORT}"
SERVICES = ("publish-api", "playground", "bot-pool", "publish-broker", "capture-actions",
            "concierge")
TOPICS = [
    ("How do I reset my VPN password?", "Use the self-service portal at vpn.example.com."),
    ("Where can I find the holiday calendar?", "It is on the HR wiki under Calendars."),
]


# Restores the default action of SIGINT and SIGQUIT (an ignored signal stays ignored across
# exec; a default one stays default), then becomes the command that follows.
_WITH_CTRL_C = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                "signal.signal(signal.SIGQUIT, signal.SIG_DFL); "
                "os.execvp(sys.argv[1], sys.argv[1:])")


class MakeRun:
    """`make run` in its own session, as a terminal would run it; Ctrl-C is SIGINT to the group."""

    def __init__(self, checkout, log_path):
        # A terminal's environment: none of the services' settings (nor a LOG_LEVEL).
        env = {k: v for k, v in START_ENV.items()
               if k not in ("DATABASE_URL", "QUEUE_URL", "BROKER_URL", "SLACK_API_URL",
                            "LOG_LEVEL")
               and not k.endswith("TOKEN")}
        env.update(PUBLISH_API_PORT=str(API_PORT), ACTIONS_PORT=str(ACTIONS_PORT),
                   CONCIERGE_PORT=str(CONCIERGE_PORT), POOL_PORT=str(POOL_PORT),
                   PLAYGROUND_PORT=str(PLAYGROUND_PORT), PLAYGROUND_TEAM_ID=TEAM,
                   PLAYGROUND_PEOPLE="Alice,Bob", SLACK_SIGNING_SECRET=SIGNING_SECRET)
        self.checkout, self.log_path = checkout, log_path
        # Ctrl-C as a terminal's, whatever started this test run: a run started in the
        # background by a non-interactive shell ignores SIGINT, which its children inherit and
        # a shell script can then not trap (make run never heard its Ctrl-C).
        self.process = subprocess.Popen([sys.executable, "-c", _WITH_CTRL_C, "make", "run"],
                                        cwd=checkout, env=env,
                                        stdout=log_path.open("wb"), stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def log(self) -> str:
        """What the terminal shows."""
        return self.log_path.read_text(errors="replace")

    def service_log(self, name: str) -> str:
        return (self.checkout / "var" / "log" / f"{name}.log").read_text(errors="replace")

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


def _says_ready(run: MakeRun) -> bool:
    if run.process.poll() is not None:
        raise AssertionError(f"make run exited early:\n{run.log()[-4000:]}")
    return "Ctrl-C stops everything" in run.log()


@pytest.fixture(scope="module")
def make_run(tmp_path_factory):
    checkout = clean_checkout(tmp_path_factory.mktemp("checkout"))
    run = MakeRun(checkout, tmp_path_factory.mktemp("logs") / "make-run.log")
    try:
        wait_until(lambda: _says_ready(run), timeout=420, interval=0.5,
                   what="make run to say it is ready")
        yield run
    finally:
        run.stop()


@pytest.fixture(scope="module")
def api():
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {DEV_API_TOKEN}"
    return session


def test_it_starts_on_embedded_defaults_and_says_where_to_go(make_run):
    log = make_run.log()
    assert "database sqlite, publish queue sqla+sqlite" in log
    for service in SERVICES:
        assert len(re.findall(rf"^run-local: {service} +ready ", log, re.M)) == 1, service
    assert f"run-local: ready. Open {PLAYGROUND}" in log
    # Third-party warnings and access logs stay in the services' logs.
    assert "Warning" not in log and "GET /health" not in log
    assert "GET /health" in make_run.service_log("publish-api")


def test_the_dev_tokens_are_in_the_log_and_secrets_nowhere(make_run):
    settings = make_run.service_log("run-local")
    assert f"API_TOKEN={DEV_API_TOKEN} (development default)" in settings
    for name in ("BROKER_API_TOKEN", "ACTIONS_API_TOKEN", "PLAYGROUND_API_TOKEN", "ACTIONS_TOKEN",
                 "SLACK_BOT_TOKEN"):
        assert f"run-local: {name}=" in settings, name
    texts = [make_run.log(), settings, make_run.service_log("concierge"),
             make_run.service_log("playground")]
    assert not any(SIGNING_SECRET in text for text in texts)


def test_the_playground_serves_the_page(make_run):
    page = requests.get(PLAYGROUND, timeout=10)  # follows the redirect to Alice's DM
    assert page.status_code == 200 and page.url == f"{PLAYGROUND}/as/{ALICE}/DALICE"
    assert "htmx.min.js" in page.text and "Message @concierge as Alice" in page.text
    assert requests.get(f"{PLAYGROUND}/static/htmx.min.js", timeout=10).status_code == 200
    # Its Web API stand-in is where the concierge's and the broker's Slack calls go.
    refused = requests.post(f"{PLAYGROUND}/api/auth.test", timeout=10).json()
    assert refused == {"ok": False, "error": "not_authed"}


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


def test_an_ask_typed_on_the_page_gets_the_owners_answer(make_run):
    alice_dm = f"{PLAYGROUND}/as/{ALICE}/DALICE/messages"
    assert "Your bot is live with 2 topics" in requests.get(alice_dm, timeout=10).text
    bob = requests.Session()
    page = bob.get(f"{PLAYGROUND}/as/{BOB}/DBOB", timeout=10).text
    token = re.search(r'"X-Playground-Token": "([^"]+)"', page).group(1)
    sent = bob.post(f"{PLAYGROUND}/as/{BOB}/DBOB/messages", timeout=10,
                    data={"text": "ask @alice where is the holiday calendar"},
                    headers={"X-Playground-Token": token})
    assert sent.status_code == 200, sent.text
    answer = f"@Alice says: {TOPICS[1][1]}"
    dm = f"{PLAYGROUND}/as/{BOB}/DBOB/messages"
    try:
        wait_until(lambda: answer in bob.get(dm, timeout=10).text, timeout=30, interval=0.5,
                   what="Alice's answer in Bob's DM")
    except TimeoutError:
        raise AssertionError(bob.get(dm, timeout=10).text) from None


def test_every_service_logs_one_format_with_ids_and_no_warnings(make_run):
    # After the publish and the ask above: each per-request, per-job and per-event line is there.
    service_logs = {name: make_run.service_log(name) for name in SERVICES}
    for name, log in service_logs.items():
        logs.check(log, name)
    api_requests = logs.messages(service_logs["publish-api"], logs.REQUEST_LINE)
    assert {"POST", "PUT", "GET"} <= {match["method"] for match in api_requests}
    assert all(re.fullmatch(r"[0-9a-f]{32}", match["id"]) for match in api_requests)
    broker = service_logs["publish-broker"]
    assert re.search(r"Task publish_broker\.publish\[job-1-[0-9a-f]{32}\] received", broker)
    assert {"1"} == {match["id"] for match in logs.messages(broker, logs.JOB_LINE)}
    asks = [match for match in logs.messages(service_logs["bot-pool"], logs.REQUEST_LINE)
            if match["path"].endswith("/model/parse")]
    assert asks and all(match["status"] == "200" for match in asks)
    actions = logs.messages(service_logs["capture-actions"], logs.REQUEST_LINE)
    assert any(re.search(r" POST /webhook action_\w+ 200 ", match[0]) for match in actions)
    events = logs.messages(service_logs["concierge"], logs.EVENT_LINE)
    assert any(m["id"].startswith("Ev") for m in events) and all(m["id"] != "-" for m in events)
    assert logs.messages(service_logs["playground"], re.compile(r"^request [0-9a-f]{32}: GET /as/"))


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
