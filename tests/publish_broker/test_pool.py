"""The bot pool (publish_broker.pool) as a real process, driven through PoolProcessRuntime and
its HTTP API, with real trained Rasa models: isolation between owners, the token, atomic swaps
under load, eviction, corrupt models, restarts, metrics, and answers equal to a Rasa server's."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading

import pytest
import requests

from actions.bot_client import BotUnavailable, ask
from publish_broker.modelfiles import install_model
from publish_broker.runtime.base import BotKey
from publish_broker.runtime.pool_process import PoolProcessRuntime
from tests.publish_broker.faq_data import OFFICE_FAQ, UNRELATED_QUESTIONS, faq_version
from tests.support import logs as log_format
from tests.support.isolation import child_env
from tests.support.services import BOT_AUTH_TOKEN, wait_until

pytestmark = pytest.mark.slow

ALICE, BOB, CAROL = BotKey("T0POOL", "UALICE"), BotKey("T0POOL", "UBOB"), BotKey("T0POOL", "UCAROL")
DAVE = BotKey("T0POOL", "UDAVE")


def _version(topics: list[int], version_id: str) -> dict:
    """A version made of the OFFICE_FAQ topics at these indexes (ids stay the indexes + 1)."""
    full = faq_version(len(OFFICE_FAQ), version_id)
    return {**full, "topics": [full["topics"][i] for i in topics]}


@pytest.fixture(scope="module")
def models(trainer, tmp_path_factory):
    """Alice knows topics 0-4, Bob 5-9, and Alice's next version adds topic 10."""
    out = tmp_path_factory.mktemp("pool-models")
    return {name: trainer.train(_version(topics, name), out / name) for name, topics in
            {"alice": [0, 1, 2, 3, 4], "bob": [5, 6, 7, 8, 9],
             "alice2": [0, 1, 2, 3, 4, 10]}.items()}


@pytest.fixture(scope="module")
def pool(models, tmp_path_factory):
    runtime = PoolProcessRuntime(tmp_path_factory.mktemp("pool-bots"), BOT_AUTH_TOKEN,
                                 port=5311, memory_budget_mb=64, stop_on_close=True)
    runtime.deploy(ALICE, models["alice"].path, models["alice"].digest)
    runtime.deploy(BOB, models["bob"].path, models["bob"].digest)
    yield runtime
    runtime.close()


def _answer(runtime: PoolProcessRuntime, key: BotKey, question: str):
    deployment = runtime.status(key)
    assert deployment is not None, f"{key.name} is not live"
    return ask(deployment.endpoint, BOT_AUTH_TOKEN, question)


def test_two_owners_in_one_pool_never_see_each_others_answers(pool):
    for index in range(5):
        alice_asks, bob_asks = OFFICE_FAQ[index][3], OFFICE_FAQ[index + 5][3]
        assert _answer(pool, ALICE, alice_asks).text == OFFICE_FAQ[index][2], alice_asks
        assert _answer(pool, BOB, bob_asks).text == OFFICE_FAQ[index + 5][2], bob_asks
        # Each other's questions: never the other owner's answer.
        assert _answer(pool, ALICE, bob_asks).text not in {t[2] for t in OFFICE_FAQ[5:10]}
        assert _answer(pool, BOB, alice_asks).text not in {t[2] for t in OFFICE_FAQ[:5]}


def test_the_pool_answers_exactly_as_a_rasa_server_with_the_same_model(pool, models):
    from rasa.core.agent import Agent

    agent = Agent.load(str(models["alice"].path))
    # An owner of its own: other tests of this module move Alice on to her next version.
    endpoint = pool.deploy(DAVE, models["alice"].path, models["alice"].digest).endpoint
    loop = asyncio.new_event_loop()
    try:
        for question in [t[3] for t in OFFICE_FAQ[:10]] + UNRELATED_QUESTIONS:
            rasa = loop.run_until_complete(agent.parse_message(question))
            ours = requests.post(f"{endpoint}/model/parse", params={"token": BOT_AUTH_TOKEN},
                                 json={"text": question}, timeout=5).json()
            for key in ("intent", "intent_ranking", "response_selector"):
                # Within 1e-6: the encoder's threads (one in the pool) change the last bits.
                assert _same(ours.get(key), rasa.get(key)), (question, key, ours.get(key),
                                                            rasa.get(key))
    finally:
        loop.close()


@pytest.mark.parametrize("method, path", [
    ("POST", "/bots/{bot}/model/parse"), ("PUT", "/bots/{bot}/model"),
    ("GET", "/bots/{bot}/status"), ("DELETE", "/bots/{bot}"), ("GET", "/metrics")])
