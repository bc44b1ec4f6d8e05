"""The Slack Web API stand-in: the methods the concierge and the broker call, on the workspace.

`POST|GET /api/<method>` answers as Slack does: HTTP 200 with `{"ok": true, ...}`, or
`{"ok": false, "error": "<code>"}`. Every call needs `Authorization: Bearer <SLACK_BOT_TOKEN>`
(`not_authed` without one, `invalid_auth` with another). Arguments come as a query string, a
form or JSON, as slack_sdk sends them.

Uploads follow Slack's external upload flow (slack_sdk's `files_upload_v2`):
`files.getUploadURLExternal` answers an upload URL that carries a secret of its own (Slack's
take no token either), the bytes are POSTed there, and `files.completeUploadExternal` shares
the file in a channel, where the page offers it for download.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any, Callable, Dict

from flask import Blueprint, current_app, jsonify, request

from .slack_protocol import message_error, parse_blocks, with_ids
from .workspace import Workspace, WorkspaceError

logger = logging.getLogger(__name__)
bp = Blueprint("web_api", __name__, url_prefix="/api")

Answer = Dict[str, Any]


@bp.route("/<method>", methods=["GET", "POST"])
def call(method: str):
    error = _auth_error()
    if error:
        return jsonify({"ok": False, "error": error})
    handler = METHODS.get(method)
    if handler is None:
        return jsonify({"ok": False, "error": "unknown_method"}), 404
    try:
        return jsonify({"ok": True, **handler(_workspace(), _args())})
    except WorkspaceError as exc:
        logger.info("%s refused: %s", method, exc.code)
        return jsonify({"ok": False, "error": exc.code})


@bp.post("/upload/<file_id>")
def upload(file_id: str):
    """An upload URL: the bytes of a file announced by `files.getUploadURLExternal`. Its secret
    is in the query string, which the access log leaves out (logs.py), not in the path."""
    secret = request.args.get("secret", "")
    length = _workspace().upload_length(file_id, secret)
    if length is None:  # nothing of the body is read for a URL that is not a waiting upload's
        return "unknown or used upload URL", 404
    if request.content_length not in (None, length):
        return f"this upload URL takes {length} bytes", 413
    data = request.stream.read(length + 1)  # a chunked body: no more than what is announced
    if not _workspace().receive_upload(file_id, secret, data):
        return f"this upload URL takes {length} bytes", 413
    return f"OK - {len(data)}", 200


def _auth_error() -> str | None:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        return "not_authed"
    expected = current_app.config["SETTINGS"].SLACK_BOT_TOKEN
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return "invalid_auth"
    return None


def _args() -> Dict[str, Any]:
    args: Dict[str, Any] = dict(request.args)
    args.update(request.form)
    if request.is_json:
        body = request.get_json(silent=True)
        if isinstance(body, dict):
            args.update(body)
    return args


def _workspace() -> Workspace:
    return current_app.extensions["workspace"]


def auth_test(ws: Workspace, _: Answer) -> Answer:
    return {"url": "http://127.0.0.1/", "team": "Playground", "user": ws.bot_name,
            "team_id": ws.team_id, "user_id": ws.bot_user_id, "bot_id": "B0CONCIERGE"}


def users_info(ws: Workspace, args: Answer) -> Answer:
    person = ws.person(str(args.get("user", "")))
    return {"user": {"id": person.user_id, "team_id": ws.team_id, "name": person.handle,
                     "real_name": person.display_name,
                     "profile": {"display_name": person.display_name,
                                 "real_name": person.display_name}}}


def conversations_open(ws: Workspace, args: Answer) -> Answer:
    users = [u for u in str(args.get("users", "")).split(",") if u]
    if len(users) != 1:
        raise WorkspaceError("not_implemented", "Only DMs with one person are supported.")
    return {"channel": {"id": ws.person(users[0]).dm}}


def post_message(ws: Workspace, args: Answer) -> Answer:
    text, blocks = _checked_message(args)
    thread_ts = str(args.get("thread_ts") or "") or None
    message = ws.post(str(args["channel"]), ws.bot_user_id, text, blocks, thread_ts=thread_ts)
    return {"channel": message.channel, "ts": message.ts,
            "message": {"text": text, "ts": message.ts, "user": ws.bot_user_id,
                        "blocks": message.blocks}}


def post_ephemeral(ws: Workspace, args: Answer) -> Answer:
    text, blocks = _checked_message(args)
    person = ws.person(str(args.get("user", "")))
    message = ws.post(str(args["channel"]), ws.bot_user_id, text, blocks,
                      ephemeral_for=person.user_id)
    return {"message_ts": message.ts}


def update(ws: Workspace, args: Answer) -> Answer:
    text, blocks = _checked_message(args)
    message = ws.update(str(args["channel"]), str(args.get("ts", "")), text, blocks)
    return {"channel": message.channel, "ts": message.ts, "text": text}


def get_upload_url(ws: Workspace, args: Answer) -> Answer:
    length = str(args.get("length") or "")
    upload = ws.start_upload(str(args.get("filename") or ""),
                             int(length) if length.isdigit() else 0)
    return {"file_id": upload.file_id,
            "upload_url": f"{request.host_url}api/upload/{upload.file_id}?secret={upload.secret}"}


def complete_upload(ws: Workspace, args: Answer) -> Answer:
    try:
        files = json.loads(args.get("files") or "[]")
        titles = {str(item["id"]): str(item.get("title") or "") for item in files}
    except (ValueError, TypeError, KeyError, AttributeError):
        raise WorkspaceError("invalid_arguments",
                             "files must be a JSON list of {id, title}.") from None
    channel = str(args.get("channel_id") or "")
    if not channel:
        raise WorkspaceError("invalid_arguments", "channel_id is required.")
    message = ws.share_uploads(titles, channel, ws.bot_user_id)
    return {"files": [{"id": f.file_id, "name": f.name, "title": f.title, "size": f.length}
                      for f in message.files]}


def _checked_message(args: Answer) -> tuple[str, list]:
    error = message_error(args)
    if error:
        raise WorkspaceError(error, f"Slack would refuse this message: {error}")
    return str(args.get("text") or ""), with_ids(parse_blocks(args.get("blocks")) or [])


METHODS: Dict[str, Callable[[Workspace, Answer], Answer]] = {
    "auth.test": auth_test,
    "users.info": users_info,
    "conversations.open": conversations_open,
    "chat.postMessage": post_message,
    "chat.postEphemeral": post_ephemeral,
    "chat.update": update,
    "files.getUploadURLExternal": get_upload_url,
    "files.completeUploadExternal": complete_upload,
}
