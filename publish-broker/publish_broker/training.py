"""Trains an owner's bot model inside the (warm) worker process with Rasa's training graph.

The generated project (publish_broker.botproject) is handed to Rasa from memory
(publish_broker.project_importer) and trained as ``rasa train`` trains a project without stories:
the NLU graph, every component trained (``force_training``), packaged as a Rasa model archive.
Rasa runs with the environment of rasa_env.py (no training cache, no telemetry); each training
writes into its own temporary storage and the caller's ``out_dir``.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import threadpoolctl
import yaml

from publish_broker.botproject import BotProject, build_project, matcher_config, matcher_examples
from publish_broker.errors import TrainingError
from publish_broker.matcher import fit_once
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
        self._last_project: tuple[str, BotProject] | None = None
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

    def preview(self, version: dict, out_dir: Path) -> TrainedModel:
        """Fits ``version``'s matcher without Rasa into ``out_dir/preview/<digest>.tar.gz``, a
        matcher-only archive a pool answers with (``FaqModel.to_archive``); ``train`` then
        reuses this fit (``matcher.fit_once``) for the Rasa archive.

        Raises TrainingError if the version is invalid; OSError if files cannot be written.
        """
        started = time.perf_counter()
        project = self._project(version)
        examples, responses = matcher_examples(version, self.paraphrases_per_topic)
        model = fit_once(examples, responses, matcher_config())
        path = out_dir / "preview" / f"{project.digest}.tar.gz"
        path.parent.mkdir(parents=True, exist_ok=True)
        model.to_archive(path)
        logger.info("fitted the matcher of version %s in %.2f s", version.get("id"),
                    time.perf_counter() - started)
        return TrainedModel(path=path, digest=project.digest)

    def _project(self, version: dict) -> BotProject:
        # A publish asks for the digest, then trains the same version: build it (and run
        # WordNet over it) once.
        key = json.dumps(version, sort_keys=True, default=str)
        last = self._last_project
        if last is None or last[0] != key:
            last = self._last_project = (key, build_project(version, self.paraphrases_per_topic))
        return last[1]


def train_project(project: BotProject, out_dir: Path) -> TrainedModel:
    """Trains a generated project into ``out_dir/<digest>.tar.gz``, from memory
    (publish_broker.project_importer); ``project.write`` gives the same project as files for
    ``rasa train``.

    Raises TrainingError if Rasa rejects the project, OSError if files cannot be written.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    path = _run_rasa(project, out_dir / f"{project.digest}.tar.gz")
    return TrainedModel(path=path, digest=project.digest)


def configure_rasa_environment() -> None:
    """Sets Rasa's variables (unless already set), one BLAS thread, and keeps structlog quiet
    below WARNING.

    Without a structlog configuration Rasa's rule policy prints its debug state on every
    prediction. Call before Rasa is used (the Trainer does).
    """
    for name, value in _RASA_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    # OPENBLAS_NUM_THREADS counts only before numpy is loaded, which a worker started without
    # RASA_ENV (a test's, a bench's) has done by now; a second BLAS thread spinning beside the
    # pool on two cores made a fit up to 5x slower (docs/benchmarks.md).
    threadpoolctl.threadpool_limits(limits=1, user_api="blas")
    import structlog

    if not structlog.is_configured():
        level = logging.getLevelName(os.environ["LOG_LEVEL"])
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(level))


def _run_rasa(project: BotProject, path: Path) -> Path:
    """Runs Rasa's training graph; raises TrainingError for its SystemExit, errors or a
    missing model."""
    from rasa.model_training import _train_graph
    from rasa.shared.data import TrainingType
    from rasa.shared.exceptions import RasaException

    from publish_broker.project_importer import project_importer

    try:
        # Rasa prints "Your Rasa model is trained..." on stdout, which Celery logs as a warning.
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.filterwarnings("ignore", message=_EXPECTED_WARNINGS)
            # What rasa.model_training.train runs once it has read the files and found no
            # stories (Rasa pinned in constraints/): the NLU part of the graph, packaged.
            result = _train_graph(project_importer(project), training_type=TrainingType.NLU,
                                  output_path=str(path.parent), fixed_model_name=path.name,
                                  force_full_training=True)
    except (SystemExit, RasaException, KeyError, TypeError, yaml.YAMLError) as exc:
        logger.warning("Rasa rejected the generated project: %r", exc)
        raise TrainingError("The bot could not be trained from these topics.") from exc
    if result.code != 0 or not result.model or not Path(result.model).is_file():
        raise TrainingError("The bot could not be trained from these topics.")
    return Path(result.model)