def test_every_route_but_health_needs_the_token(pool, method, path):
    url = pool._url + path.format(bot=ALICE.name)

    for params in ({}, {"token": "wrong-token-0123456789"}, {"token": BOT_AUTH_TOKEN + "x"}):
        refused = requests.request(method, url, params=params, json={"text": "hi"}, timeout=5)
        assert refused.status_code == 401, (params, refused.text)
    assert requests.get(f"{pool._url}/health", timeout=5).status_code == 200
    assert _answer(pool, ALICE, OFFICE_FAQ[0][3]).text == OFFICE_FAQ[0][2]  # still there


def test_one_log_line_per_request_with_its_id_and_never_the_token(pool):
    url = f"{pool._url}/bots/{ALICE.name}/model/parse"
    answer = requests.post(url, params={"token": BOT_AUTH_TOKEN}, json={"text": "hi"},
                           headers={"X-Request-ID": "ask-17"}, timeout=5)
    assert answer.status_code == 200 and answer.headers["X-Request-ID"] == "ask-17"
    refused = requests.post(url, params={"token": "wrong-token-0123456789"}, timeout=5)
    assert refused.status_code == 401
    lines = [f"request ask-17: POST {url[len(pool._url):]} 200 (",
             f"request {refused.headers['X-Request-ID']}: POST {url[len(pool._url):]} 401 ("]
    log_path = pool.models_dir / "pool.log"
    wait_until(lambda: all(line in log_path.read_text() for line in lines), timeout=10,
               what="the requests' log lines")
    log = log_path.read_text()
    assert BOT_AUTH_TOKEN not in log and "token=" not in log
    log_format.check(log, "bot pool")  # a refused request is not a problem of the pool's


def test_a_bearer_token_works_too_and_bad_input_gets_a_clear_error(pool):
    url = f"{pool._url}/bots/{ALICE.name}/model/parse"
    headers = {"Authorization": f"Bearer {BOT_AUTH_TOKEN}"}

    assert requests.post(url, headers=headers, json={"text": "hi"}, timeout=5).status_code == 200
    for body in ({}, {"text": 3}, {"text": "x" * 3000}):
        bad = requests.post(url, headers=headers, json=body, timeout=5)
        assert bad.status_code == 400 and "text" in bad.json()["message"], body
    unknown = requests.post(f"{pool._url}/bots/faqbot-t0pool-nobody/model/parse",
                            headers=headers, json={"text": "hi"}, timeout=5)
    assert unknown.status_code == 404
    escape = requests.get(f"{pool._url}/bots/..%2F..%2Fetc/status", headers=headers, timeout=5)
    assert escape.status_code == 404
    odd = requests.put(f"{pool._url}/bots/{ALICE.name}/model", headers=headers,
                       json={"model_file": "not a digest!.tar.gz"}, timeout=5)
    assert odd.status_code == 400 and "model_file" in odd.json()["message"]


def test_republish_under_continuous_asks_fails_no_ask(pool, models):
    endpoint = pool.status(ALICE).endpoint
    failures, answers, done = [], [], threading.Event()

    def keep_asking():
        while not done.is_set():
            try:
                answers.append(ask(endpoint, BOT_AUTH_TOKEN, OFFICE_FAQ[0][3]).text)
            except BotUnavailable as exc:
                failures.append(exc)

    asker = threading.Thread(target=keep_asking)
    asker.start()
    try:
        wait_until(lambda: len(answers) >= 3, timeout=10, what="asks before the swaps")
        for name in ("alice2", "alice", "alice2"):
            assert pool.deploy(ALICE, models[name].path, models[name].digest).endpoint == endpoint
            during = len(answers)
            wait_until(lambda: len(answers) >= during + 3, timeout=10, what="asks after a swap")  # noqa: B023
    finally:
        done.set()
        asker.join(timeout=30)

    assert failures == []
    assert set(answers) == {OFFICE_FAQ[0][2]}
    assert pool.status(ALICE).model_digest == models["alice2"].digest
    assert _answer(pool, ALICE, OFFICE_FAQ[10][3]).text == OFFICE_FAQ[10][2]  # the new topic


def test_a_corrupt_model_fails_for_its_owner_alone(pool, models, tmp_path):
    from publish_broker.errors import DeployError

    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(b"not a model at all")
    with pytest.raises(DeployError):
        pool.deploy(CAROL, broken, "brokendigest")
    # A corrupt file where a restarted pool would look for Carol's model.
    install_model(broken, pool.models_dir / CAROL.name, "corruptdigest")
    carol = requests.post(f"{pool._url}/bots/{CAROL.name}/model/parse",
                          params={"token": BOT_AUTH_TOKEN}, json={"text": "hi"}, timeout=5)

    assert carol.status_code == 503 and carol.json()["error"] == "model_unreadable"
    assert _answer(pool, BOB, OFFICE_FAQ[5][3]).text == OFFICE_FAQ[5][2]
    pool.stop(CAROL)


