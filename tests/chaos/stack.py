"""The whole product on servers of its own, and the faults the chaos tests and bench/faults.py
inject into it.

`Stack` runs PostgreSQL and RabbitMQ of its own (so restarting them disturbs nothing else),
publish-api, a broker worker with the local bot pool, the action server and the concierge,
with tests/support/slack_api.py standing in for Slack. `SlackSender` delivers events to the
concierge as Slack does: a request that fails or answers 5xx is retried with Slack's retry
headers. Each fault function injects one fault into one owner's publish (or into the
concierge), then checks what the issue asks of every fault: the job ends live (or failed with a
reason) within a bound, every topic is kept, no question gets two replies.
"""

from __future__ import annotations

import itertools
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import requests

from publish_broker.runtime.pool_process import PoolProcessRuntime
from tests.capture_bot.servers import (
    BOT_TOKEN,
    SIGNING_SECRET,
    Process,
    start_action_server,
    start_concierge,
)
from tests.support.private_services import PrivatePostgres, PrivateRabbitMQ, free_port
from tests.support.services import (
    BOT_AUTH_TOKEN,
    BrokerWorker,
    PublishApi,
    pool_port,
    start_broker_worker,
    start_publish_api,
    wait_until,
)
from tests.support.slack_api import SlackApi, message_event, send_event

TEAM = "T0CHAOS"
ASKER = "U0ASKER"
JOB_DEADLINE_S = 240  # a fault must have ended with the job final by then
REPLY_DEADLINE_S = 60
# Slack retries a failed delivery three times: nearly at once, after 1 minute and after 5.
SLACK_RETRY_DELAYS_S = (1, 60, 300)
TOPICS = [
    ("How do I reset my VPN password?", "Use the self-service portal at vpn.example.com."),
    ("Where can I find the holiday calendar?", "It is on the HR wiki under Calendars."),
    ("Who approves my expense report?", "Your line manager approves expenses."),
    ("How do I book a meeting room?", "Book rooms in the calendar app, under Rooms."),
    ("Where do I get a new laptop charger?", "Ask the IT desk on the second floor."),
    ("How do I join the on-call rota?", "Sign up on the on-call page of the wiki."),
]
FINAL = ("live", "failed", "superseded")
MARKER_REPLY = "Hi! I keep your answers"  # the concierge's greeting


@dataclass
class FaultReport:
    """What one fault did: the figures bench/faults.py sums into its JSON."""

    fault: str
    injected: bool = False
    jobs_lost: int = 0
    topics_lost: int = 0
    duplicate_replies: int = 0
    replies_lost: int = 0
    http_5xx: int = 0
    seconds: float = 0.0
    detail: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class SlackSender:
    """Delivers signed events to the concierge as Slack does, counting the 5xx answers."""

    webhook: str
    http_5xx: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def deliver(self, event: dict, retry_delays: tuple = SLACK_RETRY_DELAYS_S) -> bool:
        """Sends `event`, retrying as Slack would; True once the concierge took it (200)."""
        for attempt in range(len(retry_delays) + 1):
            if attempt:
                time.sleep(retry_delays[attempt - 1])  # Slack's retry schedule, not a sync
            try:
                response = send_event(self.webhook, SIGNING_SECRET, event,
                                      retry_num=attempt or None, retry_reason="http_error",
                                      timeout=3)  # Slack gives up on a request after 3 s
            except requests.RequestException:
                continue
            if response.status_code >= 500:
                with self._lock:
                    self.http_5xx += 1
                continue
            return response.status_code == 200
        return False


