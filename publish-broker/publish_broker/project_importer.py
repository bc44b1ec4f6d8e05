"""A generated bot project handed to Rasa's training from memory, as Rasa's own importer would.

``rasa.model_training.train`` reads a project from disk with a pure-Python YAML parser and checks
each file against its schemas: ~0.9 s of a 20-topic training, more than the matcher's fit. The
project's YAML is ours (publish_broker.botproject writes it with PyYAML from plain data), so it is
read back with libyaml and turned into the same Rasa objects Rasa's reader builds (config dict,
``Domain.from_dict``, one ``Message.build`` per example; tests compare both). Everything after
reading is Rasa's: its importers' wrappers (responses synced into the NLU data, retrieval intents
into the domain), its recipe, graph, components and model archive.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml
from rasa.shared.core.domain import Domain
from rasa.shared.core.training_data.structures import StoryGraph
from rasa.shared.importers.importer import ResponsesSyncImporter, TrainingDataImporter
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from publish_broker.botproject import CONFIG_FILE, DOMAIN_FILE, NLU_FILE, BotProject

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def project_importer(project: BotProject) -> TrainingDataImporter:
    """The importer ``rasa train nlu`` would build for ``project``'s files: responses synced
    between domain and NLU data; no end-to-end enrichment, which only stories feed.

    Raises KeyError or yaml.YAMLError for a project that is not one botproject generated.
    """
    return ResponsesSyncImporter(_ProjectImporter(project))


class _ProjectImporter(TrainingDataImporter):
    """Config, domain and NLU examples of an NLU-only generated project (no stories)."""

    def __init__(self, project: BotProject) -> None:
        self._config = _load(project.files[CONFIG_FILE])
        self._domain = _load(project.files[DOMAIN_FILE])
        self._nlu = _load(project.files[NLU_FILE])
        self._data: TrainingData | None = None

    def get_config(self) -> dict:
        """The project's config.yml."""
        return copy.deepcopy(self._config)

    def get_config_file_for_auto_config(self) -> None:
        """None: the config is complete, Rasa has nothing to fill in (or write back)."""
        return None

    def get_domain(self) -> Domain:
        """The project's domain.yml as ``Domain.load`` reads it."""
        return Domain.from_dict(copy.deepcopy(self._domain))

    def get_stories(self, exclusion_percentage: int | None = None) -> StoryGraph:
        """None: bots are asked through /model/parse only."""
        return StoryGraph([])

    def get_nlu_data(self, language: str | None = "en") -> TrainingData:
        """The examples of data/nlu.yml, as Rasa's YAML reader builds them (blocks of
        ``- example`` lines; botproject writes no entity annotations). Built once: Rasa asks
        for it several times, and its importers merge (copy) it rather than change it."""
        if self._data is None:
            self._data = TrainingData([
                Message.build(line[1:].strip("\n\r "), block["intent"], None,
                              block.get("metadata"))
                for block in self._nlu["nlu"]
                for line in block["examples"].splitlines()
                if line.startswith("-")
            ])
        return self._data


def _load(text: str) -> Any:
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader (libyaml's when built)
