"""Train the concierge and run it (`rasa run`) and its action server (`python -m actions.server`)
as real subprocesses on ports 5400-5499, for tests that talk to them over HTTP.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional

import requests

from publish_broker.rasa_env import RASA_ENV
from tests.support.isolation import START_ENV

REPO = Path(__file__).resolve().parents[2]
BOT_DIR = REPO / "capture-bot"
ACTIONS_DIR = REPO / "capture-actions"
PORTS = range(5400, 5500)
SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-concierge"
ACTIONS_TOKEN = "test-actions-token-0123456789"

# As make run and the images run them: third-party deprecation notices are no problem of ours.
QUIET_ENV = {**RASA_ENV, "TQDM_DISABLE": "1", "PYTHONWARNINGS": "ignore::DeprecationWarning"}


def free_port(taken: Optional[set] = None) -> int:
    """A port of ours (5400-5499) that nothing listens on. Raises RuntimeError if none.

    Tried in random order: test runs started side by side (several sessions share a machine)
    would otherwise all take the lowest free port between its probe and its bind."""
    for port in random.sample(PORTS, len(PORTS)):
        if taken and port in taken:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        if taken is not None:
            taken.add(port)
        return port
    raise RuntimeError("no free port in 5400-5499")


def train_concierge(output: Path) -> tuple[Path, float]:
    """Trains capture-bot into `output`: (model path, seconds). Raises RuntimeError."""
    os.environ.update(QUIET_ENV)
    from rasa.model_training import train
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    started = time.monotonic()
    try:
        result = train(domain=str(BOT_DIR / "domain.yml"), config=str(BOT_DIR / "config.yml"),
                       training_files=[str(BOT_DIR / "data")], output=str(output),
                       force_training=True)
    except SystemExit as exit_:  # Rasa exits on invalid training data
        raise RuntimeError(f"training the concierge failed (exit {exit_.code})") from None
    if result.code != 0 or not result.model:
        raise RuntimeError(f"training the concierge failed (code {result.code})")
    return Path(result.model), time.monotonic() - started


@dataclass
class Process:
    """A server subprocess with its log."""

    url: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def start_action_server(port: int, log_dir: Path, env: Dict[str, str]) -> Process:
    """`python -m actions.server` on `port`, with `env` added (PUBLISH_API_URL...); its
    ACTIONS_TOKEN is ours unless `env` has one."""
    log_path = log_dir / f"actions-{port}.log"
    command = [sys.executable, "-m", "actions.server", "--actions", "actions", "-p", str(port)]
    full_env = {**START_ENV, **QUIET_ENV, "PYTHONPATH": str(ACTIONS_DIR),
                "ACTIONS_TOKEN": ACTIONS_TOKEN, **env}
    process = subprocess.Popen(command, cwd=ACTIONS_DIR, env=full_env,
                               stdout=log_path.open("wb"), stderr=subprocess.STDOUT)
    server = Process(f"http://127.0.0.1:{port}", process, log_path)
    _wait_ready(server, "/health", 60)
    return server


def start_concierge(port: int, model: Path, log_dir: Path, slack_api_url: str,
                    actions_url: str, slack_channel: Optional[str] = None,
                    extra_env: Optional[Dict[str, str]] = None) -> Process:
    """`rasa run` (as `python -m connectors run`, the image's command) with the Slack
    connector on `port`, replying through `slack_api_url`;
    `extra_env` added to its environment (SLACK_APP_TOKEN for Socket Mode)."""
    credentials = log_dir / f"credentials-{port}.yml"
    channel = f"\n  slack_channel: {slack_channel}" if slack_channel else ""
    credentials.write_text("connectors.slack.SlackConnector:\n"
                           f"  conversation_granularity: channel{channel}\n")
    endpoints = log_dir / f"endpoints-{port}.yml"
    # As the image and `make run` write it: the secret comes from the environment.
    endpoints.write_text(f"action_endpoint:\n  url: {actions_url}/webhook\n"
                         "  headers:\n    Authorization: Bearer ${ACTIONS_TOKEN}\n")
    # LOG_LEVEL as make run and the image leave it (INFO): the tests read the INFO lines.
    env = {**START_ENV, **QUIET_ENV, "LOG_LEVEL": "INFO", "PYTHONPATH": str(BOT_DIR),
           "SLACK_BOT_TOKEN": BOT_TOKEN,
           "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack_api_url,
           "ACTIONS_TOKEN": ACTIONS_TOKEN, **(extra_env or {})}
    command = [sys.executable, "-m", "connectors", "run", "-m", str(model), "-i", "127.0.0.1",
               "-p", str(port), "--credentials", str(credentials),
               "--endpoints", str(endpoints)]
    log_path = log_dir / f"concierge-{port}.log"
    process = subprocess.Popen(command, cwd=BOT_DIR, env=env, stdout=log_path.open("ab"),
                               stderr=subprocess.STDOUT)
    server = Process(f"http://127.0.0.1:{port}", process, log_path)
    _wait_ready(server, "/webhooks/slack/", 120)
    return server


def _wait_ready(server: Process, path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.url} exited:\n{server.log()[-3000:]}")
        try:
            if requests.get(server.url + path, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)  # polling interval of a readiness loop with a deadline
    server.stop()
    raise RuntimeError(f"{server.url} not ready after {timeout} s:\n{server.log()[-3000:]}")


class Blackhole:
    """A TCP port that accepts connections and never answers: a publish-api that hangs."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", port))
        self._socket.listen(64)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._socket.close()