class Stack:
    """Every service of the product, on servers this stack may stop, kill and restart."""

    def __init__(self, workdir: Path, concierge_model: Path) -> None:
        self.workdir, self.concierge_model = workdir, concierge_model
        self.logs = workdir / "logs"
        self.models_dir = workdir / "bots"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.postgres = PrivatePostgres()
        self.rabbitmq = PrivateRabbitMQ()
        # One Slack app: the concierge and the broker share its token.
        self.slack = SlackApi(bot_token=BOT_TOKEN, team_id=TEAM)
        self.slack.add_user(ASKER, "asker", "Asker")
        self.api: PublishApi | None = None
        self.worker: BrokerWorker | None = None
        self.actions: Process | None = None
        self.concierge: Process | None = None
        # Ports the system hands out: other test sessions on this machine use 5400-5499.
        self.concierge_port = free_port()
        self._owners = itertools.count(1)
        self._channels = itertools.count(1)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Stack:
        """Starts every service; on a failure, stops what did start (nothing is left behind)."""
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> Stack:
        self.postgres.start()
        self.rabbitmq.start()
        self.slack.start()
        self.api = start_publish_api(free_port(), self.logs,
                                     queue_url=self.rabbitmq.url,
                                     database_url=self.postgres.url, QUEUED_RESEND_S="5")
        self.start_worker()
        self.actions = start_action_server(free_port(), self.logs, {
            "PUBLISH_API_URL": self.api.url, "API_TOKEN": self.api.token,
            "BOT_AUTH_TOKEN": BOT_AUTH_TOKEN})
        self.start_concierge()
        return self

    def start_worker(self) -> BrokerWorker:
        self.worker = start_broker_worker(
            self.api, self.logs, self.models_dir, QUEUE_URL=self.rabbitmq.url,
            SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=self.slack.url)
        return self.worker

    def start_concierge(self) -> Process:
        self.concierge = start_concierge(self.concierge_port, self.concierge_model, self.logs,
                                         self.slack.url, self.actions.url)
        return self.concierge

    def stop(self) -> None:
        for service in (self.concierge, self.actions, self.worker, self.api):
            if service is not None:
                service.stop()
        self._stop_pool()
        self.slack.stop()
        self.rabbitmq.remove()
        self.postgres.remove()

    def _stop_pool(self) -> None:
        self._pool_runtime(stop_on_close=True).close()

    def pool_pid(self) -> int | None:
        """The bot pool's pid as the runtime recorded it, None unless it runs."""
        return self._pool_runtime().pid()

    def _pool_runtime(self, stop_on_close: bool = False) -> PoolProcessRuntime:
        return PoolProcessRuntime(self.models_dir, BOT_AUTH_TOKEN,
                                  port=pool_port(self.models_dir), stop_on_close=stop_on_close)

    @property
    def sender(self) -> SlackSender:
        return SlackSender(self.concierge.url + "/webhooks/slack/webhook")

    # -- an owner and their publishes --------------------------------------------------------

    def new_owner(self, topics=TOPICS) -> Owner:
        owner = Owner(self, f"U0OWNER{next(self._owners):03d}", list(topics))
        owner.create()
        return owner

    def channel(self) -> str:
        return f"D0CHAOS{next(self._channels):05d}"


@dataclass
class Owner:
    """One owner: their topics in publish-api, their publishes and the asks to their bot."""

    stack: Stack
    user_id: str
    topics: list

    @property
    def path(self) -> str:
        return f"/v1/users/{TEAM}/{self.user_id}"

    def create(self) -> None:
        api = self.stack.api
        assert api.call("PUT", self.path, json={"display_name": self.user_id}).status_code in (
            200, 201)
        for question, answer in self.topics:
            response = api.call("POST", f"{self.path}/topics",
                                json={"question": question, "answer": answer})
            assert response.status_code == 201, response.text

    def add_topic(self, question: str, answer: str) -> None:
        response = self.stack.api.call("POST", f"{self.path}/topics",
                                       json={"question": question, "answer": answer})
        assert response.status_code == 201, response.text
        self.topics.append((question, answer))

    def publish(self) -> int:
        response = self.stack.api.call("POST", f"{self.path}/publish")
        assert response.status_code == 202, response.text
        return response.json()["job"]["id"]

    def job(self, job_id: int) -> dict | None:
        """The job's view, or None while publish-api cannot answer (its database restarts)."""
        try:
            response = self.stack.api.call("GET", f"/v1/jobs/{job_id}")
        except requests.RequestException:
            return None
        return response.json() if response.status_code == 200 else None

    def wait_for_state(self, job_id: int, states: tuple, timeout: float = 120) -> dict:
        return wait_until(lambda: (job := self.job(job_id)) and job["state"] in states and job,
                          timeout, interval=0.05, what=f"job {job_id} in {states}")

    def topics_lost(self) -> int:
        """How many of the owner's topics publish-api no longer has."""
        response = wait_until(lambda: _ok(self.stack.api, f"{self.path}/topics?limit=500"),
                              60, what="publish-api to list topics")
        kept = {(t["question"], t["answer"]) for t in response.json()["topics"]}
        return sum(1 for topic in self.topics if tuple(topic) not in kept)

    def ask_event(self, question: str) -> tuple[str, dict]:
        channel = self.stack.channel()
        return channel, message_event(TEAM, ASKER, f"ask <@{self.user_id}> {question}",
                                      channel=channel)


