"""The action server: rasa-sdk's app, answering only requests that carry ACTIONS_TOKEN.

rasa-sdk 3.6 has no authentication: anything that can reach port 5055 could run any action as
any Slack user (the user ids travel in the request). The concierge sends
`Authorization: Bearer <ACTIONS_TOKEN>` (the `headers` of its action endpoint, endpoints.yml);
every other request gets 401. /health stays open for health checks.

    ACTIONS_TOKEN=... API_TOKEN=... python -m actions.server --actions actions --port 5055

It takes rasa-sdk's command-line options (`python -m rasa_sdk --help`) and, like rasa-sdk,
listens on SANIC_HOST (default 0.0.0.0).
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import zlib
from typing import Awaitable, Callable, List, Optional

from rasa_sdk import utils
from sanic import Sanic, response
from sanic.exceptions import PayloadTooLarge
from sanic.request import Request
from sanic.response import HTTPResponse

from actions import logs, shared
from actions.settings import SettingsError

logger = logging.getLogger(__name__)

OPEN_PATHS = frozenset({"/health"})
# The largest action call taken, compressed or not: the tracker Rasa sends with every call grows
# with the conversation (~1-2 KB a turn), far below this; Sanic's own default is 100 MB.
MAX_BODY_BYTES = 2 * 1024 * 1024

Middleware = Callable[[Request], Awaitable[Optional[HTTPResponse]]]


def create_app(token: str, actions_package: str = "actions") -> Sanic:
    """rasa-sdk's app for `actions_package`, refusing requests without `token` (401)."""
    from rasa_sdk import endpoint

    # No CORS at all: only the concierge calls this server, never a browser. rasa-sdk always
    # installs Sanic-CORS, whose answer to OPTIONS came before the token check (and made Sanic
    # log an ERROR for each): without it, an OPTIONS request is refused like any other.
    with_cors, endpoint.configure_cors = endpoint.configure_cors, _no_cors
    try:
        app = endpoint.create_app(actions_package)
    finally:
        endpoint.configure_cors = with_cors
    app.register_listener(_cap_body_size, "before_server_start")
    logs.log_requests(app)
    app.register_middleware(token_check(token), "request")
    app.register_middleware(action_call_check, "request")
    return app


def _no_cors(_app: Sanic, _origins: object = None) -> None:
    return None


async def _cap_body_size(app: Sanic, _loop: object) -> None:
    # Read when the server starts: Sanic answers 413 to a larger body before reading it.
    app.config.REQUEST_MAX_SIZE = MAX_BODY_BYTES


async def action_call_check(request: Request) -> Optional[HTTPResponse]:
    """400 for an action call that is not a JSON object (rasa-sdk answered 500 to an array,
    naming it), 413 for one that inflates past MAX_BODY_BYTES; nothing of the body is echoed."""
    if request.path != "/webhook" or request.method != "POST":
        return None
    try:
        await request.receive_body()  # request middleware runs before Sanic has read all of it
    except PayloadTooLarge:
        return response.json({"error": "the action call is too large"}, status=413)
    body = request.body or b""
    if request.headers.get("Content-Encoding") == "deflate":
        inflater = zlib.decompressobj()
        try:
            body = inflater.decompress(body, MAX_BODY_BYTES + 1)
        except zlib.error:
            return response.json({"error": "the body is not deflate data"}, status=400)
        if len(body) > MAX_BODY_BYTES or inflater.unconsumed_tail:
            return response.json({"error": "the action call is too large"}, status=413)
    try:
        call = json.loads(body)
    except ValueError:
        call = None
    if not isinstance(call, dict):
        return response.json({"error": "the body must be a JSON object: an action call"},
                             status=400)
    return None


def token_check(token: str) -> Middleware:
    """A request middleware that answers 401 unless `Authorization: Bearer <token>`."""
    expected = token.encode()

    async def require_token(request: Request) -> Optional[HTTPResponse]:
        if request.path in OPEN_PATHS:
            return None
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        # Constant-time comparison, so response timing says nothing about the token.
        if scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), expected):
            return None
        logger.warning("Refused %s %s: missing or wrong ACTIONS_TOKEN",
                       request.method, request.path)
        return response.json({"error": "missing or wrong bearer token"}, status=401)

    return require_token


def main(argv: Optional[List[str]] = None) -> None:
    """Validates the settings, then serves until stopped.

    Raises:
        SystemExit: a setting is missing or invalid (the message names the variable).
    """
    # Before rasa-sdk's endpoint (and Sanic-CORS, which it imports) is: see logs.py.
    logs.ignore_deprecations()
    from rasa_sdk.endpoint import create_argument_parser, create_ssl_context

    args = create_argument_parser().parse_args(argv)
    try:
        # At start, not at the first action: a bad variable stops the server before its
        # health check can pass.
        token = shared.settings().ACTIONS_TOKEN
    except SettingsError as error:
        raise SystemExit(f"capture-actions: {error}") from None
    logs.configure(args.loglevel or logging.INFO)  # rasa-sdk's -v, -vv and --quiet
    app = create_app(token, args.actions or "actions")
    ssl = create_ssl_context(args.ssl_certificate, args.ssl_keyfile, args.ssl_password)
    host = os.environ.get("SANIC_HOST", "0.0.0.0")
    logger.info("Action server on %s:%d, requests need ACTIONS_TOKEN", host, args.port)
    app.run(host, args.port, ssl=ssl, workers=utils.number_of_sanic_workers(), access_log=False)


if __name__ == "__main__":
    main()
