"""A real Docker engine for tests: whether one runs, and building our images from their real
Dockerfiles (`../shared/tools/docker-sandbox` prepares an engine and base images here)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BOT_DOCKERFILE = "publish-broker/bot/Dockerfile"
POOL_DOCKERFILE = "publish-broker/pool/Dockerfile"


def engine_problem() -> str | None:
    """None when `docker info` answers, else why not."""
    try:
        subprocess.run(["docker", "info"], capture_output=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"`docker info` failed: {type(exc).__name__}"
    return None


def docker_marks() -> list:
    """Marks for a module that needs the engine; decided at collection, so that no fixture
    (model training, image build) runs for nothing."""
    problem = engine_problem()
    reason = f"no Docker engine ({problem}); ../shared/tools/docker-sandbox starts one"
    return [pytest.mark.docker, pytest.mark.slow, pytest.mark.skipif(problem is not None,
                                                                     reason=reason)]


def build_image(dockerfile: str, tag: str) -> float:
    """`docker build --network host` from the repo root, as documented; returns seconds.

    Raises AssertionError with the build's output when it fails.
    """
    started = time.monotonic()
    build = subprocess.run(["docker", "build", "--network", "host", "-f", dockerfile,
                            "-t", tag, "."],
                           cwd=REPO, capture_output=True, text=True, timeout=1800)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    return time.monotonic() - started
