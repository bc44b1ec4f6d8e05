"""Bot pools at scale: memory per owner, ask latency under load, cold asks, restarts, publishes.

    python bench/pool_scale.py --owners N --topics 20 --json OUT.json
        [--data ../shared/data/banking77] [--rate 50] [--ask-seconds 30] [--publishes 10]

Run it in the Rasa environment (`$(cat .rasa-env)/bin/python`) from the repo root, with
NLTK_DATA set (and PUBLISH_API_PYTHON for the publish part, as the tests have it).

Owners: N owners with ``--topics`` topics each, drawn from BANKING77 (public, CC-BY-4.0) with a
seeded generator per owner: distinct labels per owner, one training question of each label (and
an alternative for about a third of them), the label's words as the answer. Owners share only
what real owners of one company would: they ask about the same kinds of things.

Models: the owners' models are fitted with publish_broker.matcher from exactly the examples a
Rasa training receives (botproject.matcher_examples: the owner's phrasings and their WordNet
paraphrases) and packed as the matcher's resource inside a model archive, as Rasa stores it;
a real Rasa training per owner (~0.5-1 s) would make N = 2,000 take half an hour, and the pool
reads nothing else of the archive. They are cached under ``--cache`` for reruns.

Measured, against one real pool process (``python -m publish_broker.pool``):

- ``rss_mb_per_owner``: slope of the pool's RSS over the number of owners loaded (least squares
  over checkpoints), and ``owners_per_24gb`` = (24 GiB - RSS with no owner) / slope;
- ``ask_p50_ms``, ``ask_p95_ms``: ``--rate`` asks/s for ``--ask-seconds``, open loop, owners
  drawn Zipf-like (s = 1.1) over a random order, each ask a BANKING77 *test* question of one of
  the owner's labels; over HTTP, as the action server asks;
- ``cold_ask_p95_ms``: the first ask after the owner was evicted (unloaded) from memory;
- ``restart_to_all_answering_s``: the pool killed (-9) and started again, until every owner has
  answered one ask;
- ``first_publish_p95_s``, ``republish_p95_s``, ``failed_asks_during_republish``: bench/
  publish_latency.py's protocol (POST /publish to the first right answer through publish-api,
  RabbitMQ, a warm Celery worker with real Rasa training, and a local pool), ``--publishes``
  owners.
"""

from __future__ import annotations

import os

# One BLAS thread per process, as the worker and the pool have (training.py, runtime BOT_ENV):
# the fits are small matrices, and the model builders already run one process per core.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import csv  # noqa: E402
import hashlib  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tarfile  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import psutil  # noqa: E402
import requests  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "publish-broker"), str(REPO / "capture-actions"),
                str(REPO / "bench")]

import results  # noqa: E402

from publish_broker.constants import FAQ_INTENT  # noqa: E402
from publish_broker.modelfiles import install_model  # noqa: E402
from publish_broker.runtime.base import BotKey  # noqa: E402
from publish_broker.runtime.pool_process import PoolProcessRuntime  # noqa: E402

TOKEN = "bench-pool-token-0123456789"
POOL_PORT = 5290
PARAPHRASES = 10  # PARAPHRASES_PER_TOPIC's default
RESOURCE = "components/train_publish_broker.nlu_components.FaqMatcher0"
GIB = 2**30


def read_csv(path: Path) -> dict[str, list[str]]:
    """label → its questions, in file order."""
    by_label: dict[str, list[str]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            by_label.setdefault(row["category"], []).append(row["text"].strip())
    return by_label


def owner_version(index: int, train: dict[str, list[str]], topics: int) -> dict:
    """Owner ``index``'s version (GET /v1/versions/{id} JSON), drawn with its own seed."""
    rng = random.Random(f"owner-{index}")
    chosen = rng.sample(sorted(train), topics)
    version_topics = []
    for number, label in enumerate(chosen, start=1):
        question, alternative = rng.sample(train[label], 2)
        version_topics.append({"id": number, "question": question,
                               "alternatives": [alternative] if rng.random() < 0.33 else [],
                               "answer": label.replace("_", " ").capitalize() + "."})
    return {"id": f"bench-{index}", "team_id": "TPOOLBENCH", "user_id": f"U{index:06d}",
            "labels": chosen, "topics": version_topics}


def build_archive(version: dict, out_dir: Path) -> tuple[str, Path]:
    """Fits the owner's matcher as a Rasa training does and packs it as Rasa stores it."""
    from publish_broker.botproject import matcher_examples
    from publish_broker.matcher import FaqModel

    examples, responses = matcher_examples(version, PARAPHRASES)
    model = FaqModel.fit(examples, responses)
    with tempfile.TemporaryDirectory() as directory:
        model.save(Path(directory))
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            for path in sorted(Path(directory).iterdir()):
                archive.add(path, arcname=f"{RESOURCE}/{path.name}")
    digest = hashlib.sha256(buffer.getvalue()).hexdigest()
    path = out_dir / f"{digest}.tar.gz"
    path.write_bytes(buffer.getvalue())
    return digest, path


def _build_one(args: tuple[int, dict, str]) -> tuple[int, str, str]:
    index, version, out_dir = args
    marker = Path(out_dir) / f"owner-{index}.json"
    if marker.exists():
        cached = json.loads(marker.read_text())
        if Path(cached["path"]).exists():
            return index, cached["digest"], cached["path"]
    digest, path = build_archive(version, Path(out_dir))
    marker.write_text(json.dumps({"digest": digest, "path": str(path)}))
    return index, digest, str(path)


def build_models(versions: list[dict], cache: Path) -> list[tuple[str, Path]]:
    cache.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    jobs = [(i, v, str(cache)) for i, v in enumerate(versions)]
    models: list = [None] * len(versions)
    missing = [v for i, v in enumerate(versions) if not (cache / f"owner-{i}.json").exists()]
    if missing:
        encode_once(missing)
    # Forked workers inherit the warm encoder and its cache of every text they embed.
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1, mp_context=context) as workers:
        for done, (index, digest, path) in enumerate(workers.map(_build_one, jobs, chunksize=8)):
            models[index] = (digest, Path(path))
            if done % 250 == 0:
                print(f"models: {done}/{len(jobs)} ({time.monotonic() - started:.0f} s)",
                      file=sys.stderr)
    return models


