"""The concierge's log: the product's line format (README "Logs") and one line per Slack event.

Every service writes `<time> <LEVEL> <logger>: <message>`. This image holds only capture-bot, so
LOG_FORMAT is written here as in publish_api/logs.py, whose docstring lists every copy;
tests/support/logs.py reads every service's log against it. `rasa run` installs a handler of
its own format (coloredlogs) after reading any `--logging-config-file`, and only then loads its
input channel, the first code of ours it runs: the channel gives that handler our format.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from typing import Any, Optional

from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger("connectors.slack")

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# What of Slack's ids and names is written to the log; anything else is shown as "-".
_PLAIN = re.compile(r"[A-Za-z0-9._:-]{1,100}")


def use_product_format() -> None:
    """Give the handlers writing to the terminal (Rasa's) LOG_FORMAT, and our loggers Rasa's
    level (which it writes to LOG_LEVEL): TensorFlow's absl later sets the root logger's to
    WARNING, as Rasa's own loggers have a level of their own. Every record's message is written
    on one line, whatever a Slack event holds."""
    one_line_records()
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream in (sys.stdout,
                                                                               sys.stderr):
            handler.setFormatter(logging.Formatter(LOG_FORMAT))
    for name in ("connectors", "components"):
        logging.getLogger(name).setLevel(os.environ.get("LOG_LEVEL", "INFO"))


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


def delivery(kind: str, slack_id: Any, subtype: Any, request: Request, answer: HTTPResponse,
             started: float) -> None:
    """Log one line for a Slack delivery, with Slack's id of the event (or the click's trigger
    id): `slack event Ev0123 message retry 1 (http_timeout): 200 repeated, skipped (0 ms)`."""
    logger.info("slack %s %s %s%s: %s (%.0f ms)", kind, _plain(slack_id), _plain(subtype),
                _retry(request), _outcome(answer), (time.perf_counter() - started) * 1000)


def _retry(request: Request) -> str:
    number = request.headers.get("x-slack-retry-num")
    if not number:
        return ""
    return f" retry {_plain(number)} ({_plain(request.headers.get('x-slack-retry-reason'))})"


def _outcome(answer: HTTPResponse) -> str:
    if answer.headers.get("X-Slack-No-Retry"):
        return f"{answer.status} repeated, skipped"
    if not (answer.content_type or "").startswith("text/plain"):
        return str(answer.status)  # a url_verification's challenge
    # Our answers' texts ("not a user message"...); Rasa's is empty when it takes the message.
    return f"{answer.status} {(answer.body or b'').decode(errors='replace') or 'accepted'}"


def _plain(value: Optional[Any]) -> str:
    value = str(value) if value is not None else ""
    return value if _PLAIN.fullmatch(value) else "-"
