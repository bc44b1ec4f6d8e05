"""Slack's wire protocol as the concierge sees it, for the playground and the tests' stand-in.

- Signed requests: `X-Slack-Signature: v0=<HMAC-SHA256 of "v0:<timestamp>:<body>">` with
  `X-Slack-Request-Timestamp`, on Events API bodies (JSON) and interactivity payloads
  (form-encoded `payload=<JSON>`).
- Envelopes: an `event_callback` for a message (a file share too) or an `app_mention`, and a
  `block_actions` payload for a button click, shaped as Slack sends them.
- Block Kit limits: what `chat.postMessage` refuses, and with which error.

Standard library only, Python 3.10: the Rasa environment's tests import it too.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import time
import urllib.parse
from typing import Any, Dict, List, Optional

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3_000
MAX_ACTION_ELEMENTS = 25
MAX_TEXT = 40_000

_event_ids = itertools.count(1)
_trigger_ids = itertools.count(1)


def escape(text: str) -> str:
    """Text as Slack's client sends what a person typed: `&`, `<` and `>` as `&amp;`, `&lt;`
    and `&gt;`, so that only Slack's own `<...>` tokens (mentions) are markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's v0 request signature."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, content_type: str,
                   timestamp: Optional[int] = None) -> Dict[str, str]:
    """The headers Slack sends with `body`: content type, timestamp and signature."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": sign(secret, stamp, body)}


def message_event(team_id: str, user_id: str, text: str, channel: str = "D0DM",
                  channel_type: str = "im", event_type: str = "message",
                  ts: Optional[str] = None, event_id: Optional[str] = None,
                  bot_user_id: str = "U0CONCIERGE") -> Dict[str, Any]:
    """An Events API `event_callback` envelope for a user's message (or `app_mention`)."""
    ts = ts or f"{time.time():.6f}"
    event = {"type": event_type, "user": user_id, "text": text, "ts": ts, "channel": channel,
             "team": team_id, "event_ts": ts}
    if event_type == "message":
        event["channel_type"] = channel_type
    return {"token": "legacy", "team_id": team_id, "api_app_id": "A0CONCIERGE",
            "type": "event_callback", "event": event,
            "event_id": event_id or f"Ev{next(_event_ids):08d}", "event_time": int(time.time()),
            "authorizations": [{"team_id": team_id, "user_id": bot_user_id, "is_bot": True}]}


def file_share_event(team_id: str, user_id: str, file: Dict[str, Any],
                     channel: str = "D0DM") -> Dict[str, Any]:
    """A `message` event of subtype `file_share`: `user_id` shared `file` (a `files.info`
    file object) in a DM, with no comment."""
    envelope = message_event(team_id, user_id, "", channel=channel)
    envelope["event"].update({"subtype": "file_share", "upload": False, "files": [file]})
    return envelope


def block_actions(team_id: str, user_id: str, value: str, channel: str = "D0DM",
                  message_ts: Optional[str] = None, action_id: str = "choice_0",
                  block_id: str = "b0") -> Dict[str, Any]:
    """A button click's `block_actions` payload, with a fresh `trigger_id` and `action_ts`."""
    now = f"{time.time():.6f}"
    return {"type": "block_actions", "team": {"id": team_id},
            "user": {"id": user_id, "team_id": team_id}, "channel": {"id": channel},
            "trigger_id": f"{next(_trigger_ids)}.{team_id}.{now}",
            "message": {"ts": message_ts or now},
            "actions": [{"type": "button", "block_id": block_id, "action_id": action_id,
                         "value": value, "action_ts": now}]}


def event_body(payload: Dict[str, Any]) -> bytes:
    """The JSON body of an Events API request."""
    return json.dumps(payload).encode()


def interaction_body(payload: Dict[str, Any]) -> bytes:
    """The form body of an interactivity request: `payload=<JSON>`."""
    return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()


def message_error(args: Dict[str, Any]) -> Optional[str]:
    """Slack's error for a message breaking its limits, else None."""
    if not args.get("channel"):
        return "channel_not_found"
    blocks = parse_blocks(args.get("blocks"))
    if blocks is None:
        return "invalid_blocks_format"
    if not args.get("text") and not blocks:
        return "no_text"
    if len(str(args.get("text") or "")) > MAX_TEXT:
        return "msg_too_long"
    return _blocks_error(blocks)


def parse_blocks(blocks: Any) -> Optional[List[Dict[str, Any]]]:
    """A message's blocks, given as a list or as the JSON text of one; None if malformed."""
    if blocks in (None, ""):
        return []
    if isinstance(blocks, str):
        try:
            blocks = json.loads(blocks)
        except ValueError:
            return None
    if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
        return None
    return blocks


def _blocks_error(blocks: List[Dict[str, Any]]) -> Optional[str]:
    if len(blocks) > MAX_BLOCKS:
        return "invalid_blocks"
    for block in blocks:
        text = (block.get("text") or {}).get("text", "")
        if block.get("type") == "section" and not 0 < len(text) <= MAX_SECTION_TEXT:
            return "invalid_blocks"
        if block.get("type") == "actions" and not 0 < len(block.get("elements") or []) <= (
                MAX_ACTION_ELEMENTS):
            return "invalid_blocks"
    return None


def with_ids(blocks: list) -> list:
    """Slack gives each block without a `block_id`, and each interactive element without an
    `action_id` (Rasa's buttons have none), one of its own; a click names the element by both
    (the rows of a list may repeat the same action ids: only the block tells them apart)."""
    for block_index, block in enumerate(blocks):
        if isinstance(block, dict) and not block.get("block_id"):
            block["block_id"] = secrets.token_urlsafe(4)
        for index, element in enumerate(block.get("elements") or []):
            if isinstance(element, dict) and not element.get("action_id"):
                element["action_id"] = f"auto_{block_index}_{index}"
    return blocks
