"""Rasa NLU component of the generated FAQ bots: picks the topic of a question, or nothing.

Every owner's bot has one retrieval intent (``faq``) whose response keys are the topics
(``faq/t<id>``). ``FaqMatcher`` scores a question against each topic and writes both outputs
Rasa expects:

- ``intent``: ``faq`` with a calibrated confidence, so the FallbackClassifier after it turns a
  weak match into ``nlu_fallback`` ("I don't know").
- ``response_selector``: the same shape as Rasa's ResponseSelector output, so the ``utter_faq``
  retrieval action and ``/model/parse`` clients read the chosen answer from it.

How it scores (docs/answer-quality.md has the measurements behind each choice):

- The owner's phrasings and the topic's answer are embedded with all-MiniLM-L6-v2
  (publish_broker.encoder): askers often word a question like its answer. WordNet paraphrases
  are not embedded: they lowered accuracy and cost encoder time.
- The topic is chosen by a logistic regression over those embeddings (with a single topic, by
  the similarity).
- The similarity of a question to a topic is the cosine to the topic's nearest embedded text,
  blended with a little TF-IDF (content words and character n-grams: typos, names, jargon the
  encoder splits into pieces), which also sees the WordNet paraphrases.
- "I don't know" when √(classifier probability) × similarity is below a cut calibrated per bot
  by cross-validation (how the bot scores owner phrasings it was not trained on), or when the
  similarity is below an absolute floor. The reported confidence maps both onto the
  FallbackClassifier's threshold: passing them is exactly reaching the threshold.

The model stores its data as JSON and ``.npy`` arrays (no pickle) and rebuilds the TF-IDF index
when loaded, in milliseconds; the encoder is loaded once per process.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, NamedTuple

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
ANSWER_SOURCE = "answer"  # a topic's answer, taken from the bot's responses
_EMBEDDED = (OWNER_SOURCE, ANSWER_SOURCE)  # WordNet paraphrases are not: they lowered accuracy
_FOLDS = 5  # cross-validation folds of the owner's phrasings that calibrate the cut
_MIN_CUT = 1e-3  # keeps the confidence map defined when every phrasing scored 0
# What a saved matcher means; a model saved by another revision is refitted from its examples
# when loaded (1: questions only, one similarity cut; 2: answers embedded, cross-validated cut).
REVISION = 2


class SimilarityScorer:
    """Lexical similarity of texts to labelled examples: max cosine per label, in [0, 1].

    Half word TF-IDF (content words and their bigrams), half character 3-5-grams of the content
    words (typos, inflections). Function words are ignored, so a question sharing only "how do
    I" with a topic scores 0.
    """

    def __init__(self, texts: list[str], labels: list[str],
                 all_labels: list[str] | None = None) -> None:
        self.labels = all_labels or sorted(set(labels))
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
    """(texts × examples) similarities → (texts × labels), each the label's best example
    (0 for a label without examples, e.g. in a cross-validation fold)."""
    result = np.zeros((similarities.shape[0], labels))
    for label in range(labels):
        result[:, label] = similarities[:, label_index == label].max(axis=1, initial=0.0)
    return result


def _content(text: str) -> str:
    return " ".join(w for w in _WORD.findall(text.lower()) if w not in STOPWORDS)


def _word_features(content: str) -> list[str]:
    words = content.split()
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


class TopicScorer:
    """Encoder + lexical similarity per topic, a classifier to choose, a calibrated cut.

    ``examples`` are (text, label, source) triples. The owner's phrasings and the topics'
    answers are embedded; WordNet paraphrases only feed the lexical part. ``state``
    (embeddings, classifier, cut) comes from a trained model, else it is computed.
    """

    def __init__(self, examples: list[tuple[str, str, str]], config: dict[str, Any],
                 state: dict[str, Any] | None = None) -> None:
        self._config = config
        lexical = [e for e in examples if config["lexical_paraphrases"] or e[2] in _EMBEDDED]
        self._lexical = SimilarityScorer([e[0] for e in lexical], [e[1] for e in lexical])
        self.labels = self._lexical.labels
        position = {label: index for index, label in enumerate(self.labels)}
        embedded = [example for example in examples if example[2] in _EMBEDDED]
        self._index = np.array([position[label] for _, label, _ in embedded])
        self._is_owner = np.array([source == OWNER_SOURCE for _, _, source in embedded])
        self.state = state or self._fit([text for text, _, _ in embedded])

    def _fit(self, texts: list[str]) -> dict[str, Any]:
        embeddings = load_encoder().encode(texts)
        state = {"embeddings": embeddings, **self._classifier(embeddings, self._index)}
        state["cut"] = self._calibrated_cut(texts, embeddings)
        return state

    def _classifier(self, embeddings: np.ndarray, index: np.ndarray) -> dict[str, Any]:
        """Multinomial logistic regression over the embeddings; none for a single topic."""
        if len(np.unique(index)) < 2:
            return {"coef": None, "intercept": None}
        model = LogisticRegression(C=self._config["classifier_c"], max_iter=1000)
        model.fit(embeddings, index)
        coef = np.zeros((len(self.labels), embeddings.shape[1]), dtype=embeddings.dtype)
        intercept = np.full(len(self.labels), -1e4)  # a topic absent from a fold never wins
        if len(model.classes_) == 2:  # sklearn keeps one row for two classes: make it two
            coef[model.classes_] = np.vstack([-model.coef_, model.coef_])
            intercept[model.classes_] = [-model.intercept_[0], model.intercept_[0]]
        else:
            coef[model.classes_], intercept[model.classes_] = model.coef_, model.intercept_
        return {"coef": coef, "intercept": intercept}

    def _calibrated_cut(self, texts: list[str], embeddings: np.ndarray) -> float:
        """The ``cut_quantile`` of the scores of owner phrasings the model has not seen.

        Cross-validation: each fold of the owner's phrasings is scored by a matcher trained on
        the rest (answers always stay in), as a new rewording of a topic would be. Topics close
        together (one narrow domain), many topics or few phrasings per topic all give lower
        scores, so the cut follows the bot instead of being one number for every bot. With a
        handful of phrasings the estimate is optimistic (an owner's alternatives are closer to
        each other than strangers' wordings), hence ``cut_ceiling``.
        """
        owner = np.flatnonzero(self._is_owner)
        folds = min(_FOLDS, len(owner))
        scores = []
        for fold in range(folds):
            held = owner[fold::folds]
            kept = np.setdiff1d(np.arange(len(texts)), held)
            lexical = SimilarityScorer([texts[i] for i in kept],
                                       [self.labels[i] for i in self._index[kept]], self.labels)
            state = {"embeddings": embeddings[kept],
                     **self._classifier(embeddings[kept], self._index[kept])}
            scored = self._score([texts[i] for i in held], embeddings[held], state,
                                 self._index[kept], lexical)
            scores.extend(scored.raw[np.arange(len(held)), scored.logits.argmax(axis=1)])
        quantile = float(np.quantile(scores, self._config["cut_quantile"])) if scores else 0.0
        return min(max(_MIN_CUT, quantile), float(self._config["cut_ceiling"]))

    def _score(self, texts: list[str], vectors: np.ndarray, state: dict[str, Any],
               index: np.ndarray, lexical: SimilarityScorer) -> _Scores:
        """Classifier logits, similarity and raw score √p × similarity per text and topic.

        The classifier's probability says which topic fits best among the owner's; the
        similarity says whether the question is near that topic at all. Their product refuses
        both a question torn between topics and one far from every topic.
        """
        cosine = _max_per_label(vectors @ state["embeddings"].T, index, len(self.labels))
        weight = float(self._config["lexical_weight"])
        similarity = np.clip((1.0 - weight) * cosine + weight * lexical.scores_many(texts), 0, 1)
        if state["coef"] is None:
            return _Scores(similarity, similarity, similarity)
        logits = vectors @ state["coef"].T + state["intercept"]
        probability = np.exp(logits - logits.max(axis=1, keepdims=True))
        probability /= probability.sum(axis=1, keepdims=True)
        return _Scores(logits, np.sqrt(probability) * similarity, similarity)

    def rank(self, text: str) -> list[tuple[str, float]]:
        """(label, confidence) pairs, best first; empty when the text has no words at all."""
        if not _WORD.search(text.lower()):
            return []
        query = load_encoder().encode([text])
        scored = self._score([text], query, self.state, self._index, self._lexical)
        order = np.argsort(-scored.logits[0], kind="stable")
        confidence = self._confidence(scored.raw[0], scored.similarity[0])
        return [(self.labels[i], float(confidence[i])) for i in order]

    def _confidence(self, raw: np.ndarray, similarity: np.ndarray) -> np.ndarray:
        """Maps scores to [0, 1] so that the fallback threshold is exactly the bar to pass.

        The bar: the raw score reaches the calibrated cut and the similarity reaches
        ``min_similarity``. The floor matters for bots with many topics: √p is small for every
        question there, so the calibrated cut is low and an unrelated question could pass it.
        ``margin`` is the smaller of the two ratios to their bars: below 1 it maps linearly
        onto [0, threshold), above 1 onto [threshold, 1] up to the largest possible margin.
        """
        cut, floor = self.state["cut"], float(self._config["min_similarity"])
        threshold = float(self._config["fallback_threshold"])
        margin = np.minimum(raw / cut, similarity / floor)
        top = max(min(1.0 / cut, 1.0 / floor), 1.0 + 1e-9)
        above = threshold + (1.0 - threshold) * (margin - 1.0) / (top - 1.0)
        return np.clip(np.where(margin < 1.0, threshold * margin, above), 0.0, 1.0)


class _Scores(NamedTuple):
    logits: np.ndarray  # (texts × topics): ranks the topics (the similarity without a classifier)
    raw: np.ndarray  # √(classifier probability) × similarity, in [0, 1]
    similarity: np.ndarray  # blended cosine and lexical similarity, in [0, 1]


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
            "cut_quantile": 0.1,
            "cut_ceiling": 0.35,
            "min_similarity": 0.3,
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
        """Embeds the owner's phrasings and answers, fits the classifier and the cut, saves them.

        Raises publish_broker.encoder.EncoderUnavailable if the encoder is not installed.
        """
        examples = [
            (ex.get(TEXT), ex.get(INTENT_RESPONSE_KEY), _source(ex))
            for ex in training_data.intent_examples
            if ex.get(TEXT) and ex.get(INTENT_RESPONSE_KEY)
        ]
        responses = {key: list(value) for key, value in sorted(training_data.responses.items())}
        topics = {label for _, label, _ in examples}
        self._use(examples + _answers(responses, topics), responses, None)
        self.persist()
        return self._resource

    def persist(self) -> None:
        """Writes examples, responses and the cut as JSON, the arrays as ``.npy`` files."""
        state = self._scorer.state if self._scorer else {}
        payload = {"examples": self._examples, "responses": self._responses,
                   "cut": state.get("cut"), "revision": REVISION}
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
        responses = payload["responses"]
        load_encoder()  # at load time, not on the first question
        if payload.get("revision") != REVISION:
            # A bot upgraded before its owner republished: refit (seconds) rather than
            # read its arrays with a meaning they were not saved with.
            logger.warning("FaqMatcher: model of revision %s, refitting it as revision %s",
                           payload.get("revision", 1), REVISION)
            examples = [e for e in examples if e[2] != ANSWER_SOURCE]
            examples += _answers(responses, {label for _, label, _ in examples})
            state = None
        return cls(config, model_storage, resource, examples, responses, state)

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


def _answers(responses: dict[str, list[dict[str, Any]]],
             topics: set[str]) -> list[tuple[str, str, str]]:
    """Each topic's answer as an example of the topic: askers often use the answer's words
    ("when does my card arrive" for "Cards arrive within 5 working days")."""
    answers = []
    for topic in sorted(topics):
        text = next(iter(responses.get(f"utter_{topic}", [])), {}).get("text") or ""
        if text.strip():
            answers.append((text, topic, ANSWER_SOURCE))
    return answers


def _source(example: Message) -> str:
    """Where a training example came from; unmarked examples count as the owner's."""
    metadata = (example.get(METADATA) or {}).get(METADATA_INTENT) or {}
    return metadata.get("source", OWNER_SOURCE) if isinstance(metadata, dict) else OWNER_SOURCE


def _load_array(path) -> np.ndarray | None:
    return np.load(path, allow_pickle=False) if path.exists() else None
