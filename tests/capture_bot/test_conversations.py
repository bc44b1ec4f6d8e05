"""Rasa conversation tests: every test story in capture-bot/tests passes with the trained model."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import yaml

from tests.capture_bot.servers import BOT_DIR

STORY_FILES = sorted((BOT_DIR / "tests").glob("test_*.yml"))


@pytest.fixture(scope="module")
def agent(concierge_model):
    from rasa.core.agent import Agent

    return Agent.load(model_path=str(concierge_model))


def test_every_flow_has_test_stories():
    names = {path.stem for path in STORY_FILES}
    assert {"test_greet_help_fallback", "test_add_topic", "test_topics_publish",
            "test_ask_user", "test_learning_loop"} <= names


@pytest.mark.slow
@pytest.mark.parametrize("stories", STORY_FILES, ids=lambda path: path.stem)
def test_story_file_passes(agent, stories: Path, tmp_path):
    from rasa.core.test import test

    asyncio.run(test(str(stories), agent, e2e=True, out_directory=str(tmp_path),
                     disable_plotting=True))
    report = json.loads((tmp_path / "story_report.json").read_text())
    failed = (tmp_path / "failed_test_stories.yml").read_text()
    accuracy = report["conversation_accuracy"]
    assert accuracy["correct"] == accuracy["total"] > 0, failed


def test_no_message_has_more_than_five_buttons():
    # Rasa's Slack channel silently turns more than 5 buttons into plain text.
    domain = yaml.safe_load((BOT_DIR / "domain.yml").read_text())
    counts = {name: len(variant.get("buttons") or [])
              for name, variants in domain["responses"].items() for variant in variants}
    assert counts and max(counts.values()) <= 5, counts
