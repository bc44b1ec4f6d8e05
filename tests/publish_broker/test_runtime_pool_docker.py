"""PoolDockerRuntime against a real Docker engine and the pool image built from its Dockerfile:
hardened pool containers, owners assigned to pools up to a capacity, a dead pool replaced, an
image without Rasa or TensorFlow. Containers and networks carry ``faqbot.test=pool-<run id>``
and a run-specific name prefix, and are removed in teardown."""

from __future__ import annotations

import docker
import pytest

from actions.bot_client import ask
from publish_broker.runtime import BotKey
from publish_broker.runtime.pool_docker import PoolDockerRuntime
from tests.publish_broker.faq_data import OFFICE_FAQ
from tests.support import isolation
from tests.support.docker_engine import POOL_DOCKERFILE, build_image, docker_marks
from tests.support.services import BOT_AUTH_TOKEN

RUN_ID = isolation.RUN_ID
TEST_LABELS = isolation.test_labels("pool")
IMAGE = "faqbot-pool:runtime-test"
PREFIX = f"faqbot-t{RUN_ID}-pool-"
OWNERS = [BotKey(f"T0P{RUN_ID.upper()}", f"U0OWNER{n}") for n in range(3)]
# Every host running pools pulls this image. It carries numpy, scipy, scikit-learn, the
# encoder's weights (~90 MB) and runtime (onnxruntime + onnx, ~66 MB), no Rasa or TensorFlow:
# 0.81 GB on the sandbox's stand-in base
# (322 MB; the official python:3.10-slim is ~125 MB). Decimal GB, as `docker images` shows it.
MAX_IMAGE_BYTES = 10**9

pytestmark = docker_marks()


@pytest.fixture(scope="module")
def client():
    engine = docker.from_env(timeout=120)
    yield engine
    for container in engine.containers.list(all=True, filters={"label": _label_filter()}):
        container.remove(force=True)
    engine.close()


@pytest.fixture(scope="module")
def pool_image(client) -> str:
    build_image(POOL_DOCKERFILE, IMAGE)
    return IMAGE


@pytest.fixture(scope="module")
def runtime(client, pool_image, tmp_path_factory) -> PoolDockerRuntime:
    network = client.networks.create(f"faqbot-pool-rt-{RUN_ID}", driver="bridge",
                                     labels=TEST_LABELS)
    models_dir = tmp_path_factory.mktemp("pool-docker-models")
    models_dir.chmod(0o755)  # the pools' non-root user reads it through the bind mount
    yield PoolDockerRuntime(client, pool_image, BOT_AUTH_TOKEN, network.name, str(models_dir),
                            models_dir, publish_ports=True, owners_per_pool=2,
                            mem_limit="512m", memory_budget_mb=128, cpus=1.0,
                            labels=TEST_LABELS, name_prefix=PREFIX)
    for container in client.containers.list(all=True, filters={"label": _label_filter()}):
        container.remove(force=True)
    network.remove()


@pytest.fixture(scope="module")
def deployed(runtime, three_topic_model) -> dict:
    return {key: runtime.deploy(key, three_topic_model.path, three_topic_model.digest)
            for key in OWNERS}


def test_owners_are_assigned_to_pools_up_to_their_capacity_and_answer(runtime, deployed):
    pools = {key: deployment.endpoint.rsplit("/bots/", 1)[0]
             for key, deployment in deployed.items()}

    assert pools[OWNERS[0]] == pools[OWNERS[1]] != pools[OWNERS[2]]
    for key, deployment in deployed.items():
        assert deployment.endpoint.endswith(f"/bots/{key.name}")
        assert ask(deployment.endpoint, BOT_AUTH_TOKEN, OFFICE_FAQ[1][3]).text == OFFICE_FAQ[1][2]
        assert runtime.status(key) == deployment
    assert [c.name for c in (runtime.pool_container(k) for k in OWNERS)] == [
        f"{PREFIX}1", f"{PREFIX}1", f"{PREFIX}2"]


def test_pool_containers_are_hardened(runtime, deployed):
    attrs = runtime.pool_container(OWNERS[0]).attrs
    host = attrs["HostConfig"]

    assert attrs["Config"]["User"] == "pool"
    assert host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"]
    assert "no-new-privileges" in host["SecurityOpt"]
    assert host["PidsLimit"] == 64
    assert host["Memory"] == 512 * 2**20
    assert host["NanoCpus"] == 10**9
    assert host["RestartPolicy"]["Name"] == "unless-stopped"
    assert [(m["Destination"], m["RW"]) for m in attrs["Mounts"]] == [("/models", False)]
    assert attrs["Config"]["Labels"]["faqbot.managed"] == "true"
    assert "BOT_AUTH_TOKEN" not in " ".join(attrs["Config"]["Cmd"] or [])


def test_a_dead_pool_is_replaced_and_its_owners_answer_again_without_a_new_model(
        runtime, deployed, three_topic_model):
    old = runtime.pool_container(OWNERS[2])
    old.remove(force=True)
    assert runtime.status(OWNERS[2]) is None

    redeployed = runtime.deploy(OWNERS[2], runtime.stored_model(OWNERS[2],
                                three_topic_model.digest), three_topic_model.digest)

    assert runtime.pool_container(OWNERS[2]).id != old.id
    assert runtime.pool_container(OWNERS[2]).name == old.name  # the assignment is stable
    assert ask(redeployed.endpoint, BOT_AUTH_TOKEN, OFFICE_FAQ[0][3]).text == OFFICE_FAQ[0][2]


def test_stop_forgets_the_owner_and_frees_its_place(runtime, deployed, three_topic_model):
    runtime.stop(OWNERS[1])

    assert runtime.status(OWNERS[1]) is None
    assert runtime.stored_model(OWNERS[1], three_topic_model.digest) is None
    newcomer = BotKey(OWNERS[0].team_id, "U0NEWCOMER")
    placed = runtime.deploy(newcomer, three_topic_model.path, three_topic_model.digest)
    assert runtime.pool_container(newcomer).name == f"{PREFIX}1"  # the freed place
    runtime.stop(newcomer)
    assert placed.endpoint.endswith(newcomer.name)


def test_the_pool_image_is_small_and_has_neither_rasa_nor_tensorflow(client, pool_image):
    size = client.images.get(pool_image).attrs["Size"]
    check = ("import importlib.util as u; "
             "print([m for m in ('rasa', 'tensorflow', 'torch') if u.find_spec(m)])")
    output = client.containers.run(pool_image, ["python", "-c", check], remove=True,
                                   network_mode="none", labels=TEST_LABELS)

    assert output.decode().strip() == "[]"
    assert size < MAX_IMAGE_BYTES, f"pool image is {size / 1e9:.2f} GB"


def _label_filter() -> str:
    return f"{isolation.RUN_LABEL}={RUN_ID}"
