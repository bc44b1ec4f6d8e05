"""Rasa NLU component of the generated FAQ bots: picks the topic of a question, or nothing.

Every owner's bot has one retrieval intent (``faq``) whose response keys are the topics
(``faq/t<id>``). ``FaqMatcher`` scores a question against each topic and writes both outputs
Rasa expects:

- ``intent``: ``faq`` with a calibrated confidence, so the FallbackClassifier after it turns a
  weak match into ``nlu_fallback`` ("I don't know").
- ``response_selector``: the same shape as Rasa's ResponseSelector output, so the ``utter_faq``
  retrieval action and ``/model/parse`` clients read the chosen answer from it.

How it scores (docs/answer-quality.md has the measurements behind each choice):

- The owner's phrasings are embedded with all-MiniLM-L6-v2 (publish_broker.encoder). WordNet
  paraphrases are not embedded: they lowered accuracy and cost encoder time.
- The similarity of a question to a topic is the cosine to the topic's nearest phrasing, blended
  with a little TF-IDF (content words and character n-grams: typos, names, jargon the encoder
  splits into pieces), which also sees the WordNet paraphrases.
- The topic is chosen by a logistic regression over the embeddings (it uses every phrasing of a
  topic, not only the nearest one); with a single topic, by the similarity.
- "I don't know" is calibrated per bot: topics that lie close together (one narrow domain) need
  a closer match than topics far apart. The cut is a fraction of the median similarity between
  each phrasing and its nearest phrasing of another topic, never below a floor. The reported
  confidence maps similarity piecewise-linearly so that the cut lands on the FallbackClassifier's
  threshold: it stays in [0, 1] and monotone in the similarity.

The model stores its data as JSON and ``.npy`` arrays (no pickle) and rebuilds the TF-IDF index
when loaded, in milliseconds; the encoder is loaded once per process.
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
from rasa.shared.nlu.constants import INTENT, INTENT_RESPONSE_KEY, METADATA, METADATA_INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from publish_broker.encoder import WEIGHTS_PACKAGE, load_encoder
from publish_broker.paraphrase import STOPWORDS

logger = logging.getLogger(__name__)

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_MODEL_FILE = "faq_matcher.json"
_ARRAYS = ("embeddings", "coef", "intercept")
OWNER_SOURCE = "owner"  # publish_broker.botproject marks the owner's phrasings with it


class SimilarityScorer:
    """Lexical similarity of texts to labelled examples: max cosine per label, in [0, 1].

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
        return self.scores_many([text])[0]

    def scores_many(self, texts: list[str]) -> np.ndarray:
        """One row of ``scores`` per text."""
        per_label = np.zeros((len(texts), len(self.labels)))
        contents = [_content(text) for text in texts]
        if self._word_matrix is None or not any(contents):
            return per_label
        word = (self._word.transform(contents) @ self._word_matrix.T).toarray()
        char = (self._char.transform(contents) @ self._char_matrix.T).toarray()
        both = 0.5 * word + 0.5 * char
        both[[not content for content in contents]] = 0.0
        return np.clip(_max_per_label(both, self._label_index, len(self.labels)), 0.0, 1.0)


def _max_per_label(similarities: np.ndarray, label_index: np.ndarray, labels: int) -> np.ndarray:
    """(texts × examples) similarities → (texts × labels), each the label's best example."""
    result = np.zeros((similarities.shape[0], labels))
    for label in range(labels):
        result[:, label] = similarities[:, label_index == label].max(axis=1)
    return result


def _content(text: str) -> str:
    return " ".join(w for w in _WORD.findall(text.lower()) if w not in STOPWORDS)


def _word_features(content: str) -> list[str]:
    words = content.split()
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


