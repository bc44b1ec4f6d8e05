"""The encoder bench's ONNX-file candidates (bench/encoder_candidate.py): an encoder shipped as
an ONNX file is fed, pooled and normalised the way the production encoder is, so its figures
are comparable with MiniLM's."""

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file

from bench.encoder_candidate import OnnxFileEncoder
from publish_broker.encoder import load_encoder, model_directory
from publish_broker.encoder_graph import bert_graph

QUESTIONS = ["How do I reset my password?", "i forgot my pasword",
             "What time does the canteen open on Fridays?"]


def _production_graph_file(path):
    """The production MiniLM graph with its weights inline, saved as one ONNX file."""
    directory = model_directory()
    config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    graph = bert_graph(config, load_file(str(directory / "model.safetensors")))
    model = onnx.load_from_string(graph.model)
    for tensor in model.graph.initializer:
        if tensor.name in graph.weights:
            del tensor.external_data[:]
            tensor.data_location = TensorProto.DEFAULT
            tensor.raw_data = graph.weights[tensor.name].tobytes()
    onnx.save(model, str(path))
    return path


def _token_states_file(path, table):
    """A stand-in encoder whose token states are rows of ``table`` (one per token id), with
    the int64 inputs and the extra outputs of a sentence-transformers export."""
    nodes = [helper.make_node("Gather", ["table", "input_ids"], ["states"]),
             helper.make_node("Identity", ["input_ids"], ["echo"])]
    dims = ["batch", "length"]
    graph = helper.make_graph(
        nodes, "states",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, dims),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, dims)],
        [helper.make_tensor_value_info("echo", TensorProto.INT64, dims),
         helper.make_tensor_value_info("states", TensorProto.FLOAT, [*dims, table.shape[1]])],
        [numpy_helper.from_array(table, "table")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(path))
    return path


def test_an_onnx_file_gives_the_vectors_the_production_encoder_gives(tmp_path):
    candidate = OnnxFileEncoder(_production_graph_file(tmp_path / "minilm.onnx"),
                                model_directory() / "vocab.txt", "output")

    assert candidate.dimension == 384
    np.testing.assert_allclose(candidate.encode(QUESTIONS), load_encoder().encode(QUESTIONS),
                               atol=1e-5)


@pytest.fixture()
def stand_in(tmp_path):
    vocab = model_directory() / "vocab.txt"
    size = len(vocab.read_text(encoding="utf-8").splitlines())
    table = np.random.default_rng(7).normal(size=(size, 8)).astype(np.float32)
    return _token_states_file(tmp_path / "states.onnx", table), vocab, table


def test_mean_and_cls_pooling_read_the_real_tokens_only(stand_in):
    path, vocab, table = stand_in
    mean, cls = OnnxFileEncoder(path, vocab, "mean"), OnnxFileEncoder(path, vocab, "cls")
    short, long = "vpn", QUESTIONS[2]
    ids = mean.tokenizer.ids(short)

    expected = table[ids].mean(axis=0)
    batched = mean._encode_uncached([short, long])[0]  # padded to the long question's length
    np.testing.assert_allclose(batched, expected / np.linalg.norm(expected), atol=1e-6)
    first = table[ids[0]]
    np.testing.assert_allclose(cls.encode([short])[0], first / np.linalg.norm(first), atol=1e-6)
    assert not np.allclose(batched, cls.encode([short])[0])


def test_the_prefix_goes_before_every_question(stand_in):
    path, vocab, _ = stand_in
    prefixed = OnnxFileEncoder(path, vocab, "mean", prefix="query: ")
    plain = OnnxFileEncoder(path, vocab, "mean")

    np.testing.assert_allclose(prefixed.encode(["vpn"]), plain.encode(["query: vpn"]), atol=1e-6)
    assert not np.allclose(prefixed.encode(["vpn"]), plain.encode(["vpn"]))


def test_a_file_without_the_needed_output_is_refused_by_name(stand_in):
    path, vocab, _ = stand_in

    with pytest.raises(ValueError, match="no float output of rank 2"):
        OnnxFileEncoder(path, vocab, "output")
    with pytest.raises(ValueError, match="--pooling"):
        OnnxFileEncoder(path, vocab, "max")
