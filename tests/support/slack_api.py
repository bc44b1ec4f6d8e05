"""A local stand-in for Slack: the Web API the concierge and the broker call, and signed
Events API requests sent to the concierge (like slack-bolt's tests/mock_web_api_server).

`SlackApi` is a real HTTP server on 127.0.0.1. It answers `auth.test`, `users.info`,
`chat.postMessage`, `chat.update`, `conversations.open` and `chat.postEphemeral` the way Slack
does (HTTP 200 with `{"ok": false, "error": ...}` on failure), checks
`Authorization: Bearer <bot token>`, enforces Slack's Block Kit limits, and records every
call so tests can wait for them (polling with a deadline, never sleeping).

`send_event`/`send_interaction` sign requests like Slack: `X-Slack-Signature: v0=<HMAC-SHA256
of "v0:<timestamp>:<body>">` and `X-Slack-Request-Timestamp`.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional

import requests

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3_000
MAX_ACTION_ELEMENTS = 25
MAX_TEXT = 40_000


@dataclass
class SlackCall:
    """One recorded Web API call: method name, parsed arguments and the token used."""

    method: str
    args: Dict[str, Any]
    token: Optional[str]
    ok: bool
    error: Optional[str] = None


@dataclass
class SlackUser:
    """A user `users.info` knows about."""

    user_id: str
    team_id: str
    name: str
    display_name: str = ""


@dataclass
class SlackApi:
    """The Web API stand-in; use as a context manager or call start()/stop()."""

    bot_token: str = "xoxb-test-token"
    team_id: str = "T0TEST"
    bot_user_id: str = "U0CONCIERGE"
    port: int = 0
    calls: List[SlackCall] = field(default_factory=list)
    users: Dict[str, SlackUser] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._condition = threading.Condition()
        self._ts = itertools.count(1)
        self._server: Optional[ThreadingHTTPServer] = None

    @property
    def url(self) -> str:
        """The Web API base URL to put in SLACK_API_URL (ends with `/api/`)."""
        return f"http://127.0.0.1:{self.port}/api/"

    def add_user(self, user_id: str, name: str, display_name: str = "") -> None:
        """Makes `users.info` know a user of this team."""
        self.users[user_id] = SlackUser(user_id, self.team_id, name, display_name)

    def start(self) -> SlackApi:
        """Starts serving in a daemon thread."""
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler_for(self))
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stops the server."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> SlackApi:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def reset(self) -> None:
        """Forgets recorded calls."""
        with self._condition:
            self.calls.clear()

    def posts(self, channel: Optional[str] = None) -> List[SlackCall]:
        """Successful `chat.postMessage` calls, optionally to one channel."""
        with self._condition:
            return [c for c in self.calls if c.method == "chat.postMessage" and c.ok
                    and (channel is None or c.args.get("channel") == channel)]

    def wait_for(self, predicate: Callable[[List[SlackCall]], bool],
                 timeout: float = 10.0) -> List[SlackCall]:
        """Waits until `predicate(calls)` holds; returns the calls. Raises TimeoutError."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while not predicate(self.calls):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"Slack calls so far: {self.calls}")
                self._condition.wait(remaining)
            return list(self.calls)

    def wait_for_posts(self, count: int, channel: Optional[str] = None,
                       timeout: float = 10.0) -> List[SlackCall]:
        """Waits for at least `count` posts (to `channel`); returns them."""
        self.wait_for(lambda _: len(self.posts(channel)) >= count, timeout)
        return self.posts(channel)

    def record(self, call: SlackCall) -> None:
        """Stores a call and wakes waiters."""
        with self._condition:
            self.calls.append(call)
            self._condition.notify_all()

    def answer(self, method: str, args: Dict[str, Any], token: Optional[str]) -> Dict[str, Any]:
        """Slack's answer to one call (also records it)."""
        error = self._error_for(method, args, token)
        self.record(SlackCall(method, args, token, ok=error is None, error=error))
        if error:
            return {"ok": False, "error": error}
        return self._success(method, args)

    def _error_for(self, method: str, args: Dict[str, Any], token: Optional[str]) -> Optional[str]:
        if token is None:
            return "not_authed"
        if token != self.bot_token:
            return "invalid_auth"
        if method == "users.info" and args.get("user") not in self.users:
            return "user_not_found"
        if method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
            return message_error(args)
        return None

    def _success(self, method: str, args: Dict[str, Any]) -> Dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "url": "https://test.slack.com/", "team": "Test",
                    "user": "concierge", "team_id": self.team_id, "user_id": self.bot_user_id,
                    "bot_id": "B0CONCIERGE"}
        if method == "users.info":
            user = self.users[args["user"]]
            return {"ok": True, "user": {
                "id": user.user_id, "team_id": user.team_id, "name": user.name,
                "real_name": user.name,
                "profile": {"display_name": user.display_name, "real_name": user.name}}}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(args.get("users", "X"))[1:]}}
        ts = f"{int(time.time())}.{next(self._ts):06d}"
        return {"ok": True, "channel": args.get("channel"), "ts": ts,
                "message": {"text": args.get("text"), "ts": ts}}


