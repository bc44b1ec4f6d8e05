"""publish-api's log: the product's line format, and one line per request with its id.

Every service writes `<time> <LEVEL> <logger>: <message>` (README "Logs"), each message on one
line (OneLineRecord). Each image holds only its own package, so LOG_FORMAT and OneLineRecord are
written once per package: here, playground/playground/logs.py,
publish_broker/logs.py, capture-actions/actions/logs.py and capture-bot/connectors/logs.py;
tests/support/logs.py reads every service's log against it.

gunicorn writes the line per request (its access log, which also sees the requests Flask never
gets): `request <id>: GET /v1/jobs/1 404 (3 ms)`. The id is the client's X-Request-ID when it is a
plain token, else a fresh one; the response carries it back. The path is logged without its query
string: a client that puts a token in the query must not have it written to the log.
"""

from __future__ import annotations

import logging
import re
import uuid

from flask import Flask, g, request
from flask.wrappers import Response
from gunicorn import glogging

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
ACCESS_LOG_FORMAT = "request %({x-request-id}o)s: %(m)s %(U)s %(s)s (%(M)s ms)"
REQUEST_ID_HEADER = "X-Request-ID"
# What of a client's id we keep: anything else (a newline, a token-sized blob) is replaced.
_CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def configure(level: str) -> None:
    """The app's own log lines (outside gunicorn too: migrations, tests) in LOG_FORMAT, gunicorn's
    access lines included, each on one line whatever the request holds."""
    one_line_records()
    logging.basicConfig(level=level, format=LOG_FORMAT)


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


class GunicornLogger(glogging.Logger):
    """gunicorn's lines (start, workers, each request) in LOG_FORMAT (`--logger-class`)."""

    error_fmt = access_fmt = LOG_FORMAT
    datefmt = None


def init_app(app: Flask) -> None:
    """Give every request an id (X-Request-ID), returned in the response's header."""
    app.before_request_funcs.setdefault(None, []).insert(0, _take_request_id)
    app.after_request(_return_request_id)


def _take_request_id() -> None:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = given if _CLIENT_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


def _return_request_id(response: Response) -> Response:
    # Missing only when a before_request function ran before ours and answered.
    response.headers[REQUEST_ID_HEADER] = g.get("request_id") or uuid.uuid4().hex
    return response
