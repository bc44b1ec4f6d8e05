"""The Slack connector end to end: signed Events API requests to `rasa run`, replies recorded by
the Slack Web API stand-in. A "marker" message sent after a request that must not produce a
reply proves the concierge has moved on, so "no reply" is asserted without sleeping.
"""

from __future__ import annotations

import re
import time
import uuid

import pytest
import requests

from playground.slack_protocol import parse_blocks, with_ids
from tests.capture_bot.conftest import GENERAL_CHANNEL
from tests.capture_bot.servers import SIGNING_SECRET, free_port, start_concierge
from tests.support import logs as log_format
from tests.support.slack_api import (
    block_actions,
    message_event,
    send_event,
    send_interaction,
    send_interaction_payload,
)

pytestmark = pytest.mark.slow

TEAM = "T0TEST"
GREETING = "Hi! I keep your answers"


def channel_id() -> str:
    return "D" + uuid.uuid4().hex[:10].upper()


def texts(posts):
    return [post.args.get("text", "") for post in posts]


def assert_marker_then_silence(webhook, slack, silent_channel):
    """Sends "hi" in another DM, waits for its reply, then checks `silent_channel` got none."""
    marker = channel_id()
    assert send_event(webhook, SIGNING_SECRET,
                      message_event(TEAM, "U0BOB", "hi", channel=marker)).status_code == 200
    slack.wait_for_posts(1, channel=marker)
    assert slack.posts(silent_channel) == []


def test_hi_in_a_dm_gets_the_greeting_with_buttons(webhook, slack):
    dm = channel_id()
    response = send_event(webhook, SIGNING_SECRET, message_event(TEAM, "U0ALICE", "hi",
                                                                 channel=dm))
    assert response.status_code == 200
    [post] = slack.wait_for_posts(1, channel=dm)
    assert post.token == "xoxb-test-concierge"
    assert post.args["text"].startswith(GREETING)
    buttons = post.args["blocks"][1]["elements"]
    assert [b["value"] for b in buttons] == [
        "/add_topic", "/show_topics", "/publish", "/help", "/show_unanswered"]
    assert all(call.ok for call in slack.calls), slack.calls


def test_the_profile_is_looked_up_with_the_bot_token(webhook, slack):
    dm = channel_id()
    send_event(webhook, SIGNING_SECRET, message_event(TEAM, "U0ALICE", "hello", channel=dm))
    slack.wait_for_posts(1, channel=dm)
    lookups = [c for c in slack.calls if c.method == "users.info"]
    # Looked up once per user per process; an earlier test may have done it already.
    assert all(c.ok and c.token == "xoxb-test-concierge" for c in lookups)


def test_a_button_click_is_a_message(webhook, slack):
    dm = channel_id()
    response = send_interaction(webhook, SIGNING_SECRET, TEAM, "U0ALICE", "/help", channel=dm)
    assert response.status_code == 200
    [post] = slack.wait_for_posts(1, channel=dm)
    assert post.args["text"].startswith("I can:")


def test_a_clicked_message_shows_the_choice_instead_of_its_buttons(webhook, slack):
    dm = channel_id()
    assert send_event(webhook, SIGNING_SECRET,
                      message_event(TEAM, "U0ALICE", "hi", channel=dm)).status_code == 200
    [greeting] = slack.wait_for_posts(1, channel=dm)
    # As Slack stores it: every block and button given an id (Rasa's buttons have none).
    blocks = with_ids(parse_blocks(greeting.args["blocks"]))
    [row] = [i for i, block in enumerate(blocks) if block["type"] == "actions"]
    button = next(b for b in blocks[row]["elements"] if b["value"] == "/help")
    click = block_actions(TEAM, "U0ALICE", "/help", dm, message_ts="1765000000.000100",
                          action_id=button["action_id"], block_id=blocks[row]["block_id"])
    click["message"].update(text=greeting.args["text"], blocks=blocks)
    click["actions"][0]["text"] = button["text"]

    assert send_interaction_payload(webhook, SIGNING_SECRET, click).status_code == 200

    def updates(calls):
        return [c for c in calls if c.method == "chat.update"
                and c.args.get("ts") == "1765000000.000100"]

    [update] = updates(slack.wait_for(updates))
    shown = parse_blocks(update.args["blocks"])
    assert update.ok and update.args["channel"] == dm
    assert shown[:row] == blocks[:row] and shown[row + 1:] == blocks[row + 1:]
    assert shown[row] == {"type": "context", "elements": [
        {"type": "mrkdwn", "text": f"✔ {button['text']['text']}"}]}
    [answer] = slack.wait_for_posts(2, channel=dm)[1:]
    assert answer.args["text"].startswith("I can:")  # and the click was answered as before


