"""Trains an owner's bot model inside the (warm) worker process with rasa.model_training.

Rasa runs with the environment of rasa_env.py (no training cache, no telemetry); each training
writes into its own temporary project directory and the caller's ``out_dir``.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from publish_broker.botproject import BotProject, build_project
from publish_broker.errors import TrainingError
from publish_broker.rasa_env import RASA_ENV
from publish_broker.settings import default

logger = logging.getLogger(__name__)

_RASA_ENVIRONMENT = {
    **RASA_ENV,
    "LOG_LEVEL": "WARNING",  # Rasa's own variable; WARNING also turns off its progress bars
}
# Expected with our design: FaqMatcher plays the response selector Rasa looks for by class;
# the dismissed questions' intent may hold a single question (the matcher needs no minimum).
_EXPECTED_WARNINGS = (r".*(does not include a response selector component|duplicated intents"
                      r"|Intent 'out_of_scope' has only)")
_WARM_UP_VERSION = {
    "id": "warm-up",
    "topics": [
        {"id": 1, "question": "How do I reset my password?", "answer": "a"},
        {"id": 2, "question": "Where can I book a meeting room?", "answer": "b"},
    ],
}


@dataclass(frozen=True)
class TrainedModel:
    """A trained model archive and the digest of the project it was trained from."""

    path: Path
    digest: str


class Trainer:
    """Turns a published version into a Rasa model archive."""

    def __init__(self, paraphrases_per_topic: int = default("PARAPHRASES_PER_TOPIC")) -> None:
        """``paraphrases_per_topic`` caps a topic's training examples (the owner's phrasings
        are always kept). When a bot says "I don't know" is the matcher's own, calibrated per
        bot (publish_broker.matcher).

        Raises ValueError for a cap below 1.
        """
        if paraphrases_per_topic < 1:
            raise ValueError(f"paraphrases_per_topic must be >= 1, got {paraphrases_per_topic}")
        self.paraphrases_per_topic = paraphrases_per_topic
        configure_rasa_environment()

    def warm_up(self) -> None:
        """Imports Rasa and WordNet and trains a tiny model once, so real trainings are fast.

        Raises TrainingError if even the tiny model cannot be trained (a broken installation).
        """
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="faqbot-warm-up-") as out_dir:
            self.train(_WARM_UP_VERSION, Path(out_dir))
        logger.info("Rasa trainer warmed up in %.1f s", time.perf_counter() - started)

    def digest(self, version: dict) -> str:
        """The digest a training of ``version`` would have; raises TrainingError if invalid."""
        return self._project(version).digest

    def train(self, version: dict, out_dir: Path) -> TrainedModel:
        """Trains ``version`` into ``out_dir/<digest>.tar.gz``.

        Raises TrainingError if the version is invalid or Rasa rejects the generated project;
        raises OSError if the files cannot be written.
        """
        started = time.perf_counter()
        model = train_project(self._project(version), out_dir)
        topics = len(version.get("topics") or [])
        elapsed = time.perf_counter() - started
        logger.info("trained version %s (%d topics) in %.2f s", version.get("id"), topics, elapsed)
        return model

    def _project(self, version: dict) -> BotProject:
        return build_project(version, self.paraphrases_per_topic)


def train_project(project: BotProject, out_dir: Path) -> TrainedModel:
    """Trains a generated project into ``out_dir/<digest>.tar.gz``.

    Raises TrainingError if Rasa rejects the project, OSError if files cannot be written.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="faqbot-project-") as project_dir:
        project.write(Path(project_dir))
        path = _run_rasa(Path(project_dir), out_dir, model_name=project.digest)
    return TrainedModel(path=path, digest=project.digest)


def configure_rasa_environment() -> None:
    """Sets Rasa's variables (unless already set) and keeps structlog quiet below WARNING.

    Without a structlog configuration Rasa's rule policy prints its debug state on every
    prediction. Call before Rasa is used (the Trainer does).
    """
    for name, value in _RASA_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    import structlog

    if not structlog.is_configured():
        level = logging.getLevelName(os.environ["LOG_LEVEL"])
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(level))


def _run_rasa(project_dir: Path, out_dir: Path, model_name: str) -> Path:
    """Runs Rasa's training; raises TrainingError for its SystemExit, errors or missing model."""
    import rasa.model_training
    from rasa.shared.exceptions import RasaException

    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_EXPECTED_WARNINGS)
            result = rasa.model_training.train(
                domain=str(project_dir / "domain.yml"),
                config=str(project_dir / "config.yml"),
                training_files=[str(project_dir / "data")],
                output=str(out_dir),
                force_training=True,
                fixed_model_name=model_name,
            )
    except (SystemExit, RasaException) as exc:
        logger.warning("Rasa rejected the generated project: %r", exc)
        raise TrainingError("The bot could not be trained from these topics.") from exc
    if result.code != 0 or not result.model:
        raise TrainingError("The bot could not be trained from these topics.")
    return Path(result.model)
