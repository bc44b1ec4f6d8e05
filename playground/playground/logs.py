"""The playground's log: the product's line format (README "Logs"), gunicorn's lines included.

The playground runs in publish-api's environment but cannot import publish_api (neither package
is installed there), so LOG_FORMAT is written here as in publish_api/logs.py, whose docstring
lists every copy; tests/support/logs.py reads every service's log against it.
"""

from __future__ import annotations

import logging

from gunicorn import glogging

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# The path without its query string (%(U)s, not the request line %(r)s).
ACCESS_LOG_FORMAT = "request: %(m)s %(U)s %(s)s (%(M)s ms)"


def configure() -> None:
    """The app's own log lines in LOG_FORMAT."""
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)


class GunicornLogger(glogging.Logger):
    """gunicorn's lines (start, workers, each request) in LOG_FORMAT (`--logger-class`)."""

    error_fmt = access_fmt = LOG_FORMAT
    datefmt = None
