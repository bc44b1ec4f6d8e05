"""The concierge in Socket Mode: `rasa run` with SLACK_APP_TOKEN connects to a local WebSocket
stand-in speaking Slack's Socket Mode protocol (tests/support/slack_socket.py), acknowledges
each envelope and answers through the Web API stand-in, as over the webhook.
"""

from __future__ import annotations

import uuid

import pytest
import requests
import yaml
from rasa.shared.exceptions import InvalidConfigException

from connectors.settings import load_settings
from tests.capture_bot.servers import ACTIONS_TOKEN, BOT_TOKEN, REPO, free_port, start_concierge
from tests.support.slack_api import SlackApi, block_actions, message_event
from tests.support.slack_socket import SocketModeServer

pytestmark = pytest.mark.slow

TEAM = "T0TEST"
APP_TOKEN = "xapp-1-A0CONCIERGE-0123456789"
GREETING = "Hi! I keep your answers"


def channel_id() -> str:
    return "D" + uuid.uuid4().hex[:10].upper()


@pytest.fixture(scope="module")
def sockets():
    with SocketModeServer() as server:
        yield server


@pytest.fixture(scope="module")
def socket_slack(ports, sockets):
    with SlackApi(bot_token=BOT_TOKEN, port=free_port(ports), app_token=APP_TOKEN,
                  socket_mode=sockets) as server:
        server.add_user("U0ALICE", "alice", "Alice")
        server.add_user("U0BOB", "bob", "Bob")
        yield server


@pytest.fixture(scope="module")
def concierge(ports, logs, concierge_model, socket_slack, sockets, action_server):
    # No signing secret: Socket Mode serves no webhook, so it needs none.
    env = {"SLACK_APP_TOKEN": APP_TOKEN, "SLACK_SIGNING_SECRET": ""}
    server = start_concierge(free_port(ports), concierge_model, logs, socket_slack.url,
                             action_server.url, extra_env=env)
    sockets.wait_for(lambda: sockets.hellos >= 1)
    yield server
    server.stop()


def test_the_concierge_connects_with_the_app_token_and_serves_no_webhook(concierge, socket_slack):
    opened = [c for c in socket_slack.calls if c.method == "apps.connections.open"]
    assert opened and all(c.ok and c.token == APP_TOKEN for c in opened)
    health = requests.get(concierge.url + "/webhooks/slack/", timeout=5)
    assert health.json() == {"status": "ok", "socket_mode": True}
    webhook = requests.post(concierge.url + "/webhooks/slack/webhook", json={}, timeout=5)
    assert webhook.status_code == 404


def test_a_dm_through_socket_mode_gets_the_concierges_reply(concierge, socket_slack, sockets):
    dm = channel_id()

    envelope = sockets.send_event(message_event(TEAM, "U0ALICE", "hi", channel=dm))

    assert sockets.wait_for_ack(envelope) == {"envelope_id": envelope}
    [post] = socket_slack.wait_for_posts(1, channel=dm, timeout=20)
    assert post.token == BOT_TOKEN and post.args["text"].startswith(GREETING)
    buttons = post.args["blocks"][1]["elements"]
    # The menu itself is test_slack_connector's concern; its buttons came through.
    assert {"/add_topic", "/help"} <= {b["value"] for b in buttons}


def test_a_click_through_socket_mode_is_a_message(concierge, socket_slack, sockets):
    dm = channel_id()

    envelope = sockets.send_interaction(block_actions(TEAM, "U0ALICE", "/help", channel=dm))

    assert sockets.wait_for_ack(envelope) == {"envelope_id": envelope}
    [post] = socket_slack.wait_for_posts(1, channel=dm, timeout=20)
    assert post.args["text"].startswith("I can:")


def test_an_event_delivered_again_is_acknowledged_and_answered_once(concierge, socket_slack,
                                                                   sockets):
    dm, marker = channel_id(), channel_id()
    event = message_event(TEAM, "U0ALICE", "hi", channel=dm)
    first = sockets.send_event(event)
    again = sockets.send_event(event, retry_attempt=1)
    sockets.wait_for_ack(first)
    sockets.wait_for_ack(again)
    # Once the marker DM is answered, a second reply in `dm` would have come before it.
    socket_slack.wait_for_posts(1, channel=dm, timeout=20)
    sockets.send_event(message_event(TEAM, "U0BOB", "hi", channel=marker))
    socket_slack.wait_for_posts(1, channel=marker, timeout=20)
    assert len(socket_slack.posts(dm)) == 1


def test_other_envelopes_are_acknowledged_without_reply(concierge, socket_slack, sockets):
    before = len(socket_slack.posts())
    envelope = sockets.send("slash_commands", {"command": "/faq", "text": "hi"})
    assert sockets.wait_for_ack(envelope) == {"envelope_id": envelope}
    marker = channel_id()
    sockets.send_event(message_event(TEAM, "U0BOB", "hi", channel=marker))
    socket_slack.wait_for_posts(1, channel=marker, timeout=20)
    assert len(socket_slack.posts()) == before + 1


def test_a_disconnect_notice_opens_a_new_connection(concierge, socket_slack, sockets):
    hellos = sockets.hellos
    opened = len([c for c in socket_slack.calls if c.method == "apps.connections.open"])

    sockets.ask_to_reconnect()

    sockets.wait_for(lambda: sockets.hellos == hellos + 1)
    assert len([c for c in socket_slack.calls if c.method == "apps.connections.open"]) == opened + 1
    dm = channel_id()
    envelope = sockets.send_event(message_event(TEAM, "U0ALICE", "hi", channel=dm))
    sockets.wait_for_ack(envelope)
    [post] = socket_slack.wait_for_posts(1, channel=dm, timeout=20)
    assert post.args["text"].startswith(GREETING)


