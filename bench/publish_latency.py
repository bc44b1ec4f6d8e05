"""Publish-to-first-correct-answer latency and memory per live bot, for one runtime.

    python bench/publish_latency.py --runtime process|docker --json OUT.json [--publishes 10]

Against a running stack (--api-url and --api-token, with a worker consuming that API's queue) or,
by default, a self-started one: publish-api on a fresh PostgreSQL database, RabbitMQ, one warm
Celery worker. Run it in the Rasa environment (`$(cat .rasa-env)/bin/python`) from the repo root.

For each of N owners with 20 topics: time from POST /publish to the first correct answer to a
paraphrase (first publish), then change one answer and time until the bot gives the new answer
(republish) while another thread keeps asking (failed asks are counted). Resident memory of what
serves a live bot: the pool process's RSS (process runtime) or the pool container's memory usage
(docker), with one owner in it; bench/pool_scale.py measures the cost of each further owner.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "publish-broker"), str(REPO / "capture-actions")]

import results  # noqa: E402

from actions.bot_client import BotUnavailable, ask  # noqa: E402
from tests.support.services import (  # noqa: E402
    BOT_AUTH_TOKEN,
    start_broker_worker,
    start_publish_api,
    wait_until,
)

TOPICS = 20
POOL_PREFIX = "faqbot-bench-pool-"


def topic(i: int, version: int = 0) -> dict:
    return {"question": f"How do I request access to system number {i} for my team?",
            "answer": f"Open ticket type {i}-{version} in the service desk."}


def paraphrase(i: int) -> str:
    return f"how can my team get access to system number {i}"


def correct(endpoint: str, i: int, version: int) -> bool:
    try:
        return ask(endpoint, BOT_AUTH_TOKEN, paraphrase(i)).text == topic(i, version)["answer"]
    except BotUnavailable:
        return False


def publish_until_correct(api, owner: str, i: int, version: int, timeout: float) -> float:
    started = time.monotonic()
    assert api.call("POST", f"{owner}/publish").status_code == 202

    def answered():
        bot = api.call("GET", f"{owner}/bot")
        endpoint = bot.json().get("endpoint") if bot.status_code == 200 else None
        return endpoint and correct(endpoint, i, version)

    wait_until(answered, timeout=timeout, interval=0.05, what=f"{owner} to answer v{version}")
    return time.monotonic() - started


def republish_with_asker(api, owner: str, endpoint: str) -> tuple[float, int, int]:
    """Change topic 0's answer and republish while asking topic 1 continuously."""
    topic_id = api.call("GET", f"{owner}/topics").json()["topics"][0]["id"]
    api.call("PATCH", f"{owner}/topics/{topic_id}", json={"answer": topic(0, 1)["answer"]})
    asks, failures, stop = [0], [0], threading.Event()

    def keep_asking():
        while not stop.is_set():
            asks[0] += 1
            failures[0] += 0 if correct(endpoint, 1, 0) else 1

    asker = threading.Thread(target=keep_asking)
    asker.start()
    try:
        seconds = publish_until_correct(api, owner, 0, 1, timeout=120)
    finally:
        stop.set()
        asker.join()
    return seconds, asks[0], failures[0]


def bot_rss_mb(runtime: str, endpoint: str, owner: str) -> float:
    """Memory of what serves the owner's bot: the pool process (or container) holding it."""
    port = urllib.parse.urlsplit(endpoint).port
    if runtime == "docker":
        import docker

        for container in docker.from_env().containers.list(filters={"name": POOL_PREFIX}):
            bindings = container.attrs["NetworkSettings"]["Ports"].get("5005/tcp") or []
            if any(int(b["HostPort"]) == port for b in bindings):
                return container.stats(stream=False)["memory_stats"]["usage"] / 2**20
        raise LookupError(f"no pool container publishes port {port}")
    import psutil

    pid = next(c.pid for c in psutil.net_connections("tcp")
               if c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN)
    process = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [process, *process.children(recursive=True)]) / 2**20


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run(api, runtime: str, publishes: int) -> dict:
    firsts, republishes, asks, failed, rss = [], [], 0, 0, []
    for n in range(publishes):
        owner = f"/v1/users/TBENCH/U{n:04d}{int(time.time()) % 100000}"
        api.call("PUT", owner, json={"display_name": f"Bench {n}"})
        for i in range(TOPICS):
            api.call("POST", f"{owner}/topics", json=topic(i))
        firsts.append(publish_until_correct(api, owner, 0, 0, timeout=300))
        endpoint = api.call("GET", f"{owner}/bot").json()["endpoint"]
        seconds, n_asks, n_failed = republish_with_asker(api, owner, endpoint)
        republishes.append(seconds)
        asks, failed = asks + n_asks, failed + n_failed
        rss.append(bot_rss_mb(runtime, endpoint, owner))
        print(f"owner {n}: first {firsts[-1]:.2f} s, republish {seconds:.2f} s, "
              f"{n_failed}/{n_asks} failed asks, {rss[-1]:.0f} MB", file=sys.stderr)
        retire(api, owner)
    return {
        "runtime": runtime, "publishes": publishes, "topics_per_owner": TOPICS,
        "first_publish_p50_s": round(statistics.median(firsts), 3),
        "first_publish_p95_s": round(p(firsts, 0.95), 3),
        "republish_p50_s": round(statistics.median(republishes), 3),
        "republish_p95_s": round(p(republishes, 0.95), 3),
        "failed_asks_during_republish": failed, "asks_during_republish": asks,
        "pool_rss_mb_one_owner": round(statistics.median(rss), 1),
        "first_publish_s": [round(x, 3) for x in firsts],
        "republish_s": [round(x, 3) for x in republishes],
    }


