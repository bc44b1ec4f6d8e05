"""A PostgreSQL cluster and a RabbitMQ node of a test's own, that it may stop and restart.

The machine's shared servers (5432, 5672) serve every other test and session: a fault test
restarts only servers it started itself, on free ports, with data in a temporary directory.
Both run as their Debian system users, as the packaged servers do.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.isolation import START_ENV
from tests.support.services import wait_until

PG_BIN = Path(os.environ.get("TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
START_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _home_of(user: str) -> Path:
    """A fresh directory `user` owns, under the system's temporary directory: pytest's own are
    private to root, and a server that runs as its system user could not enter them."""
    path = Path(tempfile.mkdtemp(prefix=f"faqbot-test-{user}-"))
    if os.geteuid() == 0:
        shutil.chown(path, user)
    return path


def _as(user: str, *command: str) -> None:
    """Run `command` as `user` (when we are root). Raises RuntimeError with its output."""
    prefix = ["runuser", "-u", user, "--"] if os.geteuid() == 0 else []
    done = subprocess.run([*prefix, *command], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{Path(command[0]).name} failed: {done.stdout}{done.stderr}")


class _PrivateServer:
    """What a server of our own can do once it can start and stop."""

    root: Path

    def start(self) -> _PrivateServer:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def restart(self) -> None:
        self.stop()
        self.start()

    def remove(self) -> None:
        """Stops it and deletes its data."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class PrivatePostgres(_PrivateServer):
    """A throw-away PostgreSQL cluster (trust auth on 127.0.0.1): start, stop, restart,
    remove."""

    port: int = field(default_factory=free_port)
    root: Path = field(default_factory=lambda: _home_of("postgres"))

    def __post_init__(self) -> None:
        self.data = self.root / "pgdata"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> PrivatePostgres:
        if not self.data.exists():
            _as("postgres", str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust",
                "-U", "postgres", "--no-sync")
        _as("postgres", str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-w", "-l",
            str(self.root / "postgres.log"), "-o",
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start")
        wait_until(lambda: listening(self.port), START_TIMEOUT_S, what="the private PostgreSQL")
        return self

    def stop(self) -> None:
        """A fast shutdown (open connections are cut, as in a crash of the server's clients);
        nothing to do when it is not running."""
        if (self.data / "postmaster.pid").exists():
            _as("postgres", str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-w", "-m", "fast",
                "stop")



@dataclass
class PrivateRabbitMQ(_PrivateServer):
    """A RabbitMQ node of our own (guest/guest on 127.0.0.1): start, stop, restart. Durable
    queues and persistent messages survive a restart, as on a production node."""

    port: int = field(default_factory=free_port)
    root: Path = field(default_factory=lambda: _home_of("rabbitmq"))

    def __post_init__(self) -> None:
        self.dist_port = free_port()
        self.node = f"faqbot-test-{self.port}@localhost"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def _env(self) -> dict:
        base = self.root
        return {**START_ENV, "RABBITMQ_NODENAME": self.node,
                "RABBITMQ_NODE_PORT": str(self.port), "RABBITMQ_DIST_PORT": str(self.dist_port),
                "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
                "RABBITMQ_LOG_BASE": str(base / "log"),
                "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
                "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq"),  # none: the defaults
                "RABBITMQ_PID_FILE": str(base / "pid")}

    def start(self) -> PrivateRabbitMQ:
        log = (self.root / "server.log").open("ab")
        self.process = subprocess.Popen(["rabbitmq-server"], env=self._env(), stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        wait_until(self._ready, START_TIMEOUT_S, interval=0.2, what="the private RabbitMQ")
        return self

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"rabbitmq-server exited ({self.process.returncode})")
        return listening(self.port)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        subprocess.run(["rabbitmqctl", "-n", self.node, "stop"], env=self._env(),
                       capture_output=True, timeout=60)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, 9)
            self.process.wait(timeout=10)