class TopicScorer:
    """Encoder + lexical similarity per topic, a classifier to choose, a calibrated cut.

    ``examples`` are (text, label, source) triples; only ``OWNER_SOURCE`` texts are embedded.
    ``state`` (embeddings, classifier, cut) comes from a trained model, else it is computed.
    """

    def __init__(self, examples: list[tuple[str, str, str]], config: dict[str, Any],
                 state: dict[str, Any] | None = None) -> None:
        self._config = config
        owned = [(text, label) for text, label, source in examples if source == OWNER_SOURCE]
        lexical = examples if config["lexical_paraphrases"] else owned
        self._lexical = SimilarityScorer([e[0] for e in lexical], [e[1] for e in lexical])
        self.labels = self._lexical.labels
        position = {label: index for index, label in enumerate(self.labels)}
        self._owner_index = np.array([position[label] for _, label in owned])
        self.state = state or self._fit([text for text, _ in owned])

    def _fit(self, owner_texts: list[str]) -> dict[str, Any]:
        embeddings = load_encoder().encode(owner_texts)
        state = {"embeddings": embeddings, "coef": None, "intercept": None}
        if len(self.labels) > 1:
            classifier = LogisticRegression(C=self._config["classifier_c"], max_iter=1000)
            classifier.fit(embeddings, self._owner_index)
            coef, intercept = classifier.coef_, classifier.intercept_
            if len(self.labels) == 2:  # sklearn keeps one row for two classes: make it two
                coef, intercept = np.vstack([-coef, coef]), np.concatenate([-intercept, intercept])
            state.update(coef=coef, intercept=intercept)
        state["cut"] = self._calibrated_cut(owner_texts, embeddings)
        return state

    def _calibrated_cut(self, owner_texts: list[str], embeddings: np.ndarray) -> float:
        """``cut_ratio`` × the median similarity of a phrasing to its nearest other topic."""
        floor = float(self._config["cut_floor"])
        if len(self.labels) < 2:
            return floor
        similarity = self._similarities(owner_texts, embeddings, embeddings)
        own = np.arange(len(self.labels))[None, :] == self._owner_index[:, None]
        nearest_other = np.where(own, -np.inf, similarity).max(axis=1)
        return max(floor, float(self._config["cut_ratio"] * np.median(nearest_other)))

    def _similarities(
        self, texts: list[str], vectors: np.ndarray, embeddings: np.ndarray
    ) -> np.ndarray:
        """(texts × topics) blended similarity in [0, 1]; ``vectors`` are the texts' own."""
        cosine = _max_per_label(vectors @ embeddings.T, self._owner_index, len(self.labels))
        weight = float(self._config["lexical_weight"])
        blended = (1.0 - weight) * cosine + weight * self._lexical.scores_many(texts)
        return np.clip(blended, 0.0, 1.0)

    def rank(self, text: str) -> list[tuple[str, float]]:
        """(label, confidence) pairs, best first; empty when the text has no words at all."""
        if not _WORD.search(text.lower()):
            return []
        query = load_encoder().encode([text])
        similarity = self._similarities([text], query, self.state["embeddings"])[0]
        confidence = self._confidence(similarity)
        if self.state["coef"] is not None:
            order = np.argsort(-(query @ self.state["coef"].T + self.state["intercept"])[0],
                               kind="stable")
        else:
            order = np.argsort(-confidence, kind="stable")
        return [(self.labels[i], float(confidence[i])) for i in order]

    def _confidence(self, similarity: np.ndarray) -> np.ndarray:
        """Piecewise-linear map of similarity: 0 → 0, the cut → the fallback threshold, 1 → 1."""
        cut, threshold = self.state["cut"], float(self._config["fallback_threshold"])
        below = similarity * (threshold / cut)
        above = threshold + (similarity - cut) * ((1.0 - threshold) / (1.0 - cut))
        return np.clip(np.where(similarity < cut, below, above), 0.0, 1.0)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class FaqMatcher(GraphComponent, IntentClassifier):
    """Intent classifier and response selector in one, for a bot made of one retrieval intent."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """The component's defaults (the winning configuration of docs/answer-quality.md)."""
        return {
            "ranking_length": 10,
            "fallback_threshold": 0.3,  # the FallbackClassifier's: botproject sets both
            "lexical_weight": 0.15,
            "lexical_paraphrases": True,
            "classifier_c": 10.0,
            "cut_ratio": 0.8,
            "cut_floor": 0.4,
        }

    @staticmethod
    def required_packages() -> list[str]:
        """Python packages this component needs besides Rasa."""
        return ["sklearn", "safetensors", WEIGHTS_PACKAGE]

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        examples: list[tuple[str, str, str]] | None = None,
        responses: dict[str, list[dict[str, Any]]] | None = None,
        state: dict[str, Any] | None = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._use(examples or [], responses or {}, state)

    def _use(self, examples: list[tuple[str, str, str]],
             responses: dict[str, list[dict[str, Any]]], state: dict[str, Any] | None) -> None:
        self._examples, self._responses = examples, responses
        has_owner = any(source == OWNER_SOURCE for _, _, source in examples)
        self._scorer = TopicScorer(examples, self._config, state) if has_owner else None

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
        """Embeds the owner's phrasings, fits the classifier and the cut, and persists them.

        Raises publish_broker.encoder.EncoderUnavailable if the encoder is not installed.
        """
        examples = [
            (ex.get(TEXT), ex.get(INTENT_RESPONSE_KEY), _source(ex))
            for ex in training_data.intent_examples
            if ex.get(TEXT) and ex.get(INTENT_RESPONSE_KEY)
        ]
        responses = {key: list(value) for key, value in sorted(training_data.responses.items())}
        self._use(examples, responses, None)
        self.persist()
        return self._resource

    def persist(self) -> None:
        """Writes examples, responses and the cut as JSON, the arrays as ``.npy`` files."""
        state = self._scorer.state if self._scorer else {}
        payload = {"examples": self._examples, "responses": self._responses,
                   "cut": state.get("cut")}
        with self._model_storage.write_to(self._resource) as directory:
            (directory / _MODEL_FILE).write_text(json.dumps(payload), encoding="utf-8")
            for name in _ARRAYS:
                if state.get(name) is not None:
                    np.save(directory / f"{name}.npy", state[name], allow_pickle=False)

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

        Raises publish_broker.encoder.EncoderUnavailable if the encoder is not installed.
        """
        try:
            with model_storage.read_from(resource) as directory:
                payload = json.loads((directory / _MODEL_FILE).read_text(encoding="utf-8"))
                state = {name: _load_array(directory / f"{name}.npy") for name in _ARRAYS}
        except (ValueError, FileNotFoundError):
            logger.debug("FaqMatcher has no trained data in resource '%s'", resource.name)
            return cls(config, model_storage, resource)
        state["cut"] = payload["cut"]
        examples = [tuple(triple) for triple in payload["examples"]]
        load_encoder()  # at load time, not on the first question
        return cls(config, model_storage, resource, examples, payload["responses"], state)

    def process(self, messages: list[Message]) -> list[Message]:
        """Sets ``intent``, ``intent_ranking`` and ``response_selector`` on each message."""
        for message in messages:
            ranking = self._scorer.rank(message.get(TEXT) or "") if self._scorer else []
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


def _source(example: Message) -> str:
    """Where a training example came from; unmarked examples count as the owner's."""
    metadata = (example.get(METADATA) or {}).get(METADATA_INTENT) or {}
    return metadata.get("source", OWNER_SOURCE) if isinstance(metadata, dict) else OWNER_SOURCE


def _load_array(path) -> np.ndarray | None:
    return np.load(path, allow_pickle=False) if path.exists() else None
