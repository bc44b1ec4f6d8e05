"""The broker's and the pool's log: the product's line format (README "Logs").

Every service writes `<time> <LEVEL> <logger>: <message>`. Each image holds only its own package,
so LOG_FORMAT is written once per package (publish_api/logs.py lists every copy); the worker and
the pools, which share this package, take it from here. tests/support/logs.py reads every
service's log against it.
"""

from __future__ import annotations

import logging
import re
import uuid

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# The worker's logger names carry the process ([MainProcess] or [ForkPoolWorker-<n>]): a job may
# be failed by either (the main process enforces the hard time limit), and each child warms up.
WORKER_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s[%(processName)s]: %(message)s"
# What a task logs through Celery's task loggers also carries the task's id, which for a publish
# names its job (publish-api sends `job-<id>-<random>`).
TASK_LOG_FORMAT = ("%(asctime)s %(levelname)s %(name)s[%(processName)s]: "
                   "%(task_name)s[%(task_id)s] %(message)s")


class _NoDeprecationNotices(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not _DEPRECATION_NOTICE.search(record.getMessage())


_DEPRECATION_NOTICE = re.compile(r": \w*DeprecationWarning: ")


def drop_deprecation_notices() -> None:
    """Keep third-party deprecation notices out of the log, where Celery sends Python's warnings
    (logger py.warnings, at WARNING: they are no problem of a running worker). PYTHONWARNINGS
    cannot: Sanic's import, in the child, sets DeprecationWarnings to show once, ahead of it."""
    logging.getLogger("py.warnings").addFilter(_NoDeprecationNotices())


def configure(level: int | str = logging.INFO) -> None:
    """A process's log lines (the pool's; Celery sets up the worker's) in LOG_FORMAT, each on one
    line whatever a request holds."""
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


REQUEST_ID_HEADER = "X-Request-ID"
# What of a client's X-Request-ID is kept: anything else (a token-sized blob, say) is replaced.
_CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def request_id(given: str | None) -> str:
    """The id of a request: the client's X-Request-ID when it is a plain token, else a new one."""
    return given if given and _CLIENT_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
