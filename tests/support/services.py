"""Start our real services as subprocesses for tests that cross service boundaries.

The Rasa-side tests run in the Python 3.10 environment, publish-api needs the 3.11 one: its
interpreter comes from PUBLISH_API_PYTHON (set by `make test`) or the repo's `.api-env` file.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
import requests

from tests.support.isolation import START_ENV

REPO = Path(__file__).resolve().parents[2]
ADMIN_URL = os.environ.get("TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
QUEUE_URL = os.environ.get("TEST_QUEUE_URL", "amqp://guest:guest@127.0.0.1:5672//")
API_TOKEN = "test-api-token-0123456789"


def wait_until(predicate, timeout: float, interval: float = 0.1, what: str = "condition"):
    """Poll `predicate` until it returns something truthy; raise TimeoutError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def api_python() -> str:
    if os.environ.get("PUBLISH_API_PYTHON"):
        return os.environ["PUBLISH_API_PYTHON"]
    return str(Path((REPO / ".api-env").read_text().strip()) / "bin" / "python")


def create_database(prefix: str = "faqbot_it") -> tuple[str, str]:
    """A fresh, empty PostgreSQL database: (name, SQLAlchemy URL)."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    _admin(f"CREATE DATABASE {name}")
    base = ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg2://")
    return name, f"{base}/{name}"


def drop_database(name: str) -> None:
    _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _admin(sql: str) -> None:
    connection = psycopg2.connect(ADMIN_URL)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(sql)
    connection.close()


@dataclass
class PublishApi:
    """A running publish-api subprocess on its own database and queue."""

    url: str
    token: str
    queue: str
    database: str
    process: subprocess.Popen
    log_path: Path
    session: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self):
        self.session.headers["Authorization"] = f"Bearer {self.token}"

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.session.request(method, self.url + path, timeout=10, **kwargs)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        if self.database:
            drop_database(self.database)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_publish_api(port: int, log_dir: Path, queue: str | None = None,
                      queue_url: str = QUEUE_URL, database_url: str | None = None,
                      **settings: str) -> PublishApi:
    """Serve publish-api on 127.0.0.1:`port` (2 workers), migrating its database first.

    The database is a fresh PostgreSQL one (dropped by stop()) unless `database_url` is given
    (SQLite, say); `settings` are further environment variables.
    """
    database, url = create_database() if database_url is None else ("", database_url)
    queue = queue or f"publish_it_{uuid.uuid4().hex[:8]}"
    env = {**START_ENV, "API_TOKEN": API_TOKEN, "DATABASE_URL": url, "QUEUE_URL": queue_url,
           "PUBLISH_QUEUE": queue, "PUBLISH_API_PORT": str(port), "PUBLISH_API_HOST": "127.0.0.1",
           **settings}
    log_path = log_dir / f"publish-api-{port}.log"
    process = subprocess.Popen([api_python(), "-m", "publish_api", "serve", "--workers", "2"],
                               cwd=REPO / "publish-api", env=env, stdout=log_path.open("wb"),
                               stderr=subprocess.STDOUT)
    api = PublishApi(f"http://127.0.0.1:{port}", API_TOKEN, queue, database, process, log_path)
    try:
        wait_until(lambda: _healthy(api), timeout=30, what=f"publish-api on port {port}")
    except TimeoutError:
        api.stop()
        raise RuntimeError(f"publish-api did not start: {log_path.read_text()[-2000:]}") from None
    return api


def _healthy(api: PublishApi) -> bool:
    return answers_health(api.process, api.url, api.log_path, "publish-api")


def answers_health(process: subprocess.Popen, url: str, log_path: Path, name: str) -> bool:
    """Whether the service `process` runs answers 200 at `url`/health; raises RuntimeError
    with the end of its log once it has exited."""
    if process.poll() is not None:
        raise RuntimeError(f"{name} exited: {log_path.read_text(errors='replace')[-2000:]}")
    try:
        return requests.get(url + "/health", timeout=2).status_code == 200
    except requests.RequestException:
        return False


@dataclass
class BrokerWorker:
    """A running publish-broker Celery worker subprocess (prefork, one child: one task at a
    time). The bot pool it starts (process runtime) outlives it, as in production: stop_pools()
    ends it."""

    process: subprocess.Popen
    log_path: Path

    def kill(self) -> None:
        """SIGKILL to the worker and its children (its beat), as a crash of its container
        would: no chance to ack or clean up. The pool runs in a session of its own."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_broker_worker(api: PublishApi, log_dir: Path, models_dir: Path, name: str = "worker",
                        beat: bool = False, **settings: str) -> BrokerWorker:
    """Start `celery worker` for `api`'s queue, with the process runtime (a local bot pool on a
    port of its models directory's, unless POOL_PORT says otherwise) unless overridden; with
    `beat`, also its periodic sweep (`--beat`, as `make run` and the image run it)."""
    env = {**START_ENV, "API_TOKEN": api.token, "PUBLISH_API_URL": api.url,
           "QUEUE_URL": QUEUE_URL, "PUBLISH_QUEUE": api.queue, "BOT_RUNTIME": "process",
           "BOT_AUTH_TOKEN": BOT_AUTH_TOKEN, "BOT_MODELS_DIR": str(models_dir),
           "POOL_PORT": str(pool_port(Path(models_dir))),
           "PYTHONPATH": f"{REPO / 'publish-broker'}", **settings}
    log_path = log_dir / f"broker-{name}.log"
    command = [os.environ.get("BROKER_PYTHON", _rasa_python()), "-m", "celery", "--quiet",
               "-A", "publish_broker.make_celery", "worker", "--loglevel", "INFO",
               "--hostname", f"{name}-{uuid.uuid4().hex[:6]}@%h",
               "--without-gossip", "--without-mingle", "--without-heartbeat",
               *(["--beat"] if beat else [])]
    process = subprocess.Popen(command, cwd=REPO / "publish-broker", env=env,
                               stdout=log_path.open("ab"), stderr=subprocess.STDOUT,
                               start_new_session=True)
    worker = BrokerWorker(process, log_path)
    try:
        wait_until(lambda: _worker_ready(worker), timeout=120, what="the broker worker to be ready")
    except (RuntimeError, TimeoutError):
        worker.stop()  # a worker that did not start leaves nothing behind (its child included)
        raise
    return worker


BOT_AUTH_TOKEN = "test-bot-token-0123456789"


_POOLS: dict[Path, int] = {}  # models directory -> port of the pool test workers started on it


def pool_port(models_dir: Path) -> int:
    """A free port for the pool serving ``models_dir``, the same for every worker on that
    directory (a replacement worker finds the pool again)."""
    if models_dir not in _POOLS:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            _POOLS[models_dir] = probe.getsockname()[1]
    return _POOLS[models_dir]


def stop_pools() -> None:
    """Stop the pools that test workers started (they outlive workers by design)."""
    if not _POOLS:
        return
    from publish_broker.runtime.pool_process import PoolProcessRuntime

    for models_dir, port in _POOLS.items():
        PoolProcessRuntime(models_dir, BOT_AUTH_TOKEN, port=port, stop_on_close=True).close()
    _POOLS.clear()


def _rasa_python() -> str:
    import sys

    return sys.executable


def _worker_ready(worker: BrokerWorker) -> bool:
    if worker.process.poll() is not None:
        raise RuntimeError(f"the broker worker exited with status {worker.process.returncode}: "
                           f"{worker.log()[-3000:]}")
    log = worker.log()
    return "ready." in log and "worker is warm" in log
