"""The sentence encoder's forward pass as an ONNX graph, built from the shipped weights.

No exporter and no torch: the graph is written node by node with ``onnx.helper`` from the
``model.safetensors`` arrays of the weights package, and onnxruntime (its own CPU kernels,
fusing LayerNorm, GELU and MatMul + bias) runs it ~3× faster than the numpy forward pass it
replaces, with the same vectors (docs/answer-quality.md, "Encoder speed").

BERT as sentence-transformers runs all-MiniLM-L6-v2: word + position + token-type embeddings
and LayerNorm, then per layer 12-head self-attention (padding masked out) and a GELU
feed-forward, each followed by a residual LayerNorm; then mean pooling over the real tokens and
L2 normalisation. GELU is the tanh form, as before (within 1e-3 of erf, cosines unchanged).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import onnx
from onnx import TensorProto, helper

OPSET = 20  # the first with a standard Gelu (and its tanh approximation)
INPUTS = ("input_ids", "position_ids", "attention_mask")  # (batch, length): int64, int64, float
OUTPUT = "embedding"  # (batch, hidden): unit-length float32 rows
_MASKED = -1e9  # added to the attention scores of padding tokens
_EXTERNAL_SIZE = 1024  # elements: a larger constant is a weight passed from memory


class EncoderGraph(NamedTuple):
    """A serialized ONNX model and the arrays of its external initializers, by name."""

    model: bytes
    weights: dict[str, np.ndarray]


class _Graph:
    """Adds nodes and initializers to a model in place; fresh output names.

    Weight matrices are declared as external data and handed to onnxruntime from memory
    (``EncoderGraph.weights``): copying ~90 MB through protobuf took seconds at each load.
    """

    def __init__(self) -> None:
        self.model = onnx.ModelProto(ir_version=9)  # what onnxruntime 1.23 reads
        self.model.opset_import.add(domain="", version=OPSET)
        self.graph = self.model.graph
        self.weights: dict[str, np.ndarray] = {}

    def constant(self, array: Any, dtype: Any = np.float32) -> str:
        name = f"c{len(self.graph.initializer)}"
        array = np.ascontiguousarray(array, dtype)
        tensor = self.graph.initializer.add(name=name, dims=array.shape,
                                            data_type=helper.np_dtype_to_tensor_dtype(array.dtype))
        if array.size >= _EXTERNAL_SIZE:
            tensor.data_location = TensorProto.EXTERNAL
            tensor.external_data.add(key="location", value="memory")  # never read as a file
            self.weights[name] = array
        else:
            tensor.raw_data = array.tobytes()
        return name

    def node(self, op: str, *inputs: str, output: str | None = None, **attributes: Any) -> str:
        output = output or f"{op}_{len(self.graph.node)}"
        self.graph.node.append(helper.make_node(op, list(inputs), [output], **attributes))
        return output

    def linear(self, x: str, weights: dict[str, np.ndarray], name: str) -> str:
        """x @ Wᵀ + b for a torch-style (out, in) weight."""
        product = self.node("MatMul", x, self.constant(weights[f"{name}.weight"].T))
        return self.node("Add", product, self.constant(weights[f"{name}.bias"]))

    def layer_norm(self, x: str, weights: dict[str, np.ndarray], name: str, eps: float) -> str:
        return self.node("LayerNormalization", x, self.constant(weights[f"{name}.weight"]),
                         self.constant(weights[f"{name}.bias"]), epsilon=eps, axis=-1)


def bert_graph(config: dict[str, Any], weights: dict[str, np.ndarray]) -> EncoderGraph:
    """The ONNX model of the encoder (inputs ``INPUTS``, output ``OUTPUT``) and its weights.

    Raises KeyError if ``weights`` or ``config`` lack a BERT tensor or setting.
    """
    g = _Graph()
    eps = float(config["layer_norm_eps"])
    states = _embeddings(g, weights, eps)
    bias = _attention_bias(g)
    for index in range(int(config["num_hidden_layers"])):
        states = _layer(g, states, bias, weights, f"encoder.layer.{index}.", config)
    _mean_pool(g, states)
    int64, floats = TensorProto.INT64, TensorProto.FLOAT
    g.graph.name = "sentence_encoder"
    g.graph.input.extend(helper.make_tensor_value_info(name, dtype, ["batch", "length"])
                         for name, dtype in zip(INPUTS, (int64, int64, floats), strict=True))
    g.graph.output.append(
        helper.make_tensor_value_info(OUTPUT, floats, ["batch", config["hidden_size"]]))
    return EncoderGraph(g.model.SerializeToString(), g.weights)


def _embeddings(g: _Graph, weights: dict[str, np.ndarray], eps: float) -> str:
    prefix = "embeddings."
    words = g.node("Gather", g.constant(weights[prefix + "word_embeddings.weight"]), INPUTS[0])
    positions = g.node("Gather", g.constant(weights[prefix + "position_embeddings.weight"]),
                       INPUTS[1])
    token_type = g.constant(weights[prefix + "token_type_embeddings.weight"][0])
    summed = g.node("Add", g.node("Add", words, positions), token_type)
    return g.layer_norm(summed, weights, prefix + "LayerNorm", eps)


def _attention_bias(g: _Graph) -> str:
    """(batch, 1, 1, length): 0 for real tokens, a large negative number for padding."""
    mask = g.node("Unsqueeze", INPUTS[2], g.constant([1, 2], np.int64))
    padding = g.node("Sub", g.constant(1.0), mask)
    return g.node("Mul", padding, g.constant(_MASKED))


def _layer(g: _Graph, x: str, bias: str, weights: dict[str, np.ndarray], prefix: str,
           config: dict[str, Any]) -> str:
    heads, width = int(config["num_attention_heads"]), int(config["hidden_size"])
    eps = float(config["layer_norm_eps"])
    split = g.constant([0, 0, heads, width // heads], np.int64)

    def heads_of(name: str, perm: list[int]) -> str:
        projected = g.linear(x, weights, f"{prefix}attention.self.{name}")
        return g.node("Transpose", g.node("Reshape", projected, split), perm=perm)

    query = heads_of("query", [0, 2, 1, 3])
    key = heads_of("key", [0, 2, 3, 1])  # already transposed for query @ key
    value = heads_of("value", [0, 2, 1, 3])
    scores = g.node("Div", g.node("MatMul", query, key), g.constant(np.sqrt(width // heads)))
    attention = g.node("Softmax", g.node("Add", scores, bias), axis=-1)
    context = g.node("Transpose", g.node("MatMul", attention, value), perm=[0, 2, 1, 3])
    context = g.node("Reshape", context, g.constant([0, 0, width], np.int64))
    attended = g.linear(context, weights, f"{prefix}attention.output.dense")
    x = g.layer_norm(g.node("Add", attended, x), weights, f"{prefix}attention.output.LayerNorm",
                     eps)
    hidden = g.node("Gelu", g.linear(x, weights, f"{prefix}intermediate.dense"),
                    approximate="tanh")
    output = g.linear(hidden, weights, f"{prefix}output.dense")
    return g.layer_norm(g.node("Add", output, x), weights, f"{prefix}output.LayerNorm", eps)


def _mean_pool(g: _Graph, states: str) -> str:
    """Mean of the real tokens' states, L2-normalised, as the ``OUTPUT``."""
    mask = g.node("Unsqueeze", INPUTS[2], g.constant([2], np.int64))
    tokens = g.constant([1], np.int64)
    summed = g.node("ReduceSum", g.node("Mul", states, mask), tokens, keepdims=0)
    pooled = g.node("Div", summed, g.node("ReduceSum", mask, tokens, keepdims=0))
    norm = g.node("ReduceL2", pooled, g.constant([-1], np.int64), keepdims=1)
    return g.node("Div", pooled, g.node("Max", norm, g.constant(1e-12)), output=OUTPUT)