def say_hi_and_wait(webhook, slack, dm):
    """Says "hi" in `dm` and waits for the greeting: once it is there, Rasa has answered every
    earlier message of the conversation (one at a time, in order)."""
    before = len(slack.posts(dm))
    event = message_event(TEAM, "U0ALICE", "hi", channel=dm)
    assert send_event(webhook, SIGNING_SECRET, event).status_code == 200
    slack.wait_for(lambda _: len(slack.posts(dm)) > before
                   and texts(slack.posts(dm))[-1].startswith(GREETING))


def test_a_click_delivered_twice_gets_one_reply(webhook, slack):
    dm = channel_id()
    # Now the user's name is cached, so each request's turn starts in the order it arrived.
    say_hi_and_wait(webhook, slack, dm)
    click = block_actions(TEAM, "U0ALICE", "/help", channel=dm)
    for _ in range(2):
        assert send_interaction_payload(webhook, SIGNING_SECRET, click).status_code == 200
    say_hi_and_wait(webhook, slack, dm)
    assert [text.startswith("I can:") for text in texts(slack.posts(dm))] == [False, True, False]


def test_two_clicks_get_two_replies(webhook, slack):
    dm = channel_id()
    for _ in range(2):
        assert send_interaction(webhook, SIGNING_SECRET, TEAM, "U0ALICE", "/help",
                                channel=dm).status_code == 200
    assert len(slack.wait_for_posts(2, channel=dm)) == 2


def test_a_body_over_one_megabyte_is_refused_without_reply(webhook, slack):
    dm = channel_id()
    huge = message_event(TEAM, "U0ALICE", "hi " + "x" * (2 * 1024 * 1024), channel=dm)
    response = send_event(webhook, SIGNING_SECRET, huge)
    assert response.status_code == 413
    assert_marker_then_silence(webhook, slack, dm)


def test_the_root_says_it_runs_without_naming_rasa_or_its_version(concierge):
    root = requests.get(concierge.url + "/", timeout=5)
    assert root.status_code == 200 and root.text == "ok"
    assert "Rasa" not in root.text and "3.6" not in root.text


def test_a_bad_signature_is_rejected_without_reply(webhook, slack):
    dm = channel_id()
    response = send_event(webhook, SIGNING_SECRET, message_event(TEAM, "U0ALICE", "hi",
                                                                 channel=dm),
                          signature="v0=" + "0" * 64)
    assert response.status_code == 400
    assert_marker_then_silence(webhook, slack, dm)


def test_a_wrong_secret_is_rejected_without_reply(webhook, slack):
    dm = channel_id()
    response = send_event(webhook, "not-the-secret", message_event(TEAM, "U0ALICE", "hi",
                                                                   channel=dm))
    assert response.status_code == 400
    assert_marker_then_silence(webhook, slack, dm)


def test_a_stale_timestamp_is_rejected_without_reply(webhook, slack):
    dm = channel_id()
    stale = int(time.time()) - 10 * 60
    response = send_event(webhook, SIGNING_SECRET, message_event(TEAM, "U0ALICE", "hi",
                                                                 channel=dm), timestamp=stale)
    assert response.status_code == 400
    assert_marker_then_silence(webhook, slack, dm)


