"""Rasa's environment is written once (publish_broker/rasa_env.py): the images whose processes
need it before Python starts repeat it exactly, the others get it from the runtime."""

from __future__ import annotations

import re

import pytest

from publish_broker.rasa_env import RASA_ENV
from tests.stack.checkout import REPO


def env_of(dockerfile: str) -> dict[str, str]:
    """The variables the Dockerfile's ENV instructions set (NAME=value form)."""
    text = (REPO / dockerfile).read_text().replace("\\\n", " ")
    found = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            found.update(re.findall(r"([A-Z_][A-Z0-9_]*)=(\S+)", line))
    return found


@pytest.mark.parametrize("dockerfile", ["publish-broker/Dockerfile", "capture-bot/Dockerfile"])
def test_an_image_running_rasa_itself_repeats_it_exactly(dockerfile):
    env = env_of(dockerfile)
    assert {name: env.get(name) for name in RASA_ENV} == RASA_ENV


@pytest.mark.parametrize("dockerfile", ["publish-broker/bot/Dockerfile",
                                        "publish-broker/pool/Dockerfile"])
def test_an_image_a_runtime_starts_gets_it_from_the_runtime(dockerfile):
    assert set(env_of(dockerfile)) & set(RASA_ENV) == set()
