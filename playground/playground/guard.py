"""The page's doors: only this machine's browser may drive them.

- The Host header must name this machine (127.0.0.1, localhost, or PLAYGROUND_HOST): a page on
  another site that rebinds its DNS name to 127.0.0.1 cannot read or drive the playground.
- Every request that changes something carries the page's token (`X-Playground-Token`, sent by
  htmx from the page): another site's form cannot, so it cannot type or click as anyone.

The Web API stand-in (`/api/`) has its own door: the Slack bot token (web_api.py).
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from flask import Flask, Response, abort, current_app, request

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def init_app(app: Flask) -> None:
    app.before_request(check_request)
    app.after_request(_not_in_frames)


def _not_in_frames(response: Response) -> Response:
    # Another site's page could otherwise show this one in a frame and trick clicks on it.
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    return response


def check_request() -> None:
    """Raises 403 for a page request from elsewhere (see the module's docstring)."""
    if request.blueprint == "web_api" or request.endpoint == "health":
        return
    host = urlsplit("//" + (request.host or "")).hostname
    if host not in LOCAL_HOSTS | {current_app.config["SETTINGS"].PLAYGROUND_HOST}:
        abort(403, "This page answers only to addresses of this machine.")
    if request.method not in SAFE_METHODS:
        given = request.headers.get("X-Playground-Token", "")
        if not hmac.compare_digest(given.encode(), current_app.config["PAGE_TOKEN"].encode()):
            abort(403, "Missing or wrong page token: reload the page.")
