"""Rasa NLU component of the generated FAQ bots: picks the topic of a question, or nothing.

Every owner's bot has one retrieval intent (``faq``) whose response keys are the topics
(``faq/t<id>``). ``FaqMatcher`` scores a question against each topic's training examples
(owner phrasings and WordNet paraphrases) and writes both outputs Rasa expects:

- ``intent``: ``faq`` with the best topic's score as confidence, so the FallbackClassifier after
  it turns a weak match into ``nlu_fallback`` ("I don't know"). The score is a similarity in
  [0, 1], not a probability spread over the topics, so one threshold works for 2 or 200 topics.
- ``response_selector``: the same shape as Rasa's ResponseSelector output, so the ``utter_faq``
  retrieval action and ``/model/parse`` clients read the chosen answer from it.

The bot processes import this module, so it depends only on what Rasa itself installs (numpy,
scikit-learn). The model stores the examples as JSON (no pickle) and rebuilds its small index
when loaded, in milliseconds. The scorer is one small class so that a better one (a sentence
encoder, see issue 6) can replace it without touching the Rasa plumbing.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_RESPONSE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.feature_extraction.text import TfidfVectorizer

from publish_broker.paraphrase import STOPWORDS

logger = logging.getLogger(__name__)

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_MODEL_FILE = "faq_matcher.json"


class SimilarityScorer:
    """Scores a text against labelled examples: max cosine similarity per label, in [0, 1].

    Half word TF-IDF (content words and their bigrams), half character 3-5-grams of the content
    words (typos, inflections). Function words are ignored, so a question sharing only "how do
    I" with a topic scores 0.
    """

    def __init__(self, texts: list[str], labels: list[str]) -> None:
        self.labels = sorted(set(labels))
        position = {label: index for index, label in enumerate(self.labels)}
        self._label_index = np.array([position[label] for label in labels])
        contents = [_content(text) for text in texts]
        self._word = TfidfVectorizer(analyzer=_word_features, sublinear_tf=True)
        self._char = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
        self._word_matrix = self._word.fit_transform(contents) if any(contents) else None
        self._char_matrix = self._char.fit_transform(contents) if any(contents) else None

    def scores(self, text: str) -> np.ndarray:
        """Similarity of ``text`` to each label of ``self.labels`` (zeros if nothing matches)."""
        per_label = np.zeros(len(self.labels))
        content = _content(text)
        if not content or self._word_matrix is None:
            return per_label
        word = (self._word_matrix @ self._word.transform([content]).T).toarray().ravel()
        char = (self._char_matrix @ self._char.transform([content]).T).toarray().ravel()
        np.maximum.at(per_label, self._label_index, 0.5 * word + 0.5 * char)
        return np.clip(per_label, 0.0, 1.0)


def _content(text: str) -> str:
    return " ".join(w for w in _WORD.findall(text.lower()) if w not in STOPWORDS)


def _word_features(content: str) -> list[str]:
    words = content.split()
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class FaqMatcher(GraphComponent, IntentClassifier):
    """Intent classifier and response selector in one, for a bot made of one retrieval intent."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """The component's defaults: how many topics the ranking lists."""
        return {"ranking_length": 10}

    @staticmethod
    def required_packages() -> list[str]:
        """Python packages this component needs besides Rasa."""
        return ["sklearn"]

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        examples: list[tuple[str, str]] | None = None,
        responses: dict[str, list[dict[str, Any]]] | None = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._use(examples or [], responses or {})

    def _use(
        self, examples: list[tuple[str, str]], responses: dict[str, list[dict[str, Any]]]
    ) -> None:
        self._examples, self._responses = examples, responses
        texts, labels = [t for t, _ in examples], [label for _, label in examples]
        self._scorer = SimilarityScorer(texts, labels) if examples else None

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
        """Keeps the (text, faq/<topic>) examples and the topics' responses, and persists them."""
        examples = [
            (ex.get(TEXT), ex.get(INTENT_RESPONSE_KEY))
            for ex in training_data.intent_examples
            if ex.get(TEXT) and ex.get(INTENT_RESPONSE_KEY)
        ]
        responses = {key: list(value) for key, value in sorted(training_data.responses.items())}
        self._use(examples, responses)
        self.persist()
        return self._resource

    def persist(self) -> None:
        """Writes the examples and responses as JSON into the model."""
        payload = {"examples": self._examples, "responses": self._responses}
        with self._model_storage.write_to(self._resource) as directory:
            (directory / _MODEL_FILE).write_text(json.dumps(payload), encoding="utf-8")

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> FaqMatcher:
        """Loads a trained matcher; an untrained one (no examples) always scores 0."""
        try:
            with model_storage.read_from(resource) as directory:
                payload = json.loads((directory / _MODEL_FILE).read_text(encoding="utf-8"))
        except (ValueError, FileNotFoundError):
            logger.debug("FaqMatcher has no trained data in resource '%s'", resource.name)
            return cls(config, model_storage, resource)
        examples = [tuple(pair) for pair in payload["examples"]]
        return cls(config, model_storage, resource, examples, payload["responses"])

    def process(self, messages: list[Message]) -> list[Message]:
        """Sets ``intent``, ``intent_ranking`` and ``response_selector`` on each message."""
        for message in messages:
            ranking = self._rank(message.get(TEXT) or "")
            confidence = ranking[0][1] if ranking else 0.0
            intent = {"name": "faq", "confidence": confidence}
            message.set(INTENT, intent, add_to_output=True)
            message.set("intent_ranking", [intent], add_to_output=True)
            if ranking:
                message.set("response_selector", self._selection(ranking), add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Nothing to add to the training data for later components."""
        return training_data

    def _rank(self, text: str) -> list[tuple[str, float]]:
        """(faq/<topic>, score) pairs, best first, ties broken by name; empty if untrained."""
        if self._scorer is None:
            return []
        scores = self._scorer.scores(text)
        labelled = zip(self._scorer.labels, scores, strict=True)
        pairs = [(label, float(score)) for label, score in labelled]
        return sorted(pairs, key=lambda pair: (-pair[1], pair[0]))

    def _selection(self, ranking: list[tuple[str, float]]) -> dict[str, Any]:
        best_key, best_score = ranking[0]
        utter_action = f"utter_{best_key}"
        listed = ranking[: self._config["ranking_length"]]
        return {
            "all_retrieval_intents": ["faq"],
            "default": {
                "response": {
                    "responses": self._responses.get(utter_action, []),
                    "confidence": best_score,
                    "intent_response_key": best_key,
                    "utter_action": utter_action,
                },
                "ranking": [{"confidence": s, "intent_response_key": k} for k, s in listed],
            },
        }
