"""A local stand-in for Slack: the Web API the concierge and the broker call, and signed
Events API requests sent to the concierge (like slack-bolt's tests/mock_web_api_server).

`SlackApi` is a real HTTP server on 127.0.0.1. It answers `auth.test`, `users.info`,
`chat.postMessage`, `chat.update`, `conversations.open`, `chat.postEphemeral` and `files.info`
the way Slack does (HTTP 200 with `{"ok": false, "error": ...}` on failure), checks
`Authorization: Bearer <bot token>`, enforces Slack's Block Kit limits, and records every
call so tests can wait for them (polling with a deadline, never sleeping). Given a Socket Mode
stand-in (tests/support/slack_socket.py), it also answers `apps.connections.open`, which takes
the app-level token and no other. A file added with `add_file` is served at its
`url_private_download` to the bot token only (anyone else gets Slack's HTML login page).
Uploads go as slack_sdk's `files_upload_v2` makes them: `files.getUploadURLExternal` gives an
upload URL on this server (no token, as Slack's), the bytes are POSTed there, and
`files.completeUploadExternal` shares the file in a channel (`shared_files` lists them).

`send_event`/`send_interaction` sign requests like Slack: `X-Slack-Signature: v0=<HMAC-SHA256
of "v0:<timestamp>:<body>">` and `X-Slack-Request-Timestamp`. The protocol itself (signatures,
envelopes, Block Kit limits) is the product's, in playground/playground/slack_protocol.py: the
local workspace of `make run` speaks it too.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional

import requests

from playground.slack_protocol import (
    block_actions,
    event_body,
    file_share_event,
    interaction_body,
    message_error,
    message_event,
    sign,
)

__all__ = ["SlackApi", "SlackCall", "SlackUser", "block_actions", "file_share_event",
           "message_error",
           "message_event", "send_event", "send_interaction", "send_interaction_payload",
           "send_raw", "sign"]


@dataclass
class SlackCall:
    """One recorded Web API call: method name, parsed arguments and the token used."""

    method: str
    args: Dict[str, Any]
    token: Optional[str]
    ok: bool
    error: Optional[str] = None
    at: float = field(default_factory=time.monotonic)  # when it arrived (for latencies)


@dataclass
class SlackUser:
    """A user `users.info` knows about."""

    user_id: str
    team_id: str
    name: str
    display_name: str = ""


@dataclass
class SlackFile:
    """A file some user uploaded: `files.info` describes it, its URL serves `content`."""

    file_id: str
    user_id: str
    name: str
    mimetype: str
    content: bytes
    # The `size` files.info reports, when a test needs it to differ from the content's.
    reported_size: Optional[int] = None
    # An upload: the length announced, its title and the channel it was shared in.
    length: int = 0
    title: str = ""
    channel: Optional[str] = None


@dataclass
class SlackApi:
    """The Web API stand-in; use as a context manager or call start()/stop()."""

    bot_token: str = "xoxb-test-token"
    team_id: str = "T0TEST"
    bot_user_id: str = "U0CONCIERGE"
    port: int = 0
    calls: List[SlackCall] = field(default_factory=list)
    users: Dict[str, SlackUser] = field(default_factory=dict)
    # Seconds a Web API method takes to answer, to model a slow Slack (e.g. {"users.info": 2}).
    latency: Dict[str, float] = field(default_factory=dict)
    app_token: str = "xapp-1-A0CONCIERGE-test"
    socket_mode: Any = None  # a slack_socket.SocketModeServer
    files: Dict[str, SlackFile] = field(default_factory=dict)

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

    def add_file(self, user_id: str, name: str, content: bytes,
                 mimetype: str = "text/csv") -> Dict[str, Any]:
        """Stores a file `user_id` uploaded; returns its `files.info` object (what a
        `file_share` event carries)."""
        file = SlackFile(f"F{len(self.files) + 1:08d}", user_id, name, mimetype, content)
        self.files[file.file_id] = file
        return self.file_object(file)

    def file_object(self, file: SlackFile) -> Dict[str, Any]:
        """Slack's file object for `file`."""
        url = f"http://127.0.0.1:{self.port}/files-pri/{self.team_id}-{file.file_id}/{file.name}"
        return {"id": file.file_id, "name": file.name, "title": file.name,
                "mimetype": file.mimetype, "filetype": file.name.rsplit(".", 1)[-1],
                "size": len(file.content) if file.reported_size is None else file.reported_size,
                "user": file.user_id, "is_external": False,
                "url_private": url, "url_private_download": url + "?download=1"}

    def shared_files(self, channel: Optional[str] = None) -> List[SlackFile]:
        """Uploaded files that `files.completeUploadExternal` shared (in `channel`)."""
        with self._condition:
            return [f for f in self.files.values() if f.channel is not None
                    and (channel is None or f.channel == channel)]

    def receive_upload(self, path: str, data: bytes) -> bool:
        """Stores the bytes POSTed to an upload URL; False for an unknown or used URL."""
        file = self.files.get(path.rsplit("/", 1)[-1])
        ok = file is not None and file.user_id == self.bot_user_id and not file.content \
            and file.channel is None and len(data) == file.length
        self.record(SlackCall("upload", {"file": path.rsplit("/", 1)[-1], "bytes": len(data)},
                              None, ok=ok))
        if ok:
            file.content = data
        return ok

    def download(self, path: str, token: Optional[str]) -> Optional[SlackFile]:
        """The file at a `url_private_download` path for `token` (recorded as a
        `files.download` call), or None: unknown file or not the bot token."""
        file_id = path.split("/")[2].rsplit("-", 1)[-1] if path.count("/") >= 3 else ""
        ok = token == self.bot_token and file_id in self.files
        self.record(SlackCall("files.download", {"file": file_id}, token, ok=ok))
        return self.files[file_id] if ok else None

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
        if self.latency.get(method):
            time.sleep(self.latency[method])  # the modelled latency, not a synchronisation
        error = self._error_for(method, args, token)
        self.record(SlackCall(method, args, token, ok=error is None, error=error))
        if error:
            return {"ok": False, "error": error}
        return self._success(method, args)

    def _error_for(self, method: str, args: Dict[str, Any], token: Optional[str]) -> Optional[str]:
        if token is None:
            return "not_authed"
        if method == "apps.connections.open":
            if self.socket_mode is None or token.startswith("xoxb-"):
                return "not_allowed_token_type"
            return None if token == self.app_token else "invalid_auth"
        if token != self.bot_token:
            return "invalid_auth"
        if method == "users.info" and args.get("user") not in self.users:
            return "user_not_found"
        if method == "files.info" and args.get("file") not in self.files:
            return "file_not_found"
        if method == "files.getUploadURLExternal" and not (
                args.get("filename") and str(args.get("length", "")).isdigit()):
            return "invalid_arguments"
        if method == "files.completeUploadExternal":
            return self._completion_error(args)
        if method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
            return message_error(args)
        return None

    def _completion_error(self, args: Dict[str, Any]) -> Optional[str]:
        try:
            ids = [item["id"] for item in json.loads(args.get("files") or "[]")]
        except (ValueError, TypeError, KeyError):
            return "invalid_arguments"
        if not ids or not args.get("channel_id"):
            return "invalid_arguments"
        if any(i not in self.files or not self.files[i].content for i in ids):
            return "file_not_found"
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
        if method == "apps.connections.open":
            return {"ok": True, "url": self.socket_mode.issue_url()}
        if method == "files.info":
            return {"ok": True, "file": self.file_object(self.files[args["file"]])}
        if method == "files.getUploadURLExternal":
            file = SlackFile(f"F{len(self.files) + 1:08d}", self.bot_user_id,
                             str(args["filename"]), "application/octet-stream", b"",
                             length=int(args["length"]))
            self.files[file.file_id] = file
            return {"ok": True, "file_id": file.file_id,
                    "upload_url": f"http://127.0.0.1:{self.port}/upload/v1/{file.file_id}"}
        if method == "files.completeUploadExternal":
            shared = []
            for item in json.loads(args["files"]):
                file = self.files[item["id"]]
                file.title, file.channel = str(item.get("title") or file.name), args["channel_id"]
                shared.append({**self.file_object(file), "title": file.title})
            return {"ok": True, "files": shared}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(args.get("users", "X"))[1:]}}
        ts = f"{int(time.time())}.{next(self._ts):06d}"
        return {"ok": True, "channel": args.get("channel"), "ts": ts,
                "message": {"text": args.get("text"), "ts": ts}}


