"""ProcessRuntime against real ``rasa run`` processes (ports 5300-5399).

One bot per owner is started once per module and reused; every test first deploys the model it
expects, which is a no-op or a hot swap when the bot already runs.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import psutil
import pytest

from publish_broker.errors import DeployError
from publish_broker.runtime import BotKey, Deployment, ProcessRuntime
from tests.publish_broker.runtime_fixtures import (
    TEST_TOKEN,
    Asker,
    TrainedModel,
    intent_of,
    models_fixture,  # noqa: F401 - the `models` fixture
    parse,
    wait_for,
)

pytestmark = pytest.mark.slow

OWNER = BotKey("T0RUNTIME", "U0OWNER1")
OTHER = BotKey("T0RUNTIME", "U0OWNER2")
PORTS = (5300, 5399)


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> ProcessRuntime:
    bots = ProcessRuntime(
        tmp_path_factory.mktemp("process-bots"), TEST_TOKEN,
        port_range=PORTS, stop_on_close=True,
    )  # fmt: skip
    yield bots
    bots.close()  # stops every bot of the module, also after a failure
    assert not list(bots.models_dir.glob("*/bot.json")), "a bot survived the module"


@pytest.fixture
def live(runtime: ProcessRuntime, models: dict[str, TrainedModel]) -> Deployment:
    """OWNER's bot answering with model A."""
    return runtime.deploy(OWNER, models["a"].path, models["a"].digest)


def test_first_deploy_starts_a_bot_that_answers_with_the_model(runtime, models) -> None:
    started = time.monotonic()
    deployment = runtime.deploy(OWNER, models["a"].path, models["a"].digest)
    print(f"\nprocess runtime: first deploy {time.monotonic() - started:.1f} s")

    assert intent_of(deployment.endpoint) == "greet_a"
    assert deployment.endpoint.startswith("http://127.0.0.1:53")
    assert runtime.status(OWNER) == Deployment(deployment.endpoint, models["a"].digest)
    model_file = runtime.models_dir / OWNER.name / f"{models['a'].digest}.tar.gz"
    assert model_file.is_file()


def test_bot_api_requires_the_token(live) -> None:
    assert parse(live.endpoint, token="wrong-token").status_code == 401
    assert parse(live.endpoint, token=None).status_code == 401
    assert parse(live.endpoint).status_code == 200


def test_deploying_the_live_model_again_changes_nothing(runtime, live, models) -> None:
    pid = runtime.pid(OWNER)

    again = runtime.deploy(OWNER, models["a"].path, models["a"].digest)

    assert again == live
    assert runtime.pid(OWNER) == pid


def test_republish_swaps_the_model_with_zero_failed_asks(runtime, live, models) -> None:
    pid = runtime.pid(OWNER)
    with Asker(live.endpoint) as asker:
        wait_for(lambda: asker.asks >= 5, 30, "the first asks")
        started = time.monotonic()
        deployment = runtime.deploy(OWNER, models["b"].path, models["b"].digest)
        print(f"\nprocess runtime: republish {time.monotonic() - started:.2f} s")
        assert intent_of(deployment.endpoint) == "greet_b"  # live as soon as deploy returns
        wait_for(lambda: asker.intents["greet_b"] >= 3, 30, "asks answered by model B")

    assert asker.failures == []
    assert asker.intents["greet_a"] > 0
    assert runtime.pid(OWNER) == pid, "a republish must not restart the bot"
    assert deployment == Deployment(live.endpoint, models["b"].digest)
    bot_models = sorted(p.name for p in (runtime.models_dir / OWNER.name).glob("*.tar.gz"))
    assert bot_models == [f"{models['b'].digest}.tar.gz"]


def test_a_model_the_bot_cannot_load_fails_and_the_old_model_keeps_answering(
    runtime, live, tmp_path
) -> None:
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(b"not a model")

    with pytest.raises(DeployError, match="could not load the new version"):
        runtime.deploy(OWNER, broken, "broken-1")

    assert intent_of(live.endpoint) == "greet_a"
    assert runtime.status(OWNER) == live
    bot_models = [p.name for p in (runtime.models_dir / OWNER.name).glob("*.tar.gz")]
    assert bot_models == [f"{live.model_digest}.tar.gz"], "a failed model must not stay behind"


def test_a_restarted_broker_finds_its_running_bots(runtime, live, models) -> None:
    later = ProcessRuntime(runtime.models_dir, TEST_TOKEN, port_range=PORTS)

    assert later.status(OWNER) == live
    assert later.pid(OWNER) == runtime.pid(OWNER)
    assert later.deploy(OWNER, models["a"].path, models["a"].digest) == live
    assert later.pid(OWNER) == runtime.pid(OWNER)


def test_a_killed_bot_is_restarted_by_the_next_deploy(runtime, live, models) -> None:
    pid = runtime.pid(OWNER)
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: runtime.status(OWNER) is None, 10, "the killed bot to be noticed")

    deployment = runtime.deploy(OWNER, models["a"].path, models["a"].digest)

    assert runtime.pid(OWNER) not in (None, pid)
    assert intent_of(deployment.endpoint) == "greet_a"


def test_owners_are_independent(runtime, live, models) -> None:
    other = runtime.deploy(OTHER, models["b"].path, models["b"].digest)
    assert other.endpoint != live.endpoint

    os.kill(runtime.pid(OWNER), signal.SIGKILL)
    wait_for(lambda: runtime.status(OWNER) is None, 10, "the killed bot to be noticed")

    assert intent_of(other.endpoint) == "greet_b"
    assert runtime.status(OTHER) == other


def test_stop_ends_the_bot_and_frees_its_port(runtime, models) -> None:
    deployment = runtime.deploy(OTHER, models["b"].path, models["b"].digest)
    pid = runtime.pid(OTHER)

    runtime.stop(OTHER)
    runtime.stop(OTHER)  # stopping a stopped bot is not an error

    assert runtime.status(OTHER) is None
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    with socket.socket() as probe:  # nobody listens there any more
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", int(deployment.endpoint.rsplit(":", 1)[1])))


def test_resident_memory_per_bot(runtime, live) -> None:
    rss_mb = psutil.Process(runtime.pid(OWNER)).memory_info().rss / 2**20
    print(f"\nprocess runtime: bot RSS {rss_mb:.0f} MB")

    assert 50 < rss_mb < 1500


def test_a_missing_rasa_program_is_a_deploy_error(tmp_path, models) -> None:
    bots = ProcessRuntime(tmp_path, TEST_TOKEN, str(tmp_path / "no-rasa"), port_range=PORTS)

    with pytest.raises(DeployError, match="could not be started"):
        bots.deploy(OWNER, models["a"].path, models["a"].digest)

    assert bots.status(OWNER) is None
    assert not (tmp_path / OWNER.name / "bot.json").exists()


def test_bot_names_are_deterministic_and_safe() -> None:
    assert BotKey("T123", "U456").name == "faqbot-t123-u456"
    assert BotKey("T123", "U456").name == BotKey("T123", "U456").name
    odd = BotKey("T 1/2", "u.x")
    assert odd.name.startswith("faqbot-t-1-2-u-x-") and odd.name != BotKey("T-1-2", "U-X").name
    with pytest.raises(ValueError):
        BotKey("", "U1")
    assert Path(odd.name).name == odd.name


def test_the_token_is_not_on_the_bot_command_line(runtime, live) -> None:
    command_line = " ".join(psutil.Process(runtime.pid(OWNER)).cmdline())
    assert "publish_broker.bot_server" in command_line
    assert TEST_TOKEN not in command_line
