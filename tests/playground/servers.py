"""The playground as a subprocess (`python -m playground`, in publish-api's Python 3.11
environment, as `make run` runs it), for tests that talk to it over HTTP or through a browser."""

from __future__ import annotations

import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support.isolation import child_env
from tests.support.services import REPO, answers_health, api_python, wait_until

PLAYGROUND_DIR = REPO / "playground"


def free_port() -> int:
    """A port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Playground:
    """A running playground: its page at `url`, its Web API stand-in at `api_url`."""

    url: str
    process: subprocess.Popen
    log_path: Path

    @property
    def api_url(self) -> str:
        """What to put in SLACK_API_URL."""
        return self.url + "/api/"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def start_playground(port: int, log_dir: Path, **settings: str) -> Playground:
    """Serves the playground on 127.0.0.1:`port` with `settings` (SLACK_BOT_TOKEN...)."""
    env = child_env(PYTHONPATH=str(PLAYGROUND_DIR), PLAYGROUND_PORT=str(port),
                    PLAYGROUND_HOST="127.0.0.1", **settings)
    log_path = log_dir / f"playground-{port}.log"
    process = subprocess.Popen([api_python(), "-m", "playground"], cwd=PLAYGROUND_DIR, env=env,
                               stdout=log_path.open("wb"), stderr=subprocess.STDOUT)
    server = Playground(f"http://127.0.0.1:{port}", process, log_path)
    try:
        wait_until(lambda: _healthy(server), timeout=30, what=f"the playground on port {port}")
    except BaseException:
        server.stop()
        raise
    return server


def _healthy(server: Playground) -> bool:
    return answers_health(server.process, server.url, server.log_path, "the playground")
