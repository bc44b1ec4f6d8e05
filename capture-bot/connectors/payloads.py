"""What the concierge reads of Slack's requests: the body by its media type, and the sender,
channel, thread and shared file of an event or a click (metadata for Rasa's UserMessage)."""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Dict, Optional

from sanic.request import Request

# A file shared in the DM becomes this message: the actions import it (actions/file_import.py).
IMPORT_FILE_INTENT = '/import_file{"file_id": "%s"}'
SLACK_FILE_ID = re.compile(r"^F[A-Z0-9]{1,31}$")


def unescape(text: str) -> str:
    """What the user typed: Slack sends `&`, `<` and `>` as `&amp;`, `&lt;` and `&gt;`
    (everything shown back is escaped again, by the actions)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def media_type(content_type: Optional[str]) -> str:
    """The media type of a Content-Type header, without its parameters (charset...)."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def _json_body(request: Request) -> Dict[str, Any]:
    """An Events API body. Raises ValueError unless it is a JSON object."""
    body = json.loads(request.body)
    if not isinstance(body, dict):
        raise ValueError("not a JSON object")
    return body


def _form_payload(request: Request) -> Dict[str, Any]:
    """An interaction's `payload` form field. Raises ValueError unless it is a JSON object."""
    payload = json.loads(request.form.get("payload") or "")
    if not isinstance(payload, dict):
        raise ValueError("not a JSON object")
    return payload


# Events come as JSON, clicks as a form; each parser raises ValueError (or TypeError,
# AttributeError) for a body that is not what Slack sends.
PARSERS: Dict[str, Callable[[Request], Dict[str, Any]]] = {
    "application/json": _json_body,
    "application/x-www-form-urlencoded": _form_payload,
}


def team_of(body: Dict[str, Any]) -> str:
    """The Slack team of an event's sender."""
    event = body.get("event") or {}
    return event.get("user_team") or event.get("team") or body.get("team_id") or ""


def event_metadata(body: Dict[str, Any]) -> Dict[str, Any]:
    """Where an Events API event came from and where to answer it."""
    event = body.get("event") or {}
    users = list(body.get("authed_users") or [])
    if not users and body.get("authorizations"):
        users.append(body["authorizations"][0].get("user_id"))
    dm = event.get("channel_type") == "im" or is_dm(event.get("channel"))
    return {
        "out_channel": event.get("channel"),
        "thread_id": None if dm else event.get("thread_ts", event.get("ts")),
        "users": users,
        "team_id": team_of(body),
        "user_id": event.get("user", ""),
        "channel_type": event.get("channel_type"),
    }


def shared_file_id(body: Dict[str, Any]) -> Optional[str]:
    """The id of the (first) file a user shared in a DM with the concierge, else None."""
    event = body.get("event") or {}
    files = event.get("files") or [{}]
    file_id = files[0].get("id") if isinstance(files[0], dict) else None
    if (event.get("type") == "message" and event.get("subtype") == "file_share"
            and event.get("channel_type") == "im" and not event.get("bot_id")
            and isinstance(file_id, str) and SLACK_FILE_ID.match(file_id)):
        return file_id
    return None


def interaction_metadata(payload: Dict[str, Any]) -> Dict[str, Any]:
    """Where a click came from and where to answer it."""
    user = payload.get("user") or {}
    message = payload.get("message") or {}
    channel = (payload.get("channel") or {}).get("id")
    return {
        "out_channel": channel,
        "thread_id": None if is_dm(channel) else message.get("thread_ts", message.get("ts")),
        "users": [user.get("id")] if user.get("id") else [],
        "team_id": user.get("team_id") or (payload.get("team") or {}).get("id", ""),
        "user_id": user.get("id", ""),
    }


def is_dm(channel: Optional[str]) -> bool:
    """Slack's ids of direct-message channels start with D."""
    return str(channel or "").startswith("D")


def chosen(payload: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """How the clicked message reads once its choice is made, as Slack apps show it: the
    arguments of `chat.update` (channel, ts, text, blocks), with the row of buttons that was
    clicked replaced by what was chosen ("✔ Publish all topics"). None when the payload does
    not carry the message (an ephemeral one, say): it is then left as it is."""
    message, channel = payload.get("message"), payload.get("channel")
    actions = payload.get("actions")
    if not (isinstance(message, dict) and isinstance(channel, dict) and isinstance(actions, list)
            and actions and isinstance(actions[0], dict)):
        return None
    blocks, clicked = message.get("blocks"), actions[0]
    if not (isinstance(blocks, list) and message.get("ts") and channel.get("id")):
        return None
    title = ((clicked.get("text") or {}).get("text") if isinstance(clicked.get("text"), dict)
             else None) or "Done"
    row = next((i for i, block in enumerate(blocks) if _holds(block, clicked)), None)
    if row is None:
        return None
    done = {"type": "context", "elements": [{"type": "mrkdwn", "text": f"✔ {_escaped(title)}"}]}
    return {"channel": channel["id"], "ts": message["ts"], "text": str(message.get("text") or ""),
            "blocks": [*blocks[:row], done, *blocks[row + 1:]]}


def _holds(block: Any, clicked: Dict[str, Any]) -> bool:
    if not isinstance(block, dict) or block.get("type") != "actions":
        return False
    if clicked.get("block_id") and block.get("block_id"):
        return block["block_id"] == clicked["block_id"]
    return any(isinstance(e, dict) and e.get("action_id") == clicked.get("action_id")
               and e.get("value") == clicked.get("value") for e in block.get("elements") or [])


def _escaped(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