@pytest.mark.parametrize("reason", ["http_timeout", "http_error", "connection_failed"])
def test_a_retried_event_gets_exactly_one_reply(webhook, slack, concierge, reason):
    dm = channel_id()
    event = message_event(TEAM, "U0ALICE", "hi", channel=dm)
    assert send_event(webhook, SIGNING_SECRET, event).status_code == 200
    for attempt in (1, 2):
        retry = send_event(webhook, SIGNING_SECRET, event, retry_num=attempt,
                           retry_reason=reason)
        assert retry.status_code == 200
    slack.wait_for_posts(1, channel=dm)
    assert_marker_then_silence(webhook, slack, "nowhere")
    assert len(slack.posts(dm)) == 1
    # One log line per delivery, naming Slack's event id and each retry.
    lines = [match.string for match in log_format.messages(concierge.log(), log_format.EVENT_LINE)
             if match["id"] == event["event_id"]]
    name = f"slack event {event['event_id']} message"
    assert [re.sub(r" \(\d+ ms\)$", "", line) for line in lines] == [
        f"{name}: 200 accepted",
        f"{name} retry 1 ({reason}): 200 repeated, skipped",
        f"{name} retry 2 ({reason}): 200 repeated, skipped"]


def test_a_retry_whose_original_was_lost_is_answered(webhook, slack):
    dm = channel_id()
    event = message_event(TEAM, "U0ALICE", "hi", channel=dm)
    send_event(webhook, SIGNING_SECRET, event, retry_num=1, retry_reason="http_timeout")
    assert len(slack.wait_for_posts(1, channel=dm)) == 1


def test_a_mention_delivered_as_message_and_app_mention_gets_one_reply(webhook, slack):
    ts = f"{time.time():.6f}"
    text = "<@U0CONCIERGE> hi"
    as_message = message_event(TEAM, "U0BOB", text, channel=GENERAL_CHANNEL,
                               channel_type="channel", ts=ts)
    as_mention = message_event(TEAM, "U0BOB", text, channel=GENERAL_CHANNEL,
                               event_type="app_mention", ts=ts)
    assert send_event(webhook, SIGNING_SECRET, as_message).status_code == 200
    assert send_event(webhook, SIGNING_SECRET, as_mention).status_code == 200
    slack.wait_for_posts(1, channel=GENERAL_CHANNEL)
    assert_marker_then_silence(webhook, slack, "nowhere")
    assert len(slack.posts(GENERAL_CHANNEL)) == 1
    assert texts(slack.posts(GENERAL_CHANNEL))[0].startswith(GREETING)


def test_json_with_a_charset_is_accepted(webhook, slack):
    dm = channel_id()
    response = send_event(webhook, SIGNING_SECRET, message_event(TEAM, "U0ALICE", "hi",
                                                                 channel=dm),
                          content_type="application/json; charset=utf-8")
    assert response.status_code == 200
    assert len(slack.wait_for_posts(1, channel=dm)) == 1


def test_an_unsupported_content_type_is_refused_without_reply(webhook, slack):
    dm = channel_id()
    response = send_event(webhook, SIGNING_SECRET, message_event(TEAM, "U0ALICE", "hi",
                                                                 channel=dm),
                          content_type="text/plain")
    assert response.status_code == 415
    assert_marker_then_silence(webhook, slack, dm)


def test_url_verification_echoes_the_challenge(webhook):
    payload = {"type": "url_verification", "token": "legacy", "challenge": "c-123"}
    response = send_event(webhook, SIGNING_SECRET, payload)
    assert response.status_code == 200
    assert response.json() == {"challenge": "c-123"}


def test_messages_of_bots_are_ignored(webhook, slack):
    dm = channel_id()
    event = message_event(TEAM, "U0ALICE", "hi", channel=dm)
    event["event"]["bot_id"] = "B0OTHER"
    assert send_event(webhook, SIGNING_SECRET, event).status_code == 200
    assert_marker_then_silence(webhook, slack, dm)


def make_alice_live_at(publish_api, endpoint):
    """Plays the broker's part: Alice's bot goes live at `endpoint`."""
    owner = f"/v1/users/{TEAM}/U0ALICE"
    assert publish_api.call("PUT", owner, json={"display_name": "Alice"}).ok
    publish_api.call("POST", owner + "/topics", json={"question": "Q?", "answer": "A."})
    job = publish_api.call("POST", owner + "/publish").json()["job"]
    for body in ({"state": "training"}, {"state": "deploying"},
                 {"state": "live", "endpoint": endpoint, "model_digest": "test"}):
        response = publish_api.call("POST", f"/v1/jobs/{job['id']}/transitions", json=body)
        assert response.status_code == 200, response.text


