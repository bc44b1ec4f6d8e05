"""Measures the matcher's refusal settings on BANKING77's *train* split only (never its test).

    python bench/tune_cut.py --train ../shared/data/banking77/train.csv --label-column category \
        --json bench/results/tune-cut.json

Each label's first K train questions make its topic (as bench/answer_quality.py does); the
next 10 train questions of the label are the in-scope validation questions, and the train
questions of the 10 labels that answer_quality.py holds out are the out-of-scope ones. Bots of
67 topics (1 and 5 shots) and small bots (1, 3, 5, 20 topics, the first by sha256 of the label;
every other label's validation questions are their out-of-scope ones) are fitted with
``publish_broker.matcher.FaqModel`` directly (no Rasa: the same fit), for each configuration of
``CONFIGS``, and the refusal rates are written as JSON.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "publish-broker"))
sys.path.insert(0, str(REPO / "bench"))

import results  # noqa: E402
from answer_quality import holdout_labels, read_rows, version_of  # noqa: E402

from publish_broker.botproject import matcher_examples  # noqa: E402
from publish_broker.constants import FAQ_INTENT  # noqa: E402
from publish_broker.matcher import FaqModel  # noqa: E402

CONFIGS = {
    "no background": {"background": False},
    "background": {"background": True},
    # Round 3 (issue 15): how far the refusal bars can move before in-scope refusals pass 0.10.
    "cut quantile 0.15": {"cut_quantile": 0.15},
    "cut quantile 0.2": {"cut_quantile": 0.2},
    "min similarity 0.35": {"min_similarity": 0.35},
    "min similarity 0.4": {"min_similarity": 0.4},
}
VALIDATION_PER_LABEL = 10


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def split(rows: list[tuple[str, str]], shots: int) -> tuple[dict, dict]:
    """label → its first ``shots`` questions, and label → its next validation questions."""
    topics: dict[str, list[str]] = {}
    validation: dict[str, list[str]] = {}
    for text, label in rows:
        if len(topics.setdefault(label, [])) < shots:
            topics[label].append(text)
        elif len(validation.setdefault(label, [])) < VALIDATION_PER_LABEL:
            validation[label].append(text)
    return topics, validation


def evaluate(topics: dict, inscope: list, oos: list[str], config: dict) -> dict:
    """Fits one bot and returns top1 / in-scope refused / out-of-scope refused."""
    version, names = version_of(topics)
    examples, responses = matcher_examples(version, 10)
    started = time.perf_counter()
    model = FaqModel.fit(examples, responses, config)
    fit_s = time.perf_counter() - started
    answers = []
    for text in [t for t, _ in inscope] + oos:
        parse = model.parse(text)
        refused = parse["intent"]["name"] != FAQ_INTENT
        key = parse["response_selector"]["default"]["response"]["intent_response_key"] \
            if not refused else None
        answers.append(None if refused else names[key.split("/t", 1)[1]])
    inscope_answers, oos_answers = answers[: len(inscope)], answers[len(inscope):]
    return {
        "topics": len(topics), "cut": round(model.state["cut"], 4), "fit_s": round(fit_s, 2),
        "top1": round(np.mean([a == label for a, (_, label) in zip(inscope_answers, inscope,
                                                                   strict=True)]), 4),
        "inscope_refused": round(np.mean([a is None for a in inscope_answers]), 4),
        "oos_refused": round(np.mean([a is None for a in oos_answers]), 4) if oos else None,
    }


def runs(rows: list[tuple[str, str]]) -> list[tuple[str, dict, list, list[str]]]:
    """(name, topics, in-scope validation, out-of-scope validation) of every bot measured."""
    held = holdout_labels({label for _, label in rows}, 10)
    result = []
    for shots in (1, 5):
        topics, validation = split([r for r in rows if r[1] not in held], shots)
        _, held_validation = split([r for r in rows if r[1] in held], 0)
        oos = [t for questions in held_validation.values() for t in questions]
        inscope = [(t, label) for label, questions in validation.items() for t in questions]
        result.append((f"{len(topics)} topics, {shots} shot", topics, inscope, oos))
    topics, validation = split([r for r in rows if r[1] not in held], 1)
    for size in (1, 3, 5, 20):
        chosen = sorted(topics, key=_hash)[:size]
        inscope = [(t, label) for label in chosen for t in validation[label]]
        oos = [t for label in sorted(topics, key=_hash)[size:size + 40] for t in validation[label]]
        result.append((f"{size} topics, 1 shot", {k: topics[k] for k in chosen}, inscope, oos))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--label-column", default="label")
    parser.add_argument("--configs", nargs="*", default=list(CONFIGS))
    parser.add_argument("--json", type=Path, required=True)
    args = parser.parse_args()
    rows = read_rows(args.train, args.label_column)
    measured = []
    for name, topics, inscope, oos in runs(rows):
        for config in args.configs:
            result = {"bot": name, "config": config, **evaluate(topics, inscope, oos,
                                                                CONFIGS[config])}
            print(json.dumps(result), flush=True)
            measured.append(result)
    results.write(measured, args.json, shown=None, indent=1)


if __name__ == "__main__":
    main()