def encode_once(versions: list[dict]) -> None:
    """Encodes each text the owners' matchers embed once, in this process (owners share
    questions: BANKING77 has ~10,000), instead of once per worker."""
    from publish_broker.encoder import load_encoder

    texts = set()
    for version in versions:
        for topic in version["topics"]:
            for text in (topic["question"], *topic["alternatives"], topic["answer"]):
                # As botproject writes an example into the project (brackets, whitespace).
                texts.add(" ".join(text.replace("[", "(").replace("]", ")").split()))
    started = time.monotonic()
    load_encoder().encode(sorted(texts))
    print(f"models: {len(texts)} texts encoded in {time.monotonic() - started:.0f} s",
          file=sys.stderr)


class Pool:
    """The pool process under test and an HTTP session to it."""

    def __init__(self, models_dir: Path, budget_mb: int) -> None:
        self.runtime = PoolProcessRuntime(models_dir, TOKEN, port=POOL_PORT,
                                          memory_budget_mb=budget_mb, stop_on_close=True)
        self.url = f"http://127.0.0.1:{POOL_PORT}"
        self.local = threading.local()

    def rss_mb(self) -> float:
        return psutil.Process(self.runtime.pid()).memory_info().rss / 2**20

    def session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
            self.local.session.params = {"token": TOKEN}
        return self.local.session

    def load(self, key: BotKey, digest: str) -> None:
        answer = self.session().put(f"{self.url}/bots/{key.name}/model",
                                    json={"model_file": f"{digest}.tar.gz"}, timeout=30)
        answer.raise_for_status()

    def ask(self, key: BotKey, text: str) -> tuple[float, dict | None]:
        started = time.perf_counter()
        try:
            answer = self.session().post(f"{self.url}/bots/{key.name}/model/parse",
                                         json={"text": text}, timeout=10)
            body = answer.json() if answer.status_code == 200 else None
        except requests.RequestException:
            body = None
        return 1000 * (time.perf_counter() - started), body