def test_owners_over_the_memory_budget_are_evicted_and_reloaded_on_their_next_ask(
        models, tmp_path):
    runtime = PoolProcessRuntime(tmp_path, BOT_AUTH_TOKEN, port=5312, memory_budget_mb=1,
                                 stop_on_close=True)
    owners = [BotKey("T0EVICT", f"U{n}") for n in range(20)]
    try:
        for owner in owners:
            runtime.deploy(owner, models["bob"].path, models["bob"].digest)
        metrics = _metrics(runtime)
        assert metrics["faqbot_pool_evictions_total"] >= 1
        assert metrics["faqbot_pool_owners_loaded"] < len(owners)
        for owner in owners:  # the evicted ones first: each is loaded again, and answers
            assert _answer(runtime, owner, OFFICE_FAQ[6][3]).text == OFFICE_FAQ[6][2]
        assert _metrics(runtime)["faqbot_pool_loads_total"] > len(owners)
    finally:
        runtime.close()


def test_a_killed_pool_comes_back_answering_for_every_owner_from_the_stored_models(pool):
    old_pid = pool.pid()
    subprocess.run(["kill", "-9", str(old_pid)], check=True)
    wait_until(lambda: not pool._healthy(), timeout=10, what="the pool to die")

    pool.start()  # what the broker does at warm-up and on its next deploy

    assert pool.pid() not in (None, old_pid)
    assert _answer(pool, ALICE, OFFICE_FAQ[10][3]).text == OFFICE_FAQ[10][2]
    assert _answer(pool, BOB, OFFICE_FAQ[5][3]).text == OFFICE_FAQ[5][2]


def test_metrics_are_in_prometheus_text_format(pool):
    _answer(pool, ALICE, OFFICE_FAQ[0][3])

    metrics = _metrics(pool)

    assert metrics["faqbot_pool_owners_loaded"] >= 1
    assert metrics["faqbot_pool_loads_total"] >= 1
    assert metrics['faqbot_pool_ask_seconds_count{outcome="faq"}'] >= 1
    assert "faqbot_pool_evictions_total" in metrics
    # Every ask's question went through an encoder pass (publish_broker.pool.batching).
    assert metrics["faqbot_pool_encode_batch_size_sum"] >= 1


def test_the_pool_imports_neither_rasa_nor_tensorflow():
    check = ("import sys, publish_broker.pool.__main__, publish_broker.pool.server; "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in "
             "('rasa', 'tensorflow', 'docker', 'celery', 'nltk')))")
    env = child_env(PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                         check=True, env=env)
    assert out.stdout.strip() == "[]"


def _same(ours, theirs, tolerance: float = 1e-6) -> bool:
    """Equal, but for numbers within `tolerance` (rounding both to 6 places failed when one
    fell on either side of a rounding boundary)."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        return ours.keys() == theirs.keys() and all(
            _same(ours[key], theirs[key], tolerance) for key in ours)
    if isinstance(ours, list) and isinstance(theirs, list):
        return len(ours) == len(theirs) and all(
            _same(mine, other, tolerance) for mine, other in zip(ours, theirs, strict=True))
    numbers = (int, float)
    if isinstance(ours, numbers) and isinstance(theirs, numbers) and not isinstance(ours, bool):
        return abs(ours - theirs) <= tolerance
    return ours == theirs


def _metrics(runtime: PoolProcessRuntime) -> dict[str, float]:
    text = requests.get(f"{runtime._url}/metrics", params={"token": BOT_AUTH_TOKEN},
                        timeout=5).text
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def test_owners_idle_for_longer_than_the_setting_are_evicted(models, tmp_path):
    from publish_broker.pool.registry import BotRegistry

    now = [1000.0]
    registry = BotRegistry(tmp_path, budget_bytes=2**30, idle_seconds=60, clock=lambda: now[0])
    for key, name in ((ALICE, "alice"), (BOB, "bob")):
        install_model(models[name].path, tmp_path / key.name, models[name].digest)
        registry.load(key.name, models[name].digest)
    now[0] += 45
    registry.parse(BOB.name, OFFICE_FAQ[5][3])  # Bob was asked; Alice was not
    now[0] += 30

    assert registry.evict_idle() == 1
    assert registry.loaded() == [BOB.name]
    answer = registry.parse(ALICE.name, OFFICE_FAQ[0][3])  # loaded again from her stored model
    assert answer["response_selector"]["default"]["response"]["responses"][0]["text"] == (
        OFFICE_FAQ[0][2])
    assert (registry.stats.loads, registry.stats.evictions) == (3, 1)