def message_error(args: Dict[str, Any]) -> Optional[str]:
    """Slack's error for a message breaking its limits, else None."""
    if not args.get("channel"):
        return "channel_not_found"
    blocks = args.get("blocks")
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    if not args.get("text") and not blocks:
        return "no_text"
    if len(str(args.get("text") or "")) > MAX_TEXT:
        return "msg_too_long"
    return _blocks_error(blocks or [])


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


def _handler_for(api: SlackApi) -> type:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self._serve(urllib.parse.urlsplit(self.path).query)

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            self._serve(self.rfile.read(length).decode(), self.headers.get("Content-Type"))

        def _serve(self, raw: str, content_type: Optional[str] = None) -> None:
            path = urllib.parse.urlsplit(self.path).path
            method = path.rsplit("/", 1)[-1]
            if not path.startswith("/api/"):
                return self._reply(404, {"ok": False, "error": "unknown_method"})
            args = _parse_args(raw, content_type)
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
            self._reply(200, api.answer(method, {**query, **args}, _bearer(self.headers)))

        def _reply(self, status: int, body: Dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            """Quiet: the recorded calls are the log."""

    return Handler


def _parse_args(raw: str, content_type: Optional[str]) -> Dict[str, Any]:
    if (content_type or "").startswith("application/json"):
        return json.loads(raw or "{}")
    return dict(urllib.parse.parse_qsl(raw))


def _bearer(headers: Any) -> Optional[str]:
    value = headers.get("Authorization") or ""
    return value[len("Bearer "):] if value.startswith("Bearer ") else None


# --- the Events API side: signed requests to the concierge -------------------------------

def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's v0 request signature."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


_event_ids = itertools.count(1)


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


def send_event(url: str, secret: str, payload: Dict[str, Any], *,
               timestamp: Optional[int] = None, signature: Optional[str] = None,
               retry_num: Optional[int] = None, retry_reason: str = "http_timeout",
               content_type: str = "application/json", timeout: float = 10.0
               ) -> requests.Response:
    """POSTs a signed JSON Events API request, as Slack does (and as Slack retries)."""
    body = json.dumps(payload).encode()
    return _send(url, secret, body, content_type, timestamp, signature, timeout,
                 _retry_headers(retry_num, retry_reason))


_trigger_ids = itertools.count(1)


def block_actions(team_id: str, user_id: str, value: str,
                  channel: str = "D0DM") -> Dict[str, Any]:
    """A button click's `block_actions` payload, with a fresh `trigger_id` and `action_ts`."""
    now = f"{time.time():.6f}"
    return {"type": "block_actions", "team": {"id": team_id},
            "user": {"id": user_id, "team_id": team_id}, "channel": {"id": channel},
            "trigger_id": f"{next(_trigger_ids)}.{team_id}.{now}", "message": {"ts": now},
            "actions": [{"type": "button", "action_id": "choice_0", "value": value,
                         "action_ts": now}]}


def send_interaction(url: str, secret: str, team_id: str, user_id: str, value: str,
                     channel: str = "D0DM", timeout: float = 10.0) -> requests.Response:
    """POSTs a signed button click (`block_actions`, form-encoded `payload=`)."""
    return send_interaction_payload(url, secret, block_actions(team_id, user_id, value, channel),
                                    timeout)


def send_interaction_payload(url: str, secret: str, payload: Dict[str, Any],
                             timeout: float = 10.0) -> requests.Response:
    """POSTs a signed interaction `payload` (to send the same click twice)."""
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    return _send(url, secret, body, "application/x-www-form-urlencoded", None, None, timeout, {})


def send_raw(url: str, secret: str, body: bytes, content_type: str = "application/json",
             timeout: float = 10.0) -> requests.Response:
    """POSTs `body` as it is, signed as Slack signs it."""
    return _send(url, secret, body, content_type, None, None, timeout, {})


def _retry_headers(retry_num: Optional[int], reason: str) -> Dict[str, str]:
    if retry_num is None:
        return {}
    return {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": reason}


def _send(url: str, secret: str, body: bytes, content_type: str, timestamp: Optional[int],
          signature: Optional[str], timeout: float, extra: Dict[str, str]) -> requests.Response:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": stamp,
               "X-Slack-Signature": signature or sign(secret, stamp, body), **extra}
    return requests.post(url, data=body, headers=headers, timeout=timeout)
