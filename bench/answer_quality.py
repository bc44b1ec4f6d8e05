"""Answer quality of the FAQ bots: paraphrase accuracy and "I don't know", on public data.

    python bench/answer_quality.py --train TRAIN.csv --test TEST.csv [--oos OOS.csv]
        [--holdout-labels N] [--topics N] [--shots K] [--limit-test N] [--label-column NAME]
        [--paraphrases-per-topic N] --json OUT.json [--baseline seed] [--server rasa|pool]
        [--matcher KEY=NUMBER ...]

Protocol: each training label becomes one topic of one owner (its first K training questions,
file order: the first is the question, the others its alternatives; the answer is the label).
The bot is trained by the production ``publish_broker.training.Trainer`` (WordNet paraphrases,
the generated Rasa project, FaqMatcher, FallbackClassifier and threshold as configured). Each
test question is asked as ``ask @user`` asks it: ``actions.bot_client.answer_from_parse`` on
the result of ``Agent.parse_message``, which is the very call ``POST /model/parse`` of
``rasa run`` makes, minus HTTP (so the latency is the model's, without the network).

``--oos`` adds out-of-scope questions (only its ``text`` column is read).
``--holdout-labels N`` keeps N labels (the first N by sha256 of their name) out of training and
asks their test questions as out-of-scope; ``--topics N`` then makes a small bot of the first N
of the remaining labels by sha256 (the others' test questions are not asked). ``--limit-test N``
asks the first N test questions by sha256 of their text (and at most N of ``--oos``).
``--baseline seed`` also trains and asks the original design: its WordNet variant generator
(all synonyms of all senses of every word, first 5 of an unordered set), a DIET +
ResponseSelector pipeline and no fallback.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import hashlib
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
for _path in ("publish-broker", "capture-actions", "bench"):
    if str(REPO / _path) not in sys.path:
        sys.path.insert(0, str(REPO / _path))

import results  # noqa: E402

from actions.bot_client import BotAnswer, answer_from_parse  # noqa: E402
from publish_broker.botproject import BotProject  # noqa: E402
from publish_broker.matcher import FALLBACK_THRESHOLD  # noqa: E402
from publish_broker.training import Trainer, configure_rasa_environment, train_project  # noqa: E402

logger = logging.getLogger(__name__)


class BenchError(Exception):
    """The benchmark's input is unusable (missing column, no labels left, ...)."""


@dataclass(frozen=True)
class Dataset:
    """Topics (label → its questions) and the questions to ask, with their expected label."""

    topics: dict[str, list[str]]
    inscope: list[tuple[str, str]]
    oos: list[str]


def read_rows(path: Path, label_column: str | None) -> list[tuple[str, str]]:
    """(text, label) rows of a CSV; raises BenchError if a column is missing.

    ``label_column=None`` needs only ``text`` (out-of-scope questions have no label to read).
    """
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"text", label_column or "text"} - set(reader.fieldnames or [])
        if missing:
            raise BenchError(f"{path} lacks the column(s) {sorted(missing)}")
        return [(row["text"].strip(), (row[label_column] or "").strip() if label_column else "")
                for row in reader if (row["text"] or "").strip()]


def _by_hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def holdout_labels(labels: set[str], count: int) -> set[str]:
    """The ``count`` labels kept out of training: the first by sha256 of their name."""
    return set(sorted(labels, key=_by_hash)[:count])


def sample(items: list, limit: int | None, key: Callable) -> list:
    """The first ``limit`` items by sha256 of ``key(item)``, kept in their original order."""
    if limit is None or limit >= len(items):
        return list(items)
    chosen = set(sorted(range(len(items)), key=lambda i: _by_hash(key(items[i])))[:limit])
    return [item for i, item in enumerate(items) if i in chosen]


def build_dataset(args: argparse.Namespace) -> Dataset:
    """Reads the CSVs and applies shots, hold-out and sampling; raises BenchError."""
    train = read_rows(args.train, args.label_column)
    test = sample(read_rows(args.test, args.label_column), args.limit_test, lambda r: r[0])
    held = holdout_labels({label for _, label in train}, args.holdout_labels)
    kept = {label for _, label in train} - held
    if args.topics is not None:  # a small bot: the first N of the other labels by sha256
        kept = set(sorted(kept, key=_by_hash)[: args.topics])
    topics: dict[str, list[str]] = {}
    for text, label in train:
        if label in kept and len(topics.setdefault(label, [])) < args.shots:
            topics[label].append(text)
    if not topics:
        raise BenchError("no training label is left")
    inscope = [(text, label) for text, label in test if label in topics]
    oos = [text for text, label in test if label in held]
    if args.oos:
        oos += [t for t, _ in sample(read_rows(args.oos, None), args.limit_test,
                                     lambda r: r[0])]
    return Dataset(topics, inscope, oos)


