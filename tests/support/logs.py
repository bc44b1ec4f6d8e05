"""The product's log lines (README "Logs"), which every service's log is read against:
`<time> <LEVEL> <logger>: <message>`, LOG_FORMAT in each package's logs.py; the broker's worker
names the process after the logger (`<logger>[MainProcess]: `)."""

from __future__ import annotations

import os
import re

LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} "
                  r"(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL) (?P<logger>[\w.-]+)"
                  r"(?:\[(?P<process>[\w-]+)\])?: "
                  r"(?P<message>.*)$")
# Where a line names its request, job or Slack event.
REQUEST_LINE = re.compile(r"request (?P<id>[A-Za-z0-9._:-]+): (?P<method>[A-Z]+) (?P<path>/\S*)"
                          r".* (?P<status>\d{3}) \((?P<ms>\d+) ms\)$")
JOB_LINE = re.compile(r"\bjob[ -](?P<id>\d+)\b")
EVENT_LINE = re.compile(r"^slack (event|interaction) (?P<id>\S+) ")


# Celery's notice that a worker runs as root, printed before its logging starts: the doing of a
# machine whose tests run as root, not of the product (its images run as a user).
_ROOT_NOTICE = re.compile(r"^\S+/celery/platforms\.py:\d+: SecurityWarning: You're running the "
                          r"worker with superuser privileges.*?\n  warnings\.warn\(.*?\n",
                          re.S | re.M)


def lines(log: str) -> list[str]:
    if os.geteuid() == 0:
        log = _ROOT_NOTICE.sub("", log)
    return [line for line in log.splitlines() if line.strip()]


def foreign(log: str) -> list[str]:
    """The lines not in the product's format."""
    return [line for line in lines(log) if not LINE.match(line)]


def problems(log: str) -> list[str]:
    """The lines at WARNING or above: in a normal run, none."""
    return [line for line in lines(log)
            if (match := LINE.match(line)) and match["level"] not in ("DEBUG", "INFO")]


def messages(log: str, pattern: re.Pattern) -> list[re.Match]:
    """The messages of the product's lines that `pattern` finds."""
    found = (pattern.search(match["message"]) for match in map(LINE.match, lines(log)) if match)
    return [match for match in found if match]


def check(log: str, name: str) -> None:
    """Every line in the product's format, none at WARNING or above."""
    assert foreign(log) == [], f"{name}: lines in another format"
    assert problems(log) == [], f"{name}: warnings in a normal run"
