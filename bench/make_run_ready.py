"""Time from `make run` to a usable page, on a fresh clone and on a second run.

    python bench/make_run_ready.py --json bench/results/make-run-ready.json [--runs 2]
        [--no-env-cache]

Each run starts `make run` in the same clean checkout of the working tree (what `git clone`
gives once it is committed; tests/stack/checkout.py), with no DATABASE_URL, QUEUE_URL or Slack
token, so it serves the playground, on ports of its own (5721-5725). It records, from the start:

- `page_s`: the playground's page first answers (`GET /` → 200);
- `ready_s`: the terminal says everything is ready (the concierge answers): the page is usable;
- `stop_s`: Ctrl-C (SIGINT to the process group) until `make run` exits.

The first run of a fresh clone trains the concierge (once per change of capture-bot/); the
later ones reuse its model. The Python environments come from the shared cache
(~/.cache/faqbot/envs) unless `--no-env-cache` builds them into an empty FAQBOT_ENV_ROOT (a
first run on a machine that never ran the project; its PyPI downloads may still be cached by
pip).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import results  # noqa: E402

from tests.stack.checkout import clean_checkout  # noqa: E402

PORTS = {"PUBLISH_API_PORT": 5721, "ACTIONS_PORT": 5722, "CONCIERGE_PORT": 5723,
         "PLAYGROUND_PORT": 5724, "POOL_PORT": 5725}
READY_LINE = "Ctrl-C stops everything"
TIMEOUT_S = 1800


def run_once(checkout: Path, env: dict, log_path: Path) -> dict:
    """One `make run` until ready, then Ctrl-C. Raises RuntimeError if it exits early."""
    page = f"http://127.0.0.1:{PORTS['PLAYGROUND_PORT']}/"
    started = time.monotonic()
    with log_path.open("wb") as log:
        process = subprocess.Popen(["make", "run"], cwd=checkout, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    timings: dict = {}
    try:
        while "ready_s" not in timings:
            if process.poll() is not None:
                raise RuntimeError(f"make run exited:\n{log_path.read_text()[-3000:]}")
            if time.monotonic() - started > TIMEOUT_S:
                raise RuntimeError("make run was not ready in time")
            now = time.monotonic() - started
            if "page_s" not in timings and _answers(page):
                timings["page_s"] = round(now, 2)
            if READY_LINE in log_path.read_text(errors="replace"):
                timings["ready_s"] = round(now, 2)
            time.sleep(0.2)  # polling interval of the measurement (0.2 s resolution)
        stopping = time.monotonic()
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=120)
        timings["stop_s"] = round(time.monotonic() - stopping, 2)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    timings["trained_concierge"] = "training the concierge" in log_path.read_text()
    return timings


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", required=True, type=Path)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--no-env-cache", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="make-run-bench-") as tmp:
        checkout = clean_checkout(Path(tmp) / "checkout")
        env = {k: v for k, v in os.environ.items()
               if k not in ("DATABASE_URL", "QUEUE_URL", "BROKER_URL", "SLACK_API_URL")
               and not k.endswith("TOKEN")}
        env.update({name: str(port) for name, port in PORTS.items()})
        if args.no_env_cache:
            env["FAQBOT_ENV_ROOT"] = str(Path(tmp) / "envs")
        runs = []
        for index in range(args.runs):
            runs.append(run_once(checkout, env, Path(tmp) / f"make-run-{index}.log"))
            print(json.dumps(runs[-1]), flush=True)
    result = {"benchmark": "make_run_ready", "env_cache": not args.no_env_cache, "runs": runs,
              "cpus": os.cpu_count(), "load_at_end": os.getloadavg()[0]}
    results.write(result, args.json)


if __name__ == "__main__":
    main()