def retire(api, owner: str) -> None:
    """Delete every topic and publish: the broker stops the bot (frees its memory)."""
    api.call("DELETE", f"{owner}/topics")
    job = api.call("POST", f"{owner}/publish").json()["job"]
    wait_until(lambda: api.call("GET", f"/v1/jobs/{job['id']}").json()["state"]
               in ("live", "failed"), timeout=60, what="the bot to retire")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runtime", choices=["process", "docker"], required=True)
    parser.add_argument("--json", required=True, type=Path, help="where to write the results")
    parser.add_argument("--publishes", type=int, default=10)
    parser.add_argument("--api-url", help="a running publish-api + worker")
    parser.add_argument("--api-token", help="its API_TOKEN (with --api-url)")
    args = parser.parse_args()
    if args.api_url:
        result = run(RunningApi(args.api_url, args.api_token or ""), args.runtime, args.publishes)
    else:
        result = run_self_started(args.runtime, args.publishes)
    results.write(result, args.json)
    return 0


def run_self_started(runtime: str, publishes: int) -> dict:
    logs = Path(tempfile.mkdtemp(prefix="bench-publish-"))
    (logs / "bots").mkdir(mode=0o755)
    api = start_publish_api(5095, logs)
    worker, cleanup = None, []
    try:
        settings = runtime_settings(runtime, logs / "bots", cleanup)
        worker = start_broker_worker(api, logs, logs / "bots", **settings)
        return run(api, runtime, publishes)
    finally:
        if worker:
            worker.stop()
        api.stop()
        for step in reversed(cleanup):
            step()


class RunningApi:
    """A publish-api someone else started (its worker must be consuming its queue)."""

    def __init__(self, url: str, token: str):
        import requests

        self.url, self.session = url.rstrip("/"), requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, **kwargs):
        return self.session.request(method, self.url + path, timeout=10, **kwargs)


def runtime_settings(runtime: str, models_dir: Path, cleanup: list) -> dict:
    """The worker's settings for `runtime`; docker: builds the bot image from its Dockerfile
    and makes a network, both labelled and removed afterwards (`cleanup`)."""
    if runtime == "process":
        from publish_broker.runtime.pool_process import PoolProcessRuntime

        # The worker starts the pool, which outlives it by design: stop it afterwards.
        pool = PoolProcessRuntime(models_dir, BOT_AUTH_TOKEN, port=5298, stop_on_close=True)
        cleanup.append(pool.close)
        return {"POOL_PORT": "5298"}
    import docker

    from tests.support.docker_engine import POOL_DOCKERFILE, build_image

    image = "faqbot-pool:bench"
    build_image(POOL_DOCKERFILE, image)
    client = docker.from_env()
    network = client.networks.create("faqbot-bench", labels={"faqbot.test": "bench"})
    cleanup.append(network.remove)
    cleanup.append(lambda: [c.remove(force=True) for c in client.containers.list(
        all=True, filters={"name": POOL_PREFIX})])
    return {"BOT_RUNTIME": "docker", "BOT_PUBLISH_PORTS": "true", "POOL_IMAGE": image,
            "POOL_NAME_PREFIX": POOL_PREFIX,
            "BOT_NETWORK": network.name, "BOT_MODELS_VOLUME": str(models_dir)}


if __name__ == "__main__":
    sys.exit(main())
