"""The environment of every process that runs Rasa (or a pool's numpy), written here once.

``make run`` exports it (scripts/run-local.sh reads ``python -m publish_broker.rasa_env``), the
runtimes hand it to the bots and pools they start, and the trainer sets what is unset in the
worker. The broker and concierge images need it before Python starts, so their Dockerfiles
repeat it in ``ENV``; tests/stack/test_rasa_env.py checks that they match this.
"""

from __future__ import annotations

RASA_ENV = {
    # No telemetry calls home.
    "RASA_TELEMETRY_ENABLED": "false",
    # No training cache: it scans itself on every write and breaks under concurrent workers;
    # bots never train.
    "RASA_MAX_CACHE_SIZE": "0",
    # Small pipelines: one BLAS thread is faster, not slower, and processes share two cores.
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    # Rasa 3.6's TensorFlow and SQLAlchemy would otherwise fill the logs with notices.
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
}


def main() -> None:
    """Prints the environment as NAME=value lines, for shells."""
    for name, value in RASA_ENV.items():
        print(f"{name}={value}")


if __name__ == "__main__":
    main()
