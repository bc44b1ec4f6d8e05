"""The sentence encoder's own latency: one question at a time, as a bot or a pool encodes an ask.

Usage (from the repository root, the Rasa environment's python; docs/answer-quality.md):

    python bench/encoder_latency.py --questions ../shared/data/banking77/test.csv --limit 500 \
        --json bench/results/encoder-latency.json

Encodes the first ``--limit`` questions of the CSV's ``text`` column one by one, bypassing the
encoder's per-process cache (a cached question costs microseconds), after a warm-up of 20, and
writes the load time and the per-question p50 / p95 / mean in milliseconds. Pass
``--code DIR`` to time another checkout's ``publish_broker`` (e.g. main's, for a before/after).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

import numpy as np
import results

ROOT = Path(__file__).resolve().parents[1]


def _questions(path: Path, limit: int) -> list[str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [row["text"] for row in csv.DictReader(handle)][:limit]


def measure(questions: list[str]) -> dict[str, float]:
    """Load time and per-question encoding latencies of the importable encoder."""
    from publish_broker.encoder import load_encoder

    return {"questions": len(questions), **timed(load_encoder, questions)[1]}


def timed(make_encoder, questions: list[str]) -> tuple[object, dict[str, float]]:
    """The encoder `make_encoder()` builds, and its load time and per-question latencies (ms,
    one question at a time, after 20 to warm up)."""
    started = time.perf_counter()
    encoder = make_encoder()
    load_s = time.perf_counter() - started
    for question in questions[:20]:
        encoder._encode_uncached([question])
    latencies = []
    for question in questions:
        started = time.perf_counter()
        encoder._encode_uncached([question])
        latencies.append((time.perf_counter() - started) * 1000)
    return encoder, {"load_s": round(load_s, 3),
                     "ms_p50": round(float(np.percentile(latencies, 50)), 2),
                     "ms_p95": round(float(np.percentile(latencies, 95)), 2),
                     "ms_mean": round(float(np.mean(latencies)), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=500)
    parser.add_argument("--code", type=Path, default=ROOT,
                        help="a checkout whose publish-broker/publish_broker to time")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sys.path.insert(0, str(args.code / "publish-broker"))
    result = {"code": str(args.code), "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
              **measure(_questions(args.questions, args.limit))}
    results.write(result, args.json)


if __name__ == "__main__":
    main()
