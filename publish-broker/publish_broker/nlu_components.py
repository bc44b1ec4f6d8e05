"""Rasa NLU component of the generated FAQ bots: a thin adapter over publish_broker.matcher.

Every owner's bot has one retrieval intent (``faq``) whose response keys are the topics
(``faq/t<id>``). ``FaqMatcher`` hands Rasa what ``matcher.FaqModel`` predicts:

- ``intent``: ``faq`` with a calibrated confidence, so the FallbackClassifier after it turns a
  weak match into ``nlu_fallback`` ("I don't know").
- ``response_selector``: the same shape as Rasa's ResponseSelector output, so the ``utter_faq``
  retrieval action and ``/model/parse`` clients read the chosen answer from it.

Scoring, fitting and the saved format live in publish_broker.matcher, which does not import
Rasa: the bot pool reads the resource this component saves straight out of the model archive.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_RESPONSE_KEY, METADATA, METADATA_INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from publish_broker.constants import DISMISSED_SOURCE, OWNER_SOURCE
from publish_broker.encoder import WEIGHTS_PACKAGE
from publish_broker.errors import ModelUnreadable
from publish_broker.matcher import (
    DEFAULT_CONFIG,
    FaqModel,
    fit_once,
    warm_up,
)

logger = logging.getLogger(__name__)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class FaqMatcher(GraphComponent, IntentClassifier):
    """Intent classifier and response selector in one, for a bot made of one retrieval intent."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """The component's defaults: publish_broker.matcher.DEFAULT_CONFIG."""
        return dict(DEFAULT_CONFIG)

    @staticmethod
    def required_packages() -> list[str]:
        """Python packages this component needs besides Rasa."""
        return ["sklearn", "safetensors", WEIGHTS_PACKAGE]

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
                 model: FaqModel | None = None) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._model = model or FaqModel([], {}, self._config)

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> FaqMatcher:
        """Creates an untrained matcher (Rasa's GraphComponent contract)."""
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        """Embeds the owner's phrasings and answers, fits the classifier and the cut (set against
        the background and the owner's dismissed questions), saves them.

        Raises EncoderUnavailable if the encoder is not installed.
        """
        examples = [
            (ex.get(TEXT), ex.get(INTENT_RESPONSE_KEY) or "", _source(ex))
            for ex in training_data.intent_examples
            if ex.get(TEXT) and (ex.get(INTENT_RESPONSE_KEY) or _source(ex) == DISMISSED_SOURCE)
        ]
        responses = {key: list(value) for key, value in sorted(training_data.responses.items())}
        self._model = fit_once(examples, responses, self._config)
        self.persist()
        return self._resource

    def persist(self) -> None:
        """Saves the model into this component's resource (see FaqModel.save)."""
        with self._model_storage.write_to(self._resource) as directory:
            self._model.save(directory)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> FaqMatcher:
        """Loads a trained matcher; an untrained one (no examples) matches nothing.

        Raises EncoderUnavailable if the encoder is not installed.
        """
        merged = {**cls.get_default_config(), **config}
        try:
            with model_storage.read_from(resource) as directory:
                model = FaqModel.load(directory, merged)
        except (ModelUnreadable, ValueError, FileNotFoundError):
            logger.debug("FaqMatcher has no trained data in resource '%s'", resource.name)
            return cls(config, model_storage, resource)
        warm_up()  # the encoder and the background at load time, not on the first question
        return cls(config, model_storage, resource, model)

    def process(self, messages: list[Message]) -> list[Message]:
        """Sets ``intent``, ``intent_ranking`` and ``response_selector`` on each message."""
        for message in messages:
            intent, selection = self._model.predict(message.get(TEXT) or "")
            message.set(INTENT, intent, add_to_output=True)
            message.set("intent_ranking", [intent], add_to_output=True)
            if selection is not None:
                message.set("response_selector", selection, add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Nothing to add to the training data for later components."""
        return training_data


def _source(example: Message) -> str:
    """Where a training example came from; unmarked examples count as the owner's."""
    metadata = (example.get(METADATA) or {}).get(METADATA_INTENT) or {}
    return metadata.get("source", OWNER_SOURCE) if isinstance(metadata, dict) else OWNER_SOURCE