def _ok(api: PublishApi, path: str) -> requests.Response | None:
    try:
        response = api.call("GET", path)
    except requests.RequestException:
        return None
    return response if response.status_code == 200 else None


# -- outcome checks ------------------------------------------------------------------------

def settle(report: FaultReport, owner: Owner, job_id: int, started: float) -> FaultReport:
    """Waits for the job to end; records lost jobs and topics, then asks every topic once."""
    try:
        job = owner.wait_for_state(job_id, FINAL, timeout=JOB_DEADLINE_S)
    except TimeoutError:
        report.jobs_lost += 1
        report.detail += f"job {job_id} not final after {JOB_DEADLINE_S} s; "
        job = owner.job(job_id) or {}
    if job.get("state") == "failed" and not job.get("error"):
        report.jobs_lost += 1
        report.detail += f"job {job_id} failed without a reason; "
    elif job.get("state") == "failed":
        report.detail += f"job {job_id} failed: {job['error']}; "
    report.topics_lost += owner.topics_lost()
    if job.get("state") == "live":
        ask_all(report, owner)
    report.seconds = round(time.monotonic() - started, 1)
    return report


def ask_all(report: FaultReport, owner: Owner) -> None:
    """Asks each topic's question through the concierge; counts lost and duplicate replies."""
    sender = owner.stack.sender
    asks = [(owner.ask_event(question), answer) for question, answer in owner.topics]
    for (_channel, event), _answer in asks:
        sender.deliver(event)
    report.http_5xx += sender.http_5xx
    for (channel, _event), answer in asks:
        count_replies(report, sender, owner.stack.slack, channel, expected=answer)


def count_replies(report: FaultReport, sender: SlackSender, slack: SlackApi, channel: str,
                  expected: str | None = None) -> None:
    """One reply in `channel` is right: none is lost, more are duplicates.

    The concierge handles one conversation's messages in order, so once a greeting sent after
    every delivery has its reply, any duplicate would have come before it."""
    event = message_event(TEAM, ASKER, "hi", channel=channel)
    if not sender.deliver(event):
        report.detail += f"the marker in {channel} was not taken; "
    try:
        slack.wait_for(lambda _calls: any(MARKER_REPLY in text for text in _texts(slack, channel)),
                       timeout=REPLY_DEADLINE_S)
    except TimeoutError:
        report.detail += f"no reply to the marker in {channel}; "
    replies = [text for text in _texts(slack, channel) if MARKER_REPLY not in text]
    if not replies:
        report.replies_lost += 1
        report.detail += f"no reply in {channel}; "
        return
    report.duplicate_replies += len(replies) - 1
    if expected is not None and not any(expected in reply for reply in replies):
        report.detail += f"{channel}: expected {expected!r}, got {replies!r}; "


def _texts(slack: SlackApi, channel: str) -> list[str]:
    return [post.args.get("text", "") for post in slack.posts(channel=channel)]


# -- the faults ------------------------------------------------------------------------------

def worker_killed_in_training(stack: Stack) -> FaultReport:
    """kill -9 of the worker while it trains: RabbitMQ gives the task to the next worker."""
    report, started = FaultReport("worker_killed_in_training"), time.monotonic()
    owner = stack.new_owner()
    job_id = owner.publish()
    owner.wait_for_state(job_id, ("training",) + FINAL)
    if owner.job(job_id)["state"] == "training":
        stack.worker.kill()
        report.injected = True
        stack.start_worker()
    return settle(report, owner, job_id, started)


def worker_killed_in_deploy(stack: Stack) -> FaultReport:
    """kill -9 of the worker while it deploys. The pool is paused (SIGSTOP) so the deploy is
    caught in the middle, then resumed once the worker is dead."""
    report, started = FaultReport("worker_killed_in_deploy"), time.monotonic()
    owner = stack.new_owner()
    pool = stack.pool_pid()
    os.kill(pool, signal.SIGSTOP)
    try:
        job_id = owner.publish()
        job = owner.wait_for_state(job_id, ("deploying",) + FINAL)
        if job["state"] == "deploying":
            stack.worker.kill()
            report.injected = True
    finally:
        os.kill(pool, signal.SIGCONT)
    if report.injected:
        stack.start_worker()
    return settle(report, owner, job_id, started)