def version_of(topics: dict[str, list[str]]) -> tuple[dict, dict[str, str]]:
    """A publish-api version with one topic per label, and topic id → label."""
    labels = sorted(topics)
    version = {"id": "bench", "topics": [
        {"id": index, "question": topics[label][0], "alternatives": topics[label][1:],
         "answer": label}
        for index, label in enumerate(labels, start=1)
    ]}
    return version, {str(index): label for index, label in enumerate(labels, start=1)}


def ask_all(model_path: Path, questions: list[str], adapt: Callable[[dict], dict] = dict,
            ) -> tuple[list[BotAnswer], list[float]]:
    """Loads the model as ``rasa run`` does and parses each question; answers and ms each.

    ``adapt`` may rewrite a parse result before it is read (the seed baseline needs it).
    """
    from rasa.core.agent import Agent

    agent = Agent.load(str(model_path))
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(agent.parse_message("warm up"))
        answers, timings = [], []
        for question in questions:
            started = time.perf_counter()
            parse = loop.run_until_complete(agent.parse_message(question))
            answers.append(answer_from_parse(adapt(parse)))
            timings.append((time.perf_counter() - started) * 1000)
    finally:
        loop.close()
    return answers, timings


def ask_all_pool(model_path: Path, questions: list[str], adapt: Callable[[dict], dict] = dict,
                 ) -> tuple[list[BotAnswer], list[float]]:
    """As ``ask_all``, but the way a bot pool answers: the matcher read out of the archive by
    publish_broker.matcher (no Rasa), ``parse`` in place of Rasa's processor."""
    from publish_broker.matcher import FaqModel

    model = FaqModel.from_archive(model_path)
    model.parse("warm up")
    answers, timings = [], []
    for question in questions:
        started = time.perf_counter()
        answers.append(answer_from_parse(adapt(model.parse(question))))
        timings.append((time.perf_counter() - started) * 1000)
    return answers, timings


SERVERS = {"rasa": ask_all, "pool": ask_all_pool}


def score(dataset: Dataset, labels: dict[str, str], answers: list[BotAnswer],
          timings: list[float], train_seconds: float) -> dict:
    """The JSON measures of one bot (answers: in-scope questions first, then out-of-scope)."""
    inscope, oos = answers[: len(dataset.inscope)], answers[len(dataset.inscope) :]
    correct = [not a.is_fallback and labels.get(a.topic or "") == label
               for a, (_, label) in zip(inscope, dataset.inscope, strict=True)]
    answered = [not a.is_fallback for a in inscope]
    return {
        "top1": _mean(correct),
        "top1_when_answered": _mean([c for c, a in zip(correct, answered, strict=True) if a]),
        "inscope_refused": _mean([a.is_fallback for a in inscope]),
        "oos_refused": _mean([a.is_fallback for a in oos]),
        "train_seconds": round(train_seconds, 3),
        "query_ms_p50": round(float(np.percentile(timings, 50)), 2) if timings else None,
        "query_ms_p95": round(float(np.percentile(timings, 95)), 2) if timings else None,
        "n_labels": len(dataset.topics),
        "n_test": len(dataset.inscope),
        "n_oos": len(dataset.oos),
    }


def _mean(values: list) -> float | None:
    return round(float(np.mean(values)), 4) if values else None


def run_bot(dataset: Dataset, train: Callable[[dict, Path], Path],
            adapt: Callable[[dict], dict] = dict, ask: Callable = ask_all) -> dict:
    """Trains with ``train(version, out_dir) -> model path``, asks everything, scores it."""
    version, labels = version_of(dataset.topics)
    with tempfile.TemporaryDirectory(prefix="faqbot-bench-") as out_dir:
        started = time.perf_counter()
        model = train(version, Path(out_dir))
        train_seconds = time.perf_counter() - started
        questions = [text for text, _ in dataset.inscope] + dataset.oos
        answers, timings = ask(model, questions, adapt)
    return score(dataset, labels, answers, timings, train_seconds)


def production_train(trainer: Trainer) -> Callable[[dict, Path], Path]:
    """The worker's path: ``Trainer.train`` (warmed up beforehand, as the worker is)."""
    return lambda version, out_dir: trainer.train(version, out_dir).path


# --- the seed design (baseline) ---------------------------------------------------------------

SEED_VARIANTS = 5
SEED_PIPELINE = [
    {"name": "WhitespaceTokenizer"},
    {"name": "CountVectorsFeaturizer"},
    {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4},
    {"name": "DIETClassifier", "epochs": 100, "constrain_similarities": True},
    {"name": "ResponseSelector", "epochs": 100, "constrain_similarities": True},
]


def seed_variants(question: str) -> list[str]:
    """The seed generator: every synonym of every sense of every word, first 5 of a set.

    Deliberately as the original: a set's order depends on PYTHONHASHSEED.
    """
    from nltk.corpus import wordnet

    words = question.split()
    variants = set()
    for index, word in enumerate(words):
        for synset in wordnet.synsets(word):
            for lemma in synset.lemmas():
                synonym = lemma.name().replace("_", " ")
                if synonym.lower() != word.lower():
                    variants.add(" ".join([*words[:index], synonym, *words[index + 1 :]]))
    return list(variants)[:SEED_VARIANTS]


