"""The action server's log: the product's line format (README "Logs") and one line per request.

Every service writes `<time> <LEVEL> <logger>: <message>`. This image holds only the actions
package, so LOG_FORMAT is written here as in publish_api/logs.py, whose docstring lists every
copy; tests/support/logs.py reads every service's log against it.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
import warnings

from rasa_sdk import utils
from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REQUEST_ID_HEADER = "X-Request-ID"
# What of a client's X-Request-ID, and of an action's name, is written to the log.
_CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_ACTION_NAME = re.compile(r"[A-Za-z0-9_]{1,100}")


def ignore_deprecations() -> None:
    """Third-party deprecation notices are no problem of the running server, and would be lines
    in another format. rasa-sdk's import shows each once (a filter of its own, ahead of
    PYTHONWARNINGS), so this one goes ahead of it: call it before importing rasa_sdk.endpoint."""
    warnings.filterwarnings("ignore", category=DeprecationWarning)


def configure(level: int) -> None:
    """The server's lines, Sanic's included, in LOG_FORMAT at `level` (Sanic's: rasa-sdk's
    LOG_LEVEL_LIBRARIES)."""
    one_line_records()
    logging.basicConfig(level=level, format=LOG_FORMAT)
    utils.update_sanic_log_level()
    # rasa-sdk stops Sanic's loggers from propagating; they have no handlers of their own.
    for name in ("sanic.root", "sanic.error"):
        logging.getLogger(name).propagate = True


# C0 controls (newline, carriage return, NUL, escape...), DEL and C1 controls.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


class OneLineRecord(logging.LogRecord):
    """A log record whose message has its control characters written as `\\xNN`: a value a
    user controls (a path, a header, an id, Slack text) cannot start a line of its own, forge
    an ERROR line or make the log a binary file. Tracebacks, added by the formatter, keep their
    lines."""

    def getMessage(self) -> str:  # noqa: N802 - logging's name
        return _CONTROL.sub(lambda c: f"\\x{ord(c.group()):02x}", super().getMessage())


def one_line_records() -> None:
    """Every record of this process is a OneLineRecord (idempotent)."""
    logging.setLogRecordFactory(OneLineRecord)


def log_requests(app: Sanic) -> None:
    """One line per request: its id (the client's X-Request-ID or a new one, returned in that
    header), method, path, the action called, status and duration. Register it first."""
    app.register_middleware(_start_request, "request")
    app.register_middleware(_log_request, "response")


async def _start_request(request: Request) -> None:
    request.ctx.started = time.perf_counter()
    given = request.headers.get(REQUEST_ID_HEADER, "")
    request.ctx.id = given if _CLIENT_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


async def _log_request(request: Request, response: HTTPResponse) -> None:
    # Sanic answers some requests (no such route, a body too large) before the middleware runs.
    started = getattr(request.ctx, "started", time.perf_counter())
    request_id = getattr(request.ctx, "id", None) or uuid.uuid4().hex
    response.headers[REQUEST_ID_HEADER] = request_id
    logger.info("request %s: %s %s%s %d (%.0f ms)", request_id, request.method, request.path,
                _action(request, response), response.status, (time.perf_counter() - started) * 1000)


def _action(request: Request, response: HTTPResponse) -> str:
    if request.path != "/webhook" or response.status == 401:
        return ""  # nothing of an unauthenticated body is written
    try:
        name = request.json.get("next_action") if isinstance(request.json, dict) else None
    except Exception:  # an unparsable body: rasa-sdk answered it already
        return ""
    return f" {name}" if isinstance(name, str) and _ACTION_NAME.fullmatch(name) else ""
