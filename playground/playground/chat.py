"""What a person's typing and clicks become: a message in the channel, and the Events API or
interactivity request Slack would send the concierge for it.

A DM with the concierge sends a `message` event (`channel_type: im`); a message in #general that
mentions @concierge sends an `app_mention` event (the app subscribes to nothing else there).
The text is escaped (`&`, `<`, `>`) and `@handle` becomes `<@USERID>` first, as Slack's client
does. When the concierge cannot take the
request, a note in the channel says so: nothing is silently lost.
"""

from __future__ import annotations

import re
from typing import Any, Dict

from .concierge import Concierge, DeliveryError
from .slack_protocol import block_actions, escape, message_event
from .workspace import GENERAL, Message, Person, Workspace, WorkspaceError

MAX_TYPED = 4_000
_MENTION = re.compile(r"(?<![\w<])@([A-Za-z0-9._-]+)")


def say(ws: Workspace, concierge: Concierge, person: Person, channel: str, text: str) -> None:
    """Posts `text` as `person` in `channel` and tells the concierge when Slack would.

    Raises:
        WorkspaceError: empty or too long text, or an unknown channel.
    """
    text = text.strip()
    if not text:
        raise WorkspaceError("invalid_text", "Type a message first.")
    if len(text) > MAX_TYPED:
        raise WorkspaceError("invalid_text", (
            f"That message has {len(text):,} characters: at most {MAX_TYPED:,} can be sent. "
            "Nothing was sent; it is still in the box to shorten."))
    slack_text = with_mentions(ws, escape(text))
    message = ws.post(channel, person.user_id, slack_text)
    envelope = _envelope(ws, person, message)
    if envelope is not None:
        _deliver(ws, message.channel, lambda: concierge.send_event(envelope))


def click(ws: Workspace, concierge: Concierge, person: Person, channel: str, ts: str,
          block_id: str, action_id: str) -> None:
    """Clicks button `action_id` of block `block_id` of message `ts` as `person`: the payload
    names the button as Slack's does (`block_id`, `action_id`, `value`).

    Raises:
        WorkspaceError: no such message or button.
    """
    payload = interaction(ws, person, channel, ts, block_id, action_id)
    _deliver(ws, payload["channel"]["id"], lambda: concierge.send_interaction(payload))


def interaction(ws: Workspace, person: Person, channel: str, ts: str, block_id: str,
                action_id: str) -> Dict[str, Any]:
    """The `block_actions` payload Slack sends for that click.

    Raises:
        WorkspaceError: no such message or button.
    """
    message = ws.find(channel, ts)
    button = _button(message, block_id, action_id)
    payload = block_actions(ws.team_id, person.user_id, button["value"], message.channel,
                            message_ts=message.ts, action_id=action_id, block_id=block_id)
    payload["user"].update(username=person.handle, name=person.handle)
    payload["actions"][0]["text"] = button.get("text")
    # As Slack's: the message clicked, which the concierge updates to show the choice made.
    payload["message"].update(text=message.text, blocks=message.blocks)
    return payload


def with_mentions(ws: Workspace, text: str) -> str:
    """`@alice` → `<@UALICE>` for people of the workspace and the concierge."""
    def mention(match: re.Match) -> str:
        handle = match.group(1)
        if handle.lower() == ws.bot_name:
            return f"<@{ws.bot_user_id}>"
        person = ws.by_handle(handle)
        return f"<@{person.user_id}>" if person else match.group(0)

    return _MENTION.sub(mention, text)


def _envelope(ws: Workspace, person: Person, message: Message) -> Dict[str, Any] | None:
    if message.channel == person.dm:
        return message_event(ws.team_id, person.user_id, message.text, channel=message.channel,
                             ts=message.ts, bot_user_id=ws.bot_user_id)
    if message.channel == GENERAL and f"<@{ws.bot_user_id}>" in message.text:
        return message_event(ws.team_id, person.user_id, message.text, channel=GENERAL,
                             event_type="app_mention", ts=message.ts,
                             bot_user_id=ws.bot_user_id)
    return None


def _button(message: Message, block_id: str, action_id: str) -> Dict[str, Any]:
    for block in message.blocks:
        if block.get("block_id") != block_id:
            continue
        for element in block.get("elements") or []:
            if element.get("type") == "button" and element.get("action_id") == action_id:
                return element
    raise WorkspaceError("action_not_found", "That button is not on this message.")


def _deliver(ws: Workspace, channel: str, send) -> None:
    try:
        send()
    except DeliveryError as exc:
        ws.post(channel, ws.bot_user_id, str(exc), is_note=True)
