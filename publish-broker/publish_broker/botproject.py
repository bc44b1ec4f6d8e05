"""The Rasa 3.6 project generated for one owner's published version.

One retrieval intent ``faq`` whose response keys are the topics (``faq/t<id>``), with the
topics' answers as its responses. The NLU pipeline is ``FaqMatcher``
(publish_broker.nlu_components) followed by a FallbackClassifier, whose ``nlu_fallback`` means
"I don't know", both with the matcher's ``FALLBACK_THRESHOLD``: the matcher maps its calibrated
cut between "known" and "I don't know" onto it, so the threshold is a fixed point of the scale,
not a setting.

An NLU-only project: bots are only ever asked through ``POST /model/parse`` (a pool, or a
plain ``rasa run --enable-api`` serving the archive), so there are no rules, policies or
session settings to train, load and never call.

The project is plain data (file name → YAML text) built deterministically from the version, so
its sha256 is the model digest: same topics and settings → same digest → no retraining.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from publish_broker.constants import (
    DISMISSED_INTENT,
    DISMISSED_SOURCE,
    FAQ_INTENT,
    OWNER_SOURCE,
    PARAPHRASE_SOURCE,
)
from publish_broker.errors import TrainingError
from publish_broker.matcher import FALLBACK_THRESHOLD
from publish_broker.paraphrase import training_examples

logger = logging.getLogger(__name__)

MATCHER_COMPONENT = "publish_broker.nlu_components.FaqMatcher"
# Part of the digest: bump it when the generated project or the matcher's training changes
# meaning (pipeline, rules, what FaqMatcher learns), so that every bot is retrained on publish.
# 3: the matcher embeds answers, cross-validated cut; 4: the cut also set against a background
# of generic questions and the owner's dismissed ones; 5: NLU only (no rules, policies or
# session settings).
PROJECT_FORMAT = "faq-bot/5"
# Questions the owner dismissed (the version's ``dismissed_questions``) are DISMISSED_INTENT,
# which has no response; the matcher sets its cut so that they are refused (publish_broker.matcher).
MAX_DISMISSED = 500  # the most recent ones count; older ones add little and cost training time

CONFIG_FILE, DOMAIN_FILE, NLU_FILE = "config.yml", "domain.yml", "data/nlu.yml"

_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's: ~5x faster
_UNSAFE_ID_CHARS = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class BotProject:
    """A generated Rasa project: relative file name → YAML text."""

    files: Mapping[str, str]

    @property
    def digest(self) -> str:
        """sha256 (hex) of the project format and every file's content."""
        canonical = json.dumps([PROJECT_FORMAT, sorted(self.files.items())], ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def write(self, directory: Path) -> None:
        """Writes the files under ``directory``; raises OSError if it cannot."""
        for name, text in sorted(self.files.items()):
            path = directory / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")


def topic_key(topic_id: Any) -> str:
    """The response key of a topic inside the ``faq`` intent: ``t`` + its id, made safe."""
    return "t" + _UNSAFE_ID_CHARS.sub("_", str(topic_id))


def build_project(version: dict, examples_per_topic: int) -> BotProject:
    """Generates the project of a version (``GET /v1/versions/{id}`` JSON).

    Raises TrainingError if the version has no topics or a topic lacks a question or answer.
    """
    topics = _valid_topics(version)
    nlu, responses = [], {}
    for topic in topics:
        key = f"{FAQ_INTENT}/{topic_key(topic['id'])}"
        phrasings = [topic["question"], *topic.get("alternatives", [])]
        nlu.extend(_nlu_blocks(key, phrasings, examples_per_topic))
        responses[f"utter_{key}"] = [{"text": topic["answer"]}]
    dismissed = dismissed_questions(version)
    if dismissed:
        nlu.append({"intent": DISMISSED_INTENT, "metadata": {"source": DISMISSED_SOURCE},
                    "examples": _examples_block(dismissed)})
    return BotProject(
        {
            CONFIG_FILE: _dump(_config()),
            DOMAIN_FILE: _dump(_domain(responses, with_dismissed=bool(dismissed))),
            NLU_FILE: _dump({"version": "3.1", "nlu": nlu}),
        }
    )


def matcher_examples(version: dict, examples_per_topic: int) -> tuple[list, dict]:
    """The examples and responses FaqMatcher receives from Rasa for this version's project:
    ``(text, "faq/t<id>", source)`` triples and ``{"utter_faq/t<id>": [{"text": answer}]}``.

    For tools that fit publish_broker.matcher.FaqModel without Rasa (bench/pool_scale.py).
    Raises TrainingError as build_project does.
    """
    examples, responses = [], {}
    for topic in _valid_topics(version):
        key = f"{FAQ_INTENT}/{topic_key(topic['id'])}"
        phrasings = [topic["question"], *topic.get("alternatives", [])]
        for block in _nlu_blocks(key, phrasings, examples_per_topic):
            source = block["metadata"]["source"]
            examples += [(line[2:], key, source) for line in block["examples"].splitlines()]
        responses[f"utter_{key}"] = [{"text": topic["answer"]}]
    examples += [(text, "", DISMISSED_SOURCE) for text in dismissed_questions(version)]
    return examples, responses


def dismissed_questions(version: dict) -> list[str]:
    """The version's ``dismissed_questions`` (strings, the last ``MAX_DISMISSED``), cleaned as
    training examples are; an absent list is none.

    Raises TrainingError if the field is not a list of strings.
    """
    dismissed = version.get("dismissed_questions", [])
    if not isinstance(dismissed, list) or not all(isinstance(q, str) for q in dismissed):
        raise TrainingError("The dismissed questions of this version are malformed.")
    cleaned = (" ".join(q.replace("[", "(").replace("]", ")").split()) for q in dismissed)
    return list(dict.fromkeys(q for q in cleaned if q))[-MAX_DISMISSED:]


def _valid_topics(version: dict) -> list[dict]:
    topics = version.get("topics") if isinstance(version, dict) else None
    if not topics or not isinstance(topics, list):
        raise TrainingError("There are no topics to publish.")
    seen: dict[str, Any] = {}
    for topic in topics:
        _check_topic(topic)
        key = topic_key(topic["id"])
        if key in seen:
            raise TrainingError(f"Topics {seen[key]} and {topic['id']} have clashing ids.")
        seen[key] = topic["id"]
    return sorted(topics, key=lambda topic: topic_key(topic["id"]))


def _check_topic(topic: Any) -> None:
    if not isinstance(topic, dict) or topic.get("id") in (None, ""):
        raise TrainingError("A topic of this version is malformed (it has no id).")
    for field in ("question", "answer"):
        value = topic.get(field)
        if not isinstance(value, str) or not value.strip():
            raise TrainingError(f"Topic {topic['id']} has no {field}.")
    alternatives = topic.get("alternatives", [])
    if not isinstance(alternatives, list) or not all(isinstance(a, str) for a in alternatives):
        raise TrainingError(f"The alternative questions of topic {topic['id']} are malformed.")


def _nlu_blocks(key: str, phrasings: list[str], examples_per_topic: int) -> list[dict]:
    """The owner's phrasings and their WordNet paraphrases as two blocks of one intent, each
    marked with its source: the matcher encodes only the owner's (see FaqMatcher)."""
    examples = training_examples(phrasings, examples_per_topic)
    owned = len({" ".join(p.split()).casefold() for p in phrasings if p.strip()})
    blocks = [{"intent": key, "metadata": {"source": OWNER_SOURCE},
               "examples": _examples_block(examples[:owned])}]
    if examples[owned:]:
        blocks.append({"intent": key, "metadata": {"source": PARAPHRASE_SOURCE},
                       "examples": _examples_block(examples[owned:])})
    return blocks


def _examples_block(examples: list[str]) -> str:
    # Square brackets would be read as Rasa entity annotations; the matcher ignores them anyway.
    cleaned = (" ".join(e.replace("[", "(").replace("]", ")").split()) for e in examples)
    return "".join(f"- {example}\n" for example in cleaned if example)


def matcher_config() -> dict:
    """FaqMatcher's configuration in every generated project (its pipeline entry)."""
    return {"fallback_threshold": FALLBACK_THRESHOLD}


def _config() -> dict:
    return {
        "recipe": "default.v1",
        "language": "en",
        "assistant_id": "faq-bot",
        "pipeline": [
            {"name": MATCHER_COMPONENT, **matcher_config()},
            {"name": "FallbackClassifier", "threshold": FALLBACK_THRESHOLD},
        ],
    }


def _domain(responses: dict, with_dismissed: bool = False) -> dict:
    # The matcher reads the answers from the responses (Rasa hands them to NLU components).
    return {
        "version": "3.1",
        "intents": [FAQ_INTENT, DISMISSED_INTENT] if with_dismissed else [FAQ_INTENT],
        "responses": responses,
    }


def _dump(data: dict) -> str:
    return yaml.dump(data, Dumper=_DUMPER, sort_keys=False, allow_unicode=True, width=1_000_000)
