"""The locks the Rasa images install with --no-deps (scripts/lock-images.py) pin what the tests run
with, and the three Rasa images share their first layer. No Docker engine needed: the image
builds themselves prove the locks complete (scripts/image-pip-check.sh)."""

from __future__ import annotations

import importlib.util
import re

import pytest

from tests.stack.checkout import REPO

DOCKERFILES = ["publish-broker/bot/Dockerfile", "publish-broker/Dockerfile",
               "capture-bot/Dockerfile"]
_spec = importlib.util.spec_from_file_location("lock_images", REPO / "scripts/lock-images.py")
lock_images = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lock_images)


def pins(path: str) -> dict[str, str]:
    found = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", (REPO / path).read_text(), re.MULTILINE)
    return {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in found}


RASA, BROKER = pins(lock_images.RASA_LOCK), pins(lock_images.BROKER_LOCK)


@pytest.mark.parametrize("lock", [lock_images.RASA_LOCK, lock_images.BROKER_LOCK])
def test_a_lock_has_the_versions_of_the_constraints(lock) -> None:
    constraints = pins(lock_images.CONSTRAINTS)
    constraints.update(pins_of(lock_images.UNFROZEN))
    constraints.update({new: constraints[old] for old, new in lock_images.SWAP.items()})

    stale = {name: (version, constraints.get(name)) for name, version in pins(lock).items()
             if constraints.get(name) != version}

    assert stale == {}, "run `make image-locks`"


def test_the_locks_have_neither_the_swapped_nor_the_left_out_packages() -> None:
    unwanted = set(lock_images.SWAP) | lock_images.LEFT_OUT

    assert unwanted & (set(RASA) | set(BROKER)) == set()
    assert RASA["tensorflow-cpu"] == pins(lock_images.CONSTRAINTS)["tensorflow"]


@pytest.mark.parametrize("requirements, lock", [
    ("capture-bot/requirements.txt", RASA),
    ("publish-broker/requirements.txt", {**RASA, **BROKER}),
])
def test_an_image_lock_pins_its_requirements(requirements, lock) -> None:
    missing = {name: version for name, version in pins(requirements).items()
               if lock.get(name) != version}

    assert missing == {}, "run `make image-locks`"


def test_the_rasa_images_share_their_first_layer() -> None:
    """Same instructions up to the Rasa install: the engine builds and stores that layer once."""
    firsts = {path: first_layer(path) for path in DOCKERFILES}

    assert len(set(firsts.values())) == 1, firsts
    assert "rasa-image.txt" in firsts[DOCKERFILES[0]]


def first_layer(dockerfile: str) -> str:
    """The instructions up to and including the first RUN, without comments."""
    text = (REPO / dockerfile).read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    instructions = "\n".join(lines).replace("\\\n", " ").split("\n")
    instructions = [" ".join(i.split()) for i in instructions if i.strip()]
    end = next(n for n, i in enumerate(instructions) if i.startswith("RUN "))
    return "\n".join(instructions[: end + 1])


def pins_of(requirements: list[str]) -> dict[str, str]:
    return dict(r.lower().split("==") for r in requirements)