def test_slack_is_answered_at_once_while_a_slow_action_runs(webhook, slack, publish_api,
                                                            hanging_bot):
    # Alice's bot never answers: the action gives up after the 2 s bot timeout.
    make_alice_live_at(publish_api, hanging_bot.url)
    dm = channel_id()
    started = time.monotonic()
    response = send_event(webhook, SIGNING_SECRET, message_event(
        TEAM, "U0BOB", "ask <@U0ALICE> where is the wifi password?", channel=dm))
    acknowledged = time.monotonic() - started
    assert response.status_code == 200
    assert acknowledged < 1.0
    [post] = slack.wait_for_posts(1, channel=dm, timeout=20)
    assert time.monotonic() - started >= 2.0
    assert post.args["text"].startswith("@Alice's bot isn't responding right now.")
    assert "Traceback" not in str(post.args)


# --- replies in channels go into the asker's thread; DMs stay flat ----------------------------

def test_a_reply_in_a_dm_is_not_threaded(webhook, slack):
    dm = channel_id()
    send_event(webhook, SIGNING_SECRET, message_event(TEAM, "U0ALICE", "hi", channel=dm))
    [post] = slack.wait_for_posts(1, channel=dm)
    assert "thread_ts" not in post.args


def test_a_click_in_a_dm_is_answered_flat(webhook, slack):
    dm = channel_id()
    send_interaction(webhook, SIGNING_SECRET, TEAM, "U0ALICE", "/help", channel=dm)
    [post] = slack.wait_for_posts(1, channel=dm)
    assert "thread_ts" not in post.args


def test_a_mention_in_a_channel_is_answered_in_its_thread(webhook, slack):
    ts = f"{time.time():.6f}"
    event = message_event(TEAM, "U0BOB", "<@U0CONCIERGE> what can you do?",
                          channel=GENERAL_CHANNEL, event_type="app_mention", ts=ts)
    assert send_event(webhook, SIGNING_SECRET, event).status_code == 200
    [post] = slack.wait_for_posts(1, channel=GENERAL_CHANNEL)
    assert post.args["thread_ts"] == ts
    assert post.args["text"].startswith("I can:")


def test_a_message_in_a_channel_thread_is_answered_in_that_thread(webhook, slack):
    root = f"{time.time() - 60:.6f}"
    event = message_event(TEAM, "U0BOB", "<@U0CONCIERGE> hi", channel=GENERAL_CHANNEL,
                          channel_type="channel")
    event["event"]["thread_ts"] = root
    assert send_event(webhook, SIGNING_SECRET, event).status_code == 200
    [post] = slack.wait_for_posts(1, channel=GENERAL_CHANNEL)
    assert post.args["thread_ts"] == root


def test_a_click_in_a_channel_thread_is_answered_in_that_thread(webhook, slack):
    click = block_actions(TEAM, "U0BOB", "/help", channel=GENERAL_CHANNEL)
    root = f"{time.time() - 60:.6f}"
    click["message"]["thread_ts"] = root
    assert send_interaction_payload(webhook, SIGNING_SECRET, click).status_code == 200
    [post] = slack.wait_for_posts(1, channel=GENERAL_CHANNEL)
    assert post.args["thread_ts"] == root


@pytest.mark.parametrize("env, named", [
    ({"SLACK_BOT_TOKEN": ""}, "SLACK_BOT_TOKEN: field required"),
    ({"SLACK_SIGNING_SECRET": ""}, "SLACK_SIGNING_SECRET: is required unless SLACK_APP_TOKEN"),
    ({"SLACK_API_URL": "slack.example/api"}, "SLACK_API_URL: must be an http(s) URL"),
    ({"ACTIONS_TOKEN": "short-secret"}, "ACTIONS_TOKEN"),
])
def test_the_concierge_refuses_to_start_naming_the_variable(ports, logs, concierge_model, slack,
                                                            env, named):
    with pytest.raises(RuntimeError, match="exited") as failed:
        start_concierge(free_port(ports), concierge_model, logs, slack.url,
                        "http://127.0.0.1:9", extra_env=env)
    assert named in str(failed.value)
    assert SIGNING_SECRET not in str(failed.value) and "short-secret" not in str(failed.value)
