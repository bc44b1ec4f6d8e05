"""Fault injection on the whole product (issue 12): workers killed in training and in deploy,
RabbitMQ and PostgreSQL restarted mid-publish, the bot pool killed mid-republish, the
concierge restarted with events in flight, every event delivered twice. After each, the job is
live (or failed with a reason) within a bound, every topic is kept and no question is answered
twice or left without an answer. bench/faults.py runs the same faults and writes JSON."""

from __future__ import annotations

import pytest

from tests.capture_bot.servers import train_concierge
from tests.chaos import stack as faults

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    model, _seconds = train_concierge(tmp_path_factory.mktemp("concierge-model"))
    running = faults.Stack(tmp_path_factory.mktemp("chaos"), model).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def live_owner(stack):
    """An owner whose bot is live, for the faults on the Slack side."""
    owner = stack.new_owner(faults.TOPICS[:4])
    job = owner.wait_for_state(owner.publish(), faults.FINAL, timeout=faults.JOB_DEADLINE_S)
    assert job["state"] == "live", job
    return owner


def _assert_nothing_lost(report: faults.FaultReport) -> None:
    assert report.injected, f"{report.fault}: the fault was not injected ({report.detail})"
    assert (report.jobs_lost, report.topics_lost, report.duplicate_replies,
            report.replies_lost, report.http_5xx) == (0, 0, 0, 0, 0), report
    # Nothing else went wrong either: no job failed, every answer was the right one.
    assert report.detail == "", report


@pytest.mark.parametrize("fault", faults.PUBLISH_FAULTS, ids=lambda fault: fault.__name__)
def test_a_publish_survives(stack, fault):
    _assert_nothing_lost(fault(stack))


def test_a_concierge_restart_loses_and_repeats_no_reply(stack, live_owner):
    _assert_nothing_lost(faults.concierge_restarted_with_events_in_flight(stack, live_owner))


def test_events_delivered_twice_are_answered_once(stack, live_owner):
    _assert_nothing_lost(faults.events_sent_twice(stack, live_owner))