def measure_memory(pool: Pool, keys: list[BotKey], models: list) -> dict:
    checkpoints = sorted({0, *(len(keys) * k // 8 for k in (1, 2, 4, 6, 8))})
    points, loaded, load_ms = [], 0, []
    for target in checkpoints:
        while loaded < target:
            started = time.perf_counter()
            pool.load(keys[loaded], models[loaded][0])
            load_ms.append(1000 * (time.perf_counter() - started))
            loaded += 1
        points.append((loaded, pool.rss_mb()))
        print(f"memory: {loaded} owners, {points[-1][1]:.0f} MB RSS", file=sys.stderr)
    owners, rss = np.array(points).T
    slope, base = np.polyfit(owners, rss, 1)
    return {"rss_mb_per_owner": round(float(slope), 3), "pool_rss_mb_no_owner": round(rss[0], 1),
            "pool_rss_mb_all_owners": round(rss[-1], 1), "rss_checkpoints": points,
            "owners_per_24gb": int((24 * 1024 - rss[0]) / slope) if slope > 0 else None,
            "load_p50_ms": round(statistics.median(load_ms), 1) if load_ms else None}


def zipf_owners(count: int, asks: int, rng: random.Random) -> list[int]:
    order = list(range(count))
    rng.shuffle(order)
    weights = [1 / (rank + 1) ** 1.1 for rank in range(count)]
    return [order[i] for i in rng.choices(range(count), weights=weights, k=asks)]


def measure_asks(pool: Pool, keys: list[BotKey], versions: list[dict],
                 test: dict[str, list[str]], rate: float, seconds: float) -> dict:
    rng = random.Random("asks")
    owners = zipf_owners(len(keys), int(rate * seconds), rng)
    plan = []
    for owner in owners:
        label = rng.choice(versions[owner]["labels"])
        plan.append((owner, rng.choice(test[label]), versions[owner]["labels"].index(label) + 1))
    latencies, outcomes = [], []

    def one(item):
        owner, question, topic = item
        ms, body = pool.ask(keys[owner], question)
        latencies.append(ms)
        outcomes.append(_outcome(body, topic))

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=16) as senders:
        for n, item in enumerate(plan):  # open loop: the schedule does not wait for answers
            time.sleep(max(0.0, started + n / rate - time.monotonic()))
            senders.submit(one, item)
    return {"asks": len(latencies), "ask_rate_per_s": rate,
            "ask_p50_ms": round(_percentile(latencies, 0.5), 1),
            "ask_p95_ms": round(_percentile(latencies, 0.95), 1),
            "ask_errors": outcomes.count("error"),
            "ask_right_answer_share": round(outcomes.count("right") / len(outcomes), 3)}


def _outcome(body: dict | None, topic: int) -> str:
    if body is None:
        return "error"
    if body["intent"]["name"] != FAQ_INTENT:
        return "refused"
    key = body["response_selector"]["default"]["response"]["intent_response_key"]
    return "right" if key == f"{FAQ_INTENT}/t{topic}" else "wrong"


def measure_cold(pool: Pool, keys: list[BotKey], versions: list[dict], samples: int) -> dict:
    rng = random.Random("cold")
    latencies = []
    for owner in rng.sample(range(len(keys)), min(samples, len(keys))):
        pool.session().delete(f"{pool.url}/bots/{keys[owner].name}", timeout=10)
        ms, body = pool.ask(keys[owner], versions[owner]["topics"][0]["question"])
        assert body is not None, f"cold ask of {keys[owner].name} failed"
        latencies.append(ms)
    return {"cold_asks": len(latencies), "cold_ask_p50_ms": round(_percentile(latencies, .5), 1),
            "cold_ask_p95_ms": round(_percentile(latencies, 0.95), 1)}


def measure_restart(pool: Pool, keys: list[BotKey], versions: list[dict]) -> dict:
    subprocess.run(["kill", "-9", str(pool.runtime.pid())], check=True)
    started = time.monotonic()
    pool.runtime.start()

    def answered(owner: int) -> bool:
        for _ in range(3):
            if pool.ask(keys[owner], versions[owner]["topics"][0]["question"])[1] is not None:
                return True
        return False

    with ThreadPoolExecutor(max_workers=4) as askers:
        answers = list(askers.map(answered, range(len(keys))))
    return {"restart_to_all_answering_s": round(time.monotonic() - started, 2),
            "owners_not_answering_after_restart": answers.count(False)}


def measure_publishes(publishes: int) -> dict:
    import publish_latency

    measured = publish_latency.run_self_started("process", publishes)
    keys = ("first_publish_p50_s", "first_publish_p95_s", "republish_p50_s", "republish_p95_s",
            "failed_asks_during_republish", "asks_during_republish")
    return {key: measured[key] for key in keys}


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, 100 * q)) if values else float("nan")


def run(args: argparse.Namespace) -> dict:
    started = time.monotonic()
    train, test = read_csv(args.data / "train.csv"), read_csv(args.data / "test.csv")
    versions = [owner_version(i, train, args.topics) for i in range(args.owners)]
    cache = args.cache / f"owners-{args.topics}t"
    models = build_models(versions, cache)
    keys = [BotKey(v["team_id"], v["user_id"]) for v in versions]
    measured = {"owners": args.owners, "topics": args.topics,
               "model_build_s": round(time.monotonic() - started, 1)}
    with tempfile.TemporaryDirectory(prefix="bench-pool-") as directory:
        for key, (digest, path) in zip(keys, models, strict=True):
            install_model(path, Path(directory) / key.name, digest)
        # Budget for all owners: the slope is the memory an owner costs, not an eviction rate.
        pool = Pool(Path(directory), budget_mb=64 * 1024)
        pool.runtime.start()
        try:
            measured.update(measure_memory(pool, keys, models))
            measured.update(measure_asks(pool, keys, versions, test, args.rate, args.ask_seconds))
            measured.update(measure_cold(pool, keys, versions, samples=100))
            measured.update(measure_restart(pool, keys, versions))
        finally:
            pool.runtime.close()
    if args.publishes:
        measured.update(measure_publishes(args.publishes))
    measured["elapsed_s"] = round(time.monotonic() - started, 1)
    return measured


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--owners", type=int, required=True)
    parser.add_argument("--topics", type=int, default=20)
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared/data/banking77")
    parser.add_argument("--cache", type=Path,
                        default=Path.home() / ".cache/faqbot/bench-pool-models")
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--ask-seconds", type=float, default=30.0)
    parser.add_argument("--publishes", type=int, default=10)
    args = parser.parse_args()
    results.write(run(args), args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