def rabbitmq_restarted_mid_publish(stack: Stack) -> FaultReport:
    """RabbitMQ stops and starts while a job trains: the worker reconnects and the task is
    done once (its job goes live)."""
    return _restarted_mid_publish(stack, "rabbitmq_restarted_mid_publish", stack.rabbitmq)


def postgres_restarted_mid_publish(stack: Stack) -> FaultReport:
    """PostgreSQL restarts while a job trains: the broker's calls to publish-api are retried
    until it answers again; the job goes live with every topic."""
    return _restarted_mid_publish(stack, "postgres_restarted_mid_publish", stack.postgres)


def _restarted_mid_publish(stack: Stack, fault: str, server) -> FaultReport:
    report, started = FaultReport(fault), time.monotonic()
    owner = stack.new_owner()
    job_id = owner.publish()
    owner.wait_for_state(job_id, ("training",) + FINAL)
    report.injected = owner.job(job_id)["state"] == "training"
    server.restart()
    return settle(report, owner, job_id, started)


def pool_killed_mid_republish(stack: Stack) -> FaultReport:
    """kill -9 of the bot pool while an owner republishes: the deploy starts a new pool, which
    answers for every owner from the stored models."""
    report, started = FaultReport("pool_killed_mid_republish"), time.monotonic()
    owner = stack.new_owner(TOPICS[:3])
    first = owner.publish()
    if owner.wait_for_state(first, FINAL, timeout=JOB_DEADLINE_S)["state"] != "live":
        report.jobs_lost += 1
    owner.add_topic(*TOPICS[3])
    job_id = owner.publish()
    owner.wait_for_state(job_id, ("training", "deploying") + FINAL)
    pool = stack.pool_pid()
    if pool and owner.job(job_id)["state"] not in FINAL:
        os.kill(pool, signal.SIGKILL)
        report.injected = True
    return settle(report, owner, job_id, started)


def concierge_restarted_with_events_in_flight(stack: Stack, owner: Owner,
                                              events: int = 6) -> FaultReport:
    """The concierge is stopped (SIGTERM, as a deploy or `docker compose restart` does) right
    after a burst of asks, more arrive while it is down, and it starts again: every ask Slack
    delivered (retrying what failed) gets exactly one reply."""
    report, started = FaultReport("concierge_restarted_with_events_in_flight"), time.monotonic()
    sender = stack.sender
    asks = [owner.ask_event(owner.topics[i % len(owner.topics)][0]) for i in range(events)]
    before, during = asks[: events // 2], asks[events // 2:]
    with ThreadPoolExecutor(max_workers=events) as pool:
        delivered = [pool.submit(sender.deliver, event) for _channel, event in before]
        wait_until(lambda: all(future.done() for future in delivered), REPLY_DEADLINE_S,
                   interval=0.01, what="the first asks to be taken")
        stack.concierge.stop()  # while those are being answered
        report.injected = True
        delivered += [pool.submit(sender.deliver, event) for _channel, event in during]
        stack.start_concierge()
        accepted = sum(1 for future in delivered if future.result())
    report.http_5xx += sender.http_5xx
    report.replies_lost += events - accepted
    for channel, _event in asks:
        count_replies(report, sender, stack.slack, channel)
    report.seconds = round(time.monotonic() - started, 1)
    return report


def events_sent_twice(stack: Stack, owner: Owner, events: int = 4) -> FaultReport:
    """Every event arrives twice (Slack's retry of a slow answer): one reply each."""
    report, started = FaultReport("events_sent_twice"), time.monotonic()
    sender = stack.sender
    asks = [owner.ask_event(question) for question, _answer in owner.topics[:events]]
    for _channel, event in asks:
        sender.deliver(event)
        send_event(sender.webhook, SIGNING_SECRET, event, retry_num=1,
                   retry_reason="http_timeout")
    report.injected = True
    report.http_5xx += sender.http_5xx
    for channel, _event in asks:
        count_replies(report, sender, stack.slack, channel)
    report.seconds = round(time.monotonic() - started, 1)
    return report


PUBLISH_FAULTS: list[Callable[[Stack], FaultReport]] = [
    worker_killed_in_training,
    worker_killed_in_deploy,
    rabbitmq_restarted_mid_publish,
    postgres_restarted_mid_publish,
    pool_killed_mid_republish,
]