def _handler_for(api: SlackApi) -> type:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            path = urllib.parse.urlsplit(self.path).path
            if path.startswith("/files-pri/"):
                return self._file(api.download(path, _bearer(self.headers)))
            self._serve(urllib.parse.urlsplit(self.path).query)

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            data = self.rfile.read(length)
            if self.path.startswith("/upload/v1/"):
                ok = api.receive_upload(urllib.parse.urlsplit(self.path).path, data)
                return self._send(200 if ok else 404, b"OK" if ok else b"", "text/plain")
            self._serve(data.decode(), self.headers.get("Content-Type"))

        def _serve(self, raw: str, content_type: Optional[str] = None) -> None:
            path = urllib.parse.urlsplit(self.path).path
            method = path.rsplit("/", 1)[-1]
            if not path.startswith("/api/"):
                return self._reply(404, {"ok": False, "error": "unknown_method"})
            args = _parse_args(raw, content_type)
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
            self._reply(200, api.answer(method, {**query, **args}, _bearer(self.headers)))

        def _file(self, file: Optional[SlackFile]) -> None:
            # Slack answers a request it cannot authorise with its login page, not an error.
            if file is None:
                return self._send(200, b"<html>Sign in to Slack</html>", "text/html")
            self._send(200, file.content, file.mimetype)

        def _reply(self, status: int, body: Dict[str, Any]) -> None:
            self._send(status, json.dumps(body).encode(), "application/json; charset=utf-8")

        def _send(self, status: int, data: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
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

def send_event(url: str, secret: str, payload: Dict[str, Any], *,
               timestamp: Optional[int] = None, signature: Optional[str] = None,
               retry_num: Optional[int] = None, retry_reason: str = "http_timeout",
               content_type: str = "application/json", timeout: float = 10.0
               ) -> requests.Response:
    """POSTs a signed JSON Events API request, as Slack does (and as Slack retries)."""
    body = event_body(payload)
    return _send(url, secret, body, content_type, timestamp, signature, timeout,
                 _retry_headers(retry_num, retry_reason))


def send_interaction(url: str, secret: str, team_id: str, user_id: str, value: str,
                     channel: str = "D0DM", timeout: float = 10.0) -> requests.Response:
    """POSTs a signed button click (`block_actions`, form-encoded `payload=`)."""
    return send_interaction_payload(url, secret, block_actions(team_id, user_id, value, channel),
                                    timeout)


def send_interaction_payload(url: str, secret: str, payload: Dict[str, Any],
                             timeout: float = 10.0) -> requests.Response:
    """POSTs a signed interaction `payload` (to send the same click twice)."""
    body = interaction_body(payload)
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
