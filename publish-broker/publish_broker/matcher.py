"""The FAQ matcher of the owners' bots, without Rasa: scoring, fitting, saving and loading.

A bot answers one kind of question: which of its owner's topics (if any) a question asks about.
``FaqModel`` holds what one bot needs for that, fits it from the owner's phrasings and answers,
saves it as JSON and ``.npy`` arrays (no pickle), and answers ``parse(text)`` in the shape of
Rasa's ``POST /model/parse``. Two hosts use it:

- ``publish_broker.nlu_components.FaqMatcher``, a thin Rasa adapter: training produces a Rasa
  model archive as before (any Rasa server can run it);
- the bot pool (``publish_broker.pool``), which reads the matcher's resource straight out of
  that archive (``FaqModel.from_archive``) and never imports Rasa or TensorFlow.

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
  similarity is below an absolute floor. The reported confidence maps both onto the fallback
  threshold: passing them is exactly reaching the threshold.

The TF-IDF index is rebuilt when a model is loaded (milliseconds); the encoder is loaded once
per process and shared by every model in it.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import re
import tarfile
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from publish_broker.background import background_questions
from publish_broker.constants import (
    ANSWER_SOURCE,
    DISMISSED_SOURCE,
    FALLBACK_INTENT,
    FAQ_INTENT,
    OWNER_SOURCE,
    STOPWORDS,
)
from publish_broker.encoder import load_encoder
from publish_broker.errors import ModelUnreadable

logger = logging.getLogger(__name__)

MODEL_FILE = "faq_matcher.json"
# What a saved matcher means; a model saved by another revision is refitted from its examples
# when loaded (1: questions only, one similarity cut; 2: answers embedded, cross-validated cut).
REVISION = 2
# The FallbackClassifier's threshold in every generated project (publish_broker.botproject):
# the confidence scale maps a bot's calibrated "I don't know" bar onto it, so it is the fixed
# point of that scale, not a knob (changing it would only rescale reported confidences).
FALLBACK_THRESHOLD = 0.3
# The winning configuration of docs/answer-quality.md; a model saves the one it was fitted with.
DEFAULT_CONFIG: dict[str, Any] = {
    "ranking_length": 10,
    "fallback_threshold": FALLBACK_THRESHOLD,
    "lexical_weight": 0.15,
    "lexical_paraphrases": True,
    "classifier_c": 10.0,
    "cut_quantile": 0.1,
    "cut_ceiling": 0.35,
    "min_similarity": 0.3,
    # Refuse a question closer to a known out-of-scope one than to its topic: to one of the
    # owner's dismissed questions, or (with `background`) by more than `background_margin` in
    # cosine to one of the generic questions of publish_broker.background (ties go to the
    # owner: "What kind of computer" is generic, "I need a replacement computer" is not).
    "background": True,
    "background_margin": 0.05,
}

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_ARRAYS = ("embeddings", "coef", "intercept", "negatives")
_LEXICAL_JSON, _LEXICAL_ARRAYS = "lexical.json", "lexical.npz"  # the fitted TF-IDF index
_LEXICAL_FIELDS = ("idf", "data", "indices", "indptr")
_EMBEDDED = (OWNER_SOURCE, ANSWER_SOURCE)  # WordNet paraphrases are not: they lowered accuracy
_FOLDS = 5  # cross-validation folds of the owner's phrasings that calibrate the cut
_MIN_CUT = 1e-3  # keeps the confidence map defined when every phrasing scored 0
_MAX_MODEL_FILE = 64 * 1024 * 1024  # bytes of one file of the matcher's resource in an archive
_MATCHER_ONLY_FOLDER = "faq_matcher"  # the folder of an archive written by FaqModel.to_archive

Example = tuple[str, str, str]  # (text, topic label, source)
Responses = dict[str, list[dict[str, Any]]]  # "utter_faq/t1" -> [{"text": answer}]


class SimilarityScorer:
    """Lexical similarity of texts to labelled examples: max cosine per label, in [0, 1].

    Half word TF-IDF (content words and their bigrams), half character 3-5-grams of the content
    words (typos, inflections). Function words are ignored, so a question sharing only "how do
    I" with a topic scores 0.
    """

    def __init__(self, texts: list[str], labels: list[str],
                 all_labels: list[str] | None = None,
                 index: dict[str, Any] | None = None) -> None:
        """Fits the index to ``texts``, or restores it from ``index`` (see ``index()``): the
        same vectors, without the ~50 ms of counting n-grams again."""
        self.labels = all_labels or sorted(set(labels))
        position = {label: index for index, label in enumerate(self.labels)}
        self._label_index = np.array([position[label] for label in labels])
        self._word = TfidfVectorizer(analyzer=_word_features, sublinear_tf=True)
        self._char = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
        if index is not None:
            self._word_matrix = _restore(self._word, index["word"]) if index["word"] else None
            self._char_matrix = _restore(self._char, index["char"]) if index["char"] else None
            return
        contents = [_content(text) for text in texts]
        self._word_matrix = self._word.fit_transform(contents) if any(contents) else None
        self._char_matrix = self._char.fit_transform(contents) if any(contents) else None

    def index(self) -> dict[str, Any]:
        """The fitted index as plain data: per analyzer, its vocabulary, idf and matrix."""
        return {"word": _dump(self._word, self._word_matrix),
                "char": _dump(self._char, self._char_matrix)}

    def footprint(self) -> int:
        """Estimated bytes of the index: sparse matrices and vocabularies (~100 B a term)."""
        total = 0
        for vectorizer, matrix in ((self._word, self._word_matrix),
                                   (self._char, self._char_matrix)):
            if matrix is not None:
                total += matrix.data.nbytes + matrix.indices.nbytes + matrix.indptr.nbytes
                total += 100 * len(vectorizer.vocabulary_) + vectorizer.idf_.nbytes
        return total

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


def _dump(vectorizer: TfidfVectorizer, matrix) -> dict[str, Any] | None:
    if matrix is None:
        return None
    vocabulary = {term: int(column) for term, column in vectorizer.vocabulary_.items()}
    return {"vocabulary": vocabulary, "idf": vectorizer.idf_, "data": matrix.data,
            "indices": matrix.indices, "indptr": matrix.indptr}


def _restore(vectorizer: TfidfVectorizer, saved: dict[str, Any]) -> csr_matrix:
    """Sets a fitted vocabulary and idf on ``vectorizer``; returns the examples' matrix."""
    vectorizer.vocabulary_ = saved["vocabulary"]
    vectorizer.idf_ = saved["idf"]
    shape = (len(saved["indptr"]) - 1, len(saved["vocabulary"]))
    return csr_matrix((saved["data"], saved["indices"], saved["indptr"]), shape=shape)


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
        self._negatives = [text for text, _, source in examples if source == DISMISSED_SOURCE]
        examples = [example for example in examples if example[2] != DISMISSED_SOURCE]
        lexical = [e for e in examples if config["lexical_paraphrases"] or e[2] in _EMBEDDED]
        self._lexical = SimilarityScorer([e[0] for e in lexical], [e[1] for e in lexical],
                                         index=(state or {}).get("lexical"))
        self.labels = self._lexical.labels
        position = {label: index for index, label in enumerate(self.labels)}
        embedded = [example for example in examples if example[2] in _EMBEDDED]
        self._index = np.array([position[label] for _, label, _ in embedded])
        self._is_owner = np.array([source == OWNER_SOURCE for _, _, source in embedded])
        self.state = state or self._fit([text for text, _, _ in embedded])

    def lexical_index(self) -> dict[str, Any]:
        """The fitted lexical index (SimilarityScorer.index), saved with the model."""
        return self._lexical.index()

    def lexical_footprint(self) -> int:
        """Estimated bytes of the lexical index (see SimilarityScorer.footprint)."""
        return self._lexical.footprint()

    def _fit(self, texts: list[str]) -> dict[str, Any]:
        embeddings = load_encoder().encode(texts)
        state = {"embeddings": embeddings, **self._classifier(embeddings, self._index)}
        held_out = self._held_out_scores(texts, embeddings)
        quantile = np.quantile(held_out, self._config["cut_quantile"]) if held_out.size else 0.0
        state["cut"] = min(max(_MIN_CUT, float(quantile)), float(self._config["cut_ceiling"]))
        state["negatives"] = load_encoder().encode(self._negatives) if self._negatives else None
        return state

    def _classifier(self, embeddings: np.ndarray, index: np.ndarray) -> dict[str, Any]:
        """Multinomial logistic regression over the embeddings; none for a single topic."""
        if len(np.unique(index)) < 2:
            return {"coef": None, "intercept": None}
        # newton-cg, not the default lbfgs: scipy's L-BFGS-B (1.10) loops in Python over every
        # coefficient to set up its bounds, most of a fit this small (six per publish); newton-cg
        # reaches the same optimum (the problem is strictly convex) in ~40 % less time. float64,
        # as its line search needs: in float32 it reports "Line Search failed".
        model = LogisticRegression(C=self._config["classifier_c"], solver="newton-cg",
                                   max_iter=1000)
        model.fit(embeddings.astype(np.float64), index)
        coef = np.zeros((len(self.labels), embeddings.shape[1]), dtype=embeddings.dtype)
        intercept = np.full(len(self.labels), -1e4)  # a topic absent from a fold never wins
        if len(model.classes_) == 2:  # sklearn keeps one row for two classes: make it two
            coef[model.classes_] = np.vstack([-model.coef_, model.coef_])
            intercept[model.classes_] = [-model.intercept_[0], model.intercept_[0]]
        else:
            coef[model.classes_], intercept[model.classes_] = model.coef_, model.intercept_
        return {"coef": coef, "intercept": intercept}

    def _held_out_scores(self, texts: list[str], embeddings: np.ndarray) -> np.ndarray:
        """Scores of owner phrasings by a model that has not seen them; the cut is their
        ``cut_quantile``.

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
        return np.asarray(scores, dtype=float)

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
            return _Scores(similarity, similarity, similarity, cosine)
        logits = vectors @ state["coef"].T + state["intercept"]
        probability = np.exp(logits - logits.max(axis=1, keepdims=True))
        probability /= probability.sum(axis=1, keepdims=True)
        return _Scores(logits, np.sqrt(probability) * similarity, similarity, cosine)

    def _negative_cosine(self, query: np.ndarray) -> float:
        """Cosine of the query to the nearest known out-of-scope question, less
        ``background_margin`` for the background's (0 if none)."""
        nearest = 0.0
        if self.state.get("negatives") is not None and len(self.state["negatives"]):
            nearest = float((self.state["negatives"] @ query).max())
        if self._config["background"]:
            margin = float(self._config["background_margin"])
            nearest = max(nearest, float((_background_vectors() @ query).max()) - margin)
        return nearest

    def rank(self, text: str) -> list[tuple[str, float]]:
        """(label, confidence) pairs, best first; empty when the text has no words at all."""
        if not _WORD.search(text.lower()):
            return []
        query = load_encoder().encode([text])
        scored = self._score([text], query, self.state, self._index, self._lexical)
        order = np.argsort(-scored.logits[0], kind="stable")
        confidence = self._confidence(scored.raw[0], scored.similarity[0], scored.cosine[0],
                                      self._negative_cosine(query[0]))
        return [(self.labels[i], float(confidence[i])) for i in order]

    def _confidence(self, raw: np.ndarray, similarity: np.ndarray,
                    cosine: np.ndarray | None = None, negative: float = 0.0) -> np.ndarray:
        """Maps scores to [0, 1] so that the fallback threshold is exactly the bar to pass.

        The bar: the raw score reaches the calibrated cut, the similarity reaches
        ``min_similarity``, and the question is closer to the topic (cosine to its nearest
        embedded text) than to any known out-of-scope question (``negative``). The floor
        matters for bots with many topics: √p is small for every question there, so the
        calibrated cut is low and an unrelated question could pass it. ``margin`` is the
        smallest ratio to its bar: below 1 it maps linearly onto [0, threshold), above 1 onto
        [threshold, 1] up to the largest possible margin of the first two.
        """
        cut, floor = self.state["cut"], float(self._config["min_similarity"])
        threshold = float(self._config["fallback_threshold"])
        margin = np.minimum(raw / cut, similarity / floor)
        if cosine is not None and negative > 0:
            margin = np.minimum(margin, np.clip(cosine, 0, None) / negative)
        top = max(min(1.0 / cut, 1.0 / floor), 1.0 + 1e-9)
        above = threshold + (1.0 - threshold) * (margin - 1.0) / (top - 1.0)
        return np.clip(np.where(margin < 1.0, threshold * margin, above), 0.0, 1.0)


