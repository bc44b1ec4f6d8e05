"""Fault injection and a load run through the concierge, on a stack of the benchmark's own.

    python bench/faults.py --json OUT.json [--rate 50] [--seconds 60] [--no-load] [--no-faults]

Run it in the Rasa environment (`$(cat .rasa-env)/bin/python`, with PUBLISH_API_PYTHON and
NLTK_DATA as `make test` sets them) from the repo root. It starts PostgreSQL and RabbitMQ of its
own (tests/support/private_services.py), publish-api, a broker worker with the local bot pool,
the action server and the concierge, with a local Slack stand-in, and then:

- injects each fault of tests/chaos/stack.py (workers killed in training and in deploy,
  RabbitMQ and PostgreSQL restarted mid-publish, the pool killed mid-republish, the concierge
  restarted with events in flight, every event delivered twice), and sums what each one lost;
- asks an owner's bot through the concierge at `--rate` asks per second for `--seconds`
  seconds (each ask a signed Events API request from its own channel, as from many people),
  timing each from the request to the concierge's reply at the Slack stand-in.

JSON keys: faults_injected, jobs_lost, topics_lost, duplicate_replies, replies_lost, http_5xx
(5xx answers to Slack's requests, the faults' and the load run's), faults (one report each), and
load (rate, seconds, asks, answered, not_acknowledged: deliveries the concierge did not take within
Slack's 3 s, which Slack would send again and the load run does not; http_5xx, ask_p50_ms,
ask_p95_ms, ask_max_ms: from each request to its reply, over the answered asks).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / part)
                for part in (".", "publish-broker", "capture-actions", "capture-bot", "playground")]

import results  # noqa: E402

from tests.capture_bot.servers import train_concierge  # noqa: E402
from tests.chaos import stack as faults  # noqa: E402
from tests.support.slack_api import message_event  # noqa: E402

LOAD_TOPICS = faults.TOPICS
SETTLE_S = 120  # after the load, how long replies may still arrive


def run_faults(stack: faults.Stack) -> list[faults.FaultReport]:
    reports = [fault(stack) for fault in faults.PUBLISH_FAULTS]
    owner = stack.new_owner(faults.TOPICS[:4])
    owner.wait_for_state(owner.publish(), faults.FINAL, timeout=faults.JOB_DEADLINE_S)
    reports.append(faults.concierge_restarted_with_events_in_flight(stack, owner))
    reports.append(faults.events_sent_twice(stack, owner))
    for report in reports:
        logging.info("%s", report)
    return reports


def run_load(stack: faults.Stack, rate: float, seconds: float) -> dict:
    """`rate` asks per second for `seconds` s, each from a channel of its own."""
    owner = stack.new_owner(LOAD_TOPICS)
    job = owner.wait_for_state(owner.publish(), faults.FINAL, timeout=faults.JOB_DEADLINE_S)
    if job["state"] != "live":
        raise RuntimeError(f"the load run's bot did not go live: {job}")
    sender = stack.sender
    sent: dict[str, float] = {}
    refused: list[str] = []  # not acknowledged within Slack's 3 s (Slack would send it again)
    lock = threading.Lock()

    def one(i: int) -> None:
        question = LOAD_TOPICS[i % len(LOAD_TOPICS)][0].lower().rstrip("?")
        channel = f"D0LOAD{i:06d}"
        event = message_event(faults.TEAM, f"U0ASK{i % 500:04d}",
                              f"ask <@{owner.user_id}> {question}", channel=channel)
        with lock:
            sent[channel] = time.monotonic()
        if not sender.deliver(event, retry_delays=()):
            with lock:
                refused.append(channel)

    total = int(rate * seconds)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=64) as pool:
        for i in range(total):
            # An open-loop schedule: ask i leaves at i / rate, however slow the answers are.
            delay = started + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one, i)
    deadline = time.monotonic() + SETTLE_S
    while time.monotonic() < deadline and len(_first_replies(stack, sent)) < total:
        time.sleep(0.5)  # polling for replies with a deadline
    replies = _first_replies(stack, sent)
    latencies = sorted((replies[c] - sent[c]) * 1000 for c in replies)
    return {"rate": rate, "seconds": seconds, "asks": total, "answered": len(replies),
            "not_acknowledged": len(refused), "http_5xx": sender.http_5xx,
            "ask_p50_ms": round(statistics.median(latencies), 1) if latencies else None,
            "ask_p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 1)
            if latencies else None,
            "ask_max_ms": round(latencies[-1], 1) if latencies else None}


def _first_replies(stack: faults.Stack, sent: dict) -> dict:
    first: dict[str, float] = {}
    for post in stack.slack.posts():
        channel = post.args.get("channel")
        if channel in sent and channel not in first:
            first[channel] = post.at
    return first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", required=True, type=Path, help="where to write the results")
    parser.add_argument("--rate", type=float, default=50, help="asks per second in the load run")
    parser.add_argument("--seconds", type=float, default=60, help="length of the load run")
    parser.add_argument("--no-load", action="store_true", help="skip the load run")
    parser.add_argument("--no-faults", action="store_true", help="skip the faults")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    with tempfile.TemporaryDirectory(prefix="faqbot-faults-") as workdir:
        model, _seconds = train_concierge(Path(workdir) / "concierge")
        stack = faults.Stack(Path(workdir), model).start()
        try:
            reports = [] if args.no_faults else run_faults(stack)
            load = None if args.no_load else run_load(stack, args.rate, args.seconds)
        finally:
            stack.stop()
    result = {
        "faults_injected": sum(r.injected for r in reports),
        **{key: sum(getattr(r, key) for r in reports) for key in (
            "jobs_lost", "topics_lost", "duplicate_replies", "replies_lost")},
        "http_5xx": sum(r.http_5xx for r in reports) + (load["http_5xx"] if load else 0),
        "faults": [r.as_dict() for r in reports],
        "load": load,
    }
    results.write(result, args.json, shown={k: v for k, v in result.items() if k != "faults"})


if __name__ == "__main__":
    main()