def test_the_concierge_connects_once_an_unreachable_slack_answers(ports, logs, concierge_model,
                                                                   action_server):
    later = free_port(ports)
    with SocketModeServer() as sockets:
        server = start_concierge(free_port(ports), concierge_model, logs,
                                 f"http://127.0.0.1:{later}/api/", action_server.url,
                                 extra_env={"SLACK_APP_TOKEN": APP_TOKEN})
        try:
            health = requests.get(server.url + "/webhooks/slack/", timeout=5).json()
            assert health == {"status": "ok", "socket_mode": False}
            with SlackApi(bot_token=BOT_TOKEN, port=later, app_token=APP_TOKEN,
                          socket_mode=sockets) as socket_slack:
                socket_slack.add_user("U0ALICE", "alice", "Alice")
                sockets.wait_for(lambda: sockets.hellos >= 1, timeout=60)
                dm = channel_id()
                sockets.wait_for_ack(sockets.send_event(
                    message_event(TEAM, "U0ALICE", "hi", channel=dm)))
                [post] = socket_slack.wait_for_posts(1, channel=dm, timeout=20)
                assert post.args["text"].startswith(GREETING)
        finally:
            server.stop()


def test_an_envelope_acknowledged_before_a_stop_is_answered(ports, logs, concierge_model,
                                                            action_server):
    with SocketModeServer() as sockets, SlackApi(
            bot_token=BOT_TOKEN, port=free_port(ports), app_token=APP_TOKEN, socket_mode=sockets,
            latency={"users.info": 2.0}) as slow_slack:
        slow_slack.add_user("U0ALICE", "alice", "Alice")
        server = start_concierge(free_port(ports), concierge_model, logs, slow_slack.url,
                                 action_server.url, extra_env={"SLACK_APP_TOKEN": APP_TOKEN})
        try:
            sockets.wait_for(lambda: sockets.hellos >= 1)
            envelope = sockets.send_event(message_event(TEAM, "U0ALICE", "hi",
                                                        channel="D0STOPPING"))
            sockets.wait_for_ack(envelope)
            assert slow_slack.posts(channel="D0STOPPING") == []  # not answered yet
        finally:
            server.stop()
        assert server.process.returncode is not None
        replies = slow_slack.posts(channel="D0STOPPING")
        assert len(replies) == 1 and replies[0].args["text"].startswith(GREETING), replies


def test_a_refused_app_token_stops_the_start_naming_the_variable(ports, logs, concierge_model,
                                                                 action_server):
    # Slack takes its time to refuse: the concierge is not ready before it has (it served its
    # readiness route while still asking, and a start could pass for a good one).
    env = {"SLACK_APP_TOKEN": "xapp-1-not-the-right-one"}
    with SocketModeServer() as sockets, SlackApi(
            bot_token=BOT_TOKEN, port=free_port(ports), app_token=APP_TOKEN, socket_mode=sockets,
            latency={"apps.connections.open": 3.0}) as slow_slack:
        with pytest.raises(RuntimeError) as failed:
            start_concierge(free_port(ports), concierge_model, logs, slow_slack.url,
                            action_server.url, extra_env=env)
    assert "Slack refused SLACK_APP_TOKEN in apps.connections.open: invalid_auth" in str(
        failed.value)
    assert "xapp-1-not-the-right-one" not in str(failed.value)


SOCKET_MODE = {"SLACK_BOT_TOKEN": BOT_TOKEN, "ACTIONS_TOKEN": ACTIONS_TOKEN,
               "SLACK_SIGNING_SECRET": ""}


@pytest.mark.parametrize("value", ["xoxb-a-bot-token", "xoxp-a-user-one"])
def test_an_app_token_must_be_an_app_level_token(value):
    with pytest.raises(InvalidConfigException, match="SLACK_APP_TOKEN: must be an app-level") \
            as error:
        load_settings({**SOCKET_MODE, "SLACK_APP_TOKEN": value})
    assert value not in str(error.value)


def test_an_app_token_needs_no_signing_secret():
    settings = load_settings({**SOCKET_MODE, "SLACK_APP_TOKEN": APP_TOKEN})
    assert settings.SLACK_APP_TOKEN == APP_TOKEN and settings.SLACK_SIGNING_SECRET
    with pytest.raises(InvalidConfigException, match="SLACK_SIGNING_SECRET: is required unless"):
        load_settings({**SOCKET_MODE, "SLACK_APP_TOKEN": "  "})


def test_the_socket_mode_manifest_asks_for_what_the_webhook_one_does():
    webhook = yaml.safe_load((REPO / "slack-app-manifest.yml").read_text())
    socket = yaml.safe_load((REPO / "slack-app-manifest-socket-mode.yml").read_text())
    assert socket["settings"]["socket_mode_enabled"] is True
    assert webhook["settings"]["socket_mode_enabled"] is False
    assert "request_url" not in socket["settings"]["event_subscriptions"]
    assert "request_url" not in socket["settings"]["interactivity"]
    for part in ("display_information", "features", "oauth_config"):
        assert socket[part] == webhook[part], part
    assert (socket["settings"]["event_subscriptions"]["bot_events"]
            == webhook["settings"]["event_subscriptions"]["bot_events"])