class _Scores(NamedTuple):
    logits: np.ndarray  # (texts × topics): ranks the topics (the similarity without a classifier)
    raw: np.ndarray  # √(classifier probability) × similarity, in [0, 1]
    similarity: np.ndarray  # blended cosine and lexical similarity, in [0, 1]
    cosine: np.ndarray  # cosine to each topic's nearest embedded text


def warm_up() -> None:
    """Loads the encoder and encodes the background: at start, not on the first question.

    Raises EncoderUnavailable if the encoder is not installed; OSError
    if the background file is unreadable.
    """
    _background_vectors()


@functools.lru_cache(maxsize=1)
def _background_vectors() -> np.ndarray:
    """The background questions' vectors, encoded once per process (~0.6 MB)."""
    return load_encoder().encode(background_questions())




class FaqModel:
    """One bot's matcher: its examples, answers, configuration and fitted state."""

    def __init__(self, examples: list[Example], responses: Responses,
                 config: Mapping[str, Any] | None = None,
                 state: dict[str, Any] | None = None) -> None:
        """``state`` (embeddings, classifier, cut) comes from a saved model, else it is fitted.

        Raises EncoderUnavailable if fitting needs the missing encoder.
        """
        self.config = {**DEFAULT_CONFIG, **(config or {})}
        self.examples, self.responses = examples, responses
        has_owner = any(source == OWNER_SOURCE for _, _, source in examples)
        self._scorer = TopicScorer(examples, self.config, state) if has_owner else None

    @classmethod
    def fit(cls, examples: list[Example], responses: Responses,
            config: Mapping[str, Any] | None = None) -> FaqModel:
        """Fits a model to the owner's examples; each topic's answer is added as an example.

        Raises EncoderUnavailable if the encoder is not installed.
        """
        topics = {label for _, label, source in examples if source != DISMISSED_SOURCE}
        return cls(examples + answer_examples(responses, topics), responses, config)

    @property
    def state(self) -> dict[str, Any]:
        """The fitted arrays and cut (empty for a model without owner phrasings)."""
        return self._scorer.state if self._scorer else {}

    def footprint(self) -> int:
        """Estimated bytes this model holds in memory (arrays, lexical index, texts)."""
        arrays = sum(a.nbytes for a in self.state.values() if isinstance(a, np.ndarray))
        texts = sum(len(text) + 100 for text, _, _ in self.examples)  # + tuple and str headers
        lexical = self._scorer.lexical_footprint() if self._scorer else 0
        return arrays + texts + lexical + len(json.dumps(self.responses))

    def save(self, directory: Path) -> None:
        """Writes examples, responses, configuration and cut as JSON, the arrays as ``.npy``."""
        payload = {"examples": self.examples, "responses": self.responses,
                   "cut": self.state.get("cut"), "config": self.config, "revision": REVISION}
        (directory / MODEL_FILE).write_text(json.dumps(payload), encoding="utf-8")
        for name in _ARRAYS:
            if self.state.get(name) is not None:
                np.save(directory / f"{name}.npy", self.state[name], allow_pickle=False)
        if self._scorer is not None:
            vocabularies, arrays = _split_index(self._scorer.lexical_index())
            (directory / _LEXICAL_JSON).write_text(json.dumps(vocabularies), encoding="utf-8")
            np.savez(directory / _LEXICAL_ARRAYS, **arrays)

    def to_archive(self, path: Path) -> None:
        """Writes the saved files as a gzipped tar, which ``from_archive`` reads as it reads a
        Rasa model archive: what a pool can answer with before Rasa has packaged the model.

        Raises OSError if it cannot be written.
        """
        with tempfile.TemporaryDirectory(prefix="faq-matcher-") as directory:
            self.save(Path(directory))
            # Level 1: the arrays barely compress anyway, and this is on the way to answering.
            with tarfile.open(path, "w:gz", compresslevel=1) as archive:
                archive.add(directory, arcname=_MATCHER_ONLY_FOLDER)

    @classmethod
    def load(cls, directory: Path, config: Mapping[str, Any] | None = None) -> FaqModel:
        """Loads a model saved by ``save``; ``config`` overrides the saved configuration.

        Raises ModelUnreadable if the files are missing or corrupt.
        """
        files = {}
        for name in (MODEL_FILE, _LEXICAL_JSON, _LEXICAL_ARRAYS,
                     *(f"{array}.npy" for array in _ARRAYS)):
            path = directory / name
            if path.exists():
                files[name] = path.read_bytes()
        return cls.from_files(files, config)

    @classmethod
    def from_archive(cls, path: Path) -> FaqModel:
        """Reads the matcher's resource out of a Rasa model archive (``<digest>.tar.gz``).

        Only the resource's own files are read, into memory; nothing is extracted to disk.
        Raises ModelUnreadable if the archive is unreadable or holds no FAQ matcher.
        """
        try:
            with tarfile.open(path, "r:gz") as archive:
                return cls.from_files(_resource_files(archive))
        except (OSError, tarfile.TarError, EOFError) as exc:
            raise ModelUnreadable(f"unreadable model archive ({type(exc).__name__})") from exc

    @classmethod
    def from_files(cls, files: Mapping[str, bytes],
                   config: Mapping[str, Any] | None = None) -> FaqModel:
        """A model from its resource's files (file name → content).

        Raises ModelUnreadable if they are missing or corrupt;
        EncoderUnavailable if the encoder is not installed.
        """
        try:
            payload = json.loads(files[MODEL_FILE])
            state = {name: _array(files.get(f"{name}.npy")) for name in _ARRAYS}
            examples = [(str(t), str(label), str(s)) for t, label, s in payload["examples"]]
            responses, cut = payload["responses"], payload["cut"]
            state["lexical"] = _join_index(files.get(_LEXICAL_JSON), files.get(_LEXICAL_ARRAYS))
        except (KeyError, TypeError, ValueError, OSError) as exc:
            raise ModelUnreadable(f"not a FAQ matcher model ({type(exc).__name__})") from exc
        config = {**payload.get("config", {}), **(config or {})}
        if payload.get("revision") != REVISION:
            # A bot upgraded before its owner republished: refit (seconds) rather than
            # read its arrays with a meaning they were not saved with.
            logger.info("FaqModel: model of revision %s, refitting it as revision %s",
                           payload.get("revision", 1), REVISION)
            owned = [e for e in examples if e[2] != ANSWER_SOURCE]
            return cls.fit(owned, responses, config)
        return cls(examples, responses, config, {**state, "cut": cut} if cut is not None else None)

    def predict(self, text: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """The ``faq`` intent with its confidence, and the response selection (None when the
        model matches nothing), as FaqMatcher hands them to Rasa."""
        ranking = self._scorer.rank(text or "") if self._scorer else []
        intent = {"name": FAQ_INTENT, "confidence": ranking[0][1] if ranking else 0.0}
        return intent, self._selection(ranking) if ranking else None

    def parse(self, text: str) -> dict[str, Any]:
        """What Rasa's ``POST /model/parse`` answers for this model's bot: FaqMatcher's output,
        then the FallbackClassifier's rule (below the threshold, ``nlu_fallback`` with the
        threshold as confidence, put first in the ranking)."""
        intent, selection = self.predict(text)
        ranking = [intent]
        threshold = float(self.config["fallback_threshold"])
        if intent["confidence"] < threshold:
            intent = {"name": FALLBACK_INTENT, "confidence": threshold}
            ranking.insert(0, intent)
        elif selection is not None:
            # Rasa's processor then names the full retrieval intent, which it looks up under
            # the intent's name, not under "default": None, on the same dict as the ranking's.
            intent["full_retrieval_intent_name"] = None
        parse = {"text": text, "intent": intent, "entities": [], "intent_ranking": ranking}
        if selection is not None:
            parse["response_selector"] = selection
        return parse

    def _selection(self, ranking: list[tuple[str, float]]) -> dict[str, Any]:
        best_key, best_score = ranking[0]
        utter_action = f"utter_{best_key}"
        listed = ranking[: self.config["ranking_length"]]
        return {
            "all_retrieval_intents": [FAQ_INTENT],
            "default": {
                "response": {
                    "responses": self.responses.get(utter_action, []),
                    "confidence": best_score,
                    "intent_response_key": best_key,
                    "utter_action": utter_action,
                },
                "ranking": [{"confidence": s, "intent_response_key": k} for k, s in listed],
            },
        }


_last_fit: list = []  # [inputs' key, model]: one model (~1 MB at most) per process
_last_fit_lock = threading.Lock()


def fit_once(examples: list[Example], responses: Responses,
             config: Mapping[str, Any] | None = None) -> FaqModel:
    """``FaqModel.fit``, reusing this process's last fit when the inputs are the same.

    A publish to a pool fits the matcher first, for the pool to answer with at once, then Rasa
    packages the model archive, whose FaqMatcher would fit the same inputs again: it gets the
    same model instead (a fit is deterministic, so only the time differs).
    """
    key = json.dumps([examples, responses, {**DEFAULT_CONFIG, **(config or {})}],
                     sort_keys=True)
    with _last_fit_lock:
        if _last_fit and _last_fit[0] == key:
            return _last_fit[1]
    model = FaqModel.fit(examples, responses, config)
    with _last_fit_lock:
        _last_fit[:] = [key, model]
    return model


def answer_examples(responses: Responses, topics: set[str]) -> list[Example]:
    """Each topic's answer as an example of the topic: askers often use the answer's words
    ("when does my card arrive" for "Cards arrive within 5 working days")."""
    answers = []
    for topic in sorted(topics):
        text = next(iter(responses.get(f"utter_{topic}", [])), {}).get("text") or ""
        if text.strip():
            answers.append((text, topic, ANSWER_SOURCE))
    return answers


def _resource_files(archive: tarfile.TarFile) -> dict[str, bytes]:
    """The files of the directory in ``archive`` that holds ``MODEL_FILE`` (Rasa stores each
    component's resource under ``components/<node name>/``)."""
    members = [m for m in archive.getmembers() if m.isfile()]
    found = [m for m in members if Path(m.name).name == MODEL_FILE]
    if len(found) != 1:
        raise ModelUnreadable("the archive holds no FAQ matcher resource")
    folder = Path(found[0].name).parent
    files = {}
    for member in members:
        if Path(member.name).parent == folder and member.size <= _MAX_MODEL_FILE:
            files[Path(member.name).name] = archive.extractfile(member).read()
    return files


def _split_index(index: dict[str, Any]) -> tuple[dict, dict[str, np.ndarray]]:
    """A lexical index as JSON (the vocabularies) and arrays (idf and matrices)."""
    vocabularies, arrays = {}, {}
    for analyzer, saved in index.items():
        vocabularies[analyzer] = saved and saved["vocabulary"]
        for name, value in (saved or {}).items():
            if name != "vocabulary":
                arrays[f"{analyzer}_{name}"] = value
    return vocabularies, arrays


def _join_index(vocabularies: bytes | None, arrays: bytes | None) -> dict[str, Any] | None:
    """The inverse of ``_split_index``; None for a model saved without its index (it is then
    fitted again when loaded)."""
    if vocabularies is None or arrays is None:
        return None
    index = {}
    with np.load(io.BytesIO(arrays), allow_pickle=False) as saved:
        for analyzer, vocabulary in json.loads(vocabularies).items():
            index[analyzer] = vocabulary and {
                "vocabulary": vocabulary,
                **{name: saved[f"{analyzer}_{name}"] for name in _LEXICAL_FIELDS}}
    return index


def _array(content: bytes | None) -> np.ndarray | None:
    return np.load(io.BytesIO(content), allow_pickle=False) if content is not None else None
