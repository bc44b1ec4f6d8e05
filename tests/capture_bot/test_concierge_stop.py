"""A concierge stopped (SIGTERM: a deploy, `docker compose restart`, Ctrl-C of `make run`) just
after acknowledging a message still answers it: Slack got its 200 and will not send it again."""

from __future__ import annotations

import pytest

from tests.capture_bot.servers import SIGNING_SECRET, free_port, start_concierge
from tests.capture_bot.test_slack_connector import TEAM
from tests.support.slack_api import message_event, send_event

pytestmark = pytest.mark.slow


@pytest.fixture
def slow_slack(slack):
    # The profile look-up takes a second: the message is still being handled when the stop
    # comes, whatever the machine's speed.
    slack.latency["users.info"] = 1.0
    yield slack
    slack.latency.clear()


def test_a_message_acknowledged_before_a_stop_is_answered(ports, logs, concierge_model,
                                                          slow_slack, action_server):
    server = start_concierge(free_port(ports), concierge_model, logs, slow_slack.url,
                             action_server.url)
    try:
        event = message_event(TEAM, "U0ALICE", "hi", channel="D0STOPPING")
        assert send_event(server.url + "/webhooks/slack/webhook", SIGNING_SECRET,
                          event).status_code == 200
        assert slow_slack.posts(channel="D0STOPPING") == []  # not answered yet
    finally:
        server.stop()
    assert server.process.returncode is not None
    replies = slow_slack.posts(channel="D0STOPPING")
    assert len(replies) == 1 and "Hi!" in replies[0].args["text"], replies
