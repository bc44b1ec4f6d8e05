"""The playground's log: the product's line format (README "Logs"), gunicorn's lines included.

The playground runs in publish-api's environment but cannot import publish_api (neither package
is installed there), so LOG_FORMAT is written here as in publish_api/logs.py, whose docstring
lists every copy; tests/support/logs.py reads every service's log against it.
"""

from __future__ import annotations

import logging
import re
import uuid

from flask import Flask
from flask.wrappers import Response
from gunicorn import glogging

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# The path without its query string (%(U)s, not the request line %(r)s): an upload URL's secret
# is in its query string (web_api.py).
ACCESS_LOG_FORMAT = "request %({x-request-id}o)s: %(m)s %(U)s %(s)s (%(M)s ms)"
REQUEST_ID_HEADER = "X-Request-ID"


def configure() -> None:
    """The app's own log lines in LOG_FORMAT, gunicorn's access lines included, each on one line
    whatever the request holds."""
    one_line_records()
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)


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
    """Give every response a fresh request id (X-Request-ID), which its log line names. Only a
    browser calls the playground: there is no caller's id to keep, as publish-api keeps one."""
    app.after_request(_add_request_id)


def _add_request_id(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = uuid.uuid4().hex
    return response