def seed_project(version: dict) -> BotProject:
    """The seed design's Rasa project: DIET + ResponseSelector, no fallback."""
    nlu, responses = [], {}
    for topic in version["topics"]:
        key = f"faq/t{topic['id']}"
        examples = []
        for question in [topic["question"], *topic["alternatives"]]:
            examples += [question, *seed_variants(question)]
        unique = list(dict.fromkeys(" ".join(e.replace("[", "(").split()) for e in examples))
        nlu.append({"intent": key, "examples": "".join(f"- {e}\n" for e in unique)})
        responses[f"utter_{key}"] = [{"text": topic["answer"]}]
    rules = [{"rule": "faq", "steps": [{"intent": "faq"}, {"action": "utter_faq"}]}]
    config = {"recipe": "default.v1", "language": "en", "assistant_id": "seed",
              "pipeline": SEED_PIPELINE, "policies": [{"name": "RulePolicy"}]}
    return BotProject({
        "config.yml": _yaml(config),
        "domain.yml": _yaml({"version": "3.1", "intents": ["faq"], "responses": responses}),
        "data/nlu.yml": _yaml({"version": "3.1", "nlu": nlu}),
        "data/rules.yml": _yaml({"version": "3.1", "rules": rules}),
    })


def seed_train(version: dict, out_dir: Path) -> Path:
    """Trains the seed design's project in-process."""
    return train_project(seed_project(version), out_dir).path


def seed_adapt(parse: dict) -> dict:
    """DIET cannot train on a single intent (``faq``) and predicts none; the seed design had
    no fallback, so its ``utter_faq`` rule answered from the response selector: read it so."""
    if not (parse.get("intent") or {}).get("name"):
        selected = parse["response_selector"]["default"]["response"]
        parse = {**parse, "intent": {"name": "faq", "confidence": selected["confidence"]}}
    return parse


def _yaml(data: dict) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1_000_000)


# --- command line -----------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The CLI of the issue (plus ``--paraphrases-per-topic`` to measure WordNet's share)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--test", type=Path, required=True)
    parser.add_argument("--oos", type=Path)
    parser.add_argument("--holdout-labels", type=int, default=0)
    parser.add_argument("--shots", type=int, default=1)
    parser.add_argument("--topics", type=int,
                        help="train only the first N labels (by sha256) left after hold-out")
    parser.add_argument("--limit-test", type=int)
    parser.add_argument("--label-column", default="label")
    parser.add_argument("--paraphrases-per-topic", type=int,
                        help="override the production cap (1 = no WordNet paraphrases)")
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--baseline", choices=["seed"])
    parser.add_argument("--server", choices=sorted(SERVERS), default="rasa",
                        help="who answers: a Rasa server's processor, or a bot pool's matcher")
    parser.add_argument("--matcher", action="append", default=[], metavar="KEY=NUMBER",
                        help="a variant: override one of the matcher's DEFAULT_CONFIG numbers")
    args = parser.parse_args(argv)
    if args.shots < 1 or args.holdout_labels < 0 or (args.limit_test or 1) < 1:
        parser.error("--shots and --limit-test must be >= 1, --holdout-labels >= 0")
    return args


def main(argv: list[str] | None = None) -> dict:
    """Runs the benchmark and writes the JSON; raises BenchError for unusable input."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    variant = _matcher_variant(args.matcher)
    configure_rasa_environment()
    dataset = build_dataset(args)
    settings = {} if args.paraphrases_per_topic is None else {
        "paraphrases_per_topic": args.paraphrases_per_topic}
    trainer = Trainer(**settings)
    trainer.warm_up()
    result = {**run_bot(dataset, production_train(trainer), ask=SERVERS[args.server]),
              "server": args.server, "shots": args.shots,
              "paraphrases_per_topic": trainer.paraphrases_per_topic,
              "fallback_threshold": FALLBACK_THRESHOLD, "matcher_variant": variant}
    if args.baseline == "seed":
        result["baseline"] = run_bot(dataset, seed_train, seed_adapt)
    results.write(result, args.json)
    return result


def _matcher_variant(overrides: list[str]) -> dict[str, float]:
    """Applies ``KEY=NUMBER`` overrides to the matcher's defaults, which FaqMatcher reads when
    this process trains; raises BenchError for an unknown key or a value that is no number."""
    from publish_broker.matcher import DEFAULT_CONFIG

    variant = {}
    for override in overrides:
        key, _, value = override.partition("=")
        if key not in DEFAULT_CONFIG or isinstance(DEFAULT_CONFIG[key], bool):
            raise BenchError(f"--matcher: no numeric matcher setting {key!r}")
        try:
            variant[key] = type(DEFAULT_CONFIG[key])(value)
        except ValueError:
            raise BenchError(f"--matcher: {key} needs a number") from None
    DEFAULT_CONFIG.update(variant)
    return variant


if __name__ == "__main__":
    try:
        main()
    except BenchError as error:
        sys.exit(f"answer_quality: {error}")
