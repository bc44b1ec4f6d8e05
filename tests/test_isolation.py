"""The end-of-run check finds what a test left behind: a process started with the run's
environment, one working in the run's temporary directory, however it was started. The probes
here carry a run id of their own: the check must never touch the services of the run itself,
which are still running while these tests do."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

from tests.support import isolation

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


@pytest.fixture
def probe_run():
    """A run id of the probes' own, and the environment a process of that run starts with."""
    run_id = "probe-" + uuid.uuid4().hex[:8]
    return run_id, isolation.child_env(**{isolation.RUN_VARIABLE: run_id})


def _found(process: subprocess.Popen, tmp_root, run_id: str) -> bool:
    return process.pid in {p.pid for p in isolation.leftover_processes(tmp_root, run_id)}


def test_a_process_started_with_a_runs_environment_is_found_reported_and_killed(tmp_path,
                                                                                 probe_run):
    run_id, env = probe_run
    left = subprocess.Popen(SLEEPER, env=env)
    try:
        assert _found(left, tmp_path / "elsewhere", run_id)
        with pytest.raises(AssertionError, match=f"pid {left.pid} .*time.sleep"):
            isolation.check_nothing_left(tmp_path / "elsewhere", grace_s=0.5, run_id=run_id)
        assert left.wait(timeout=10) != 0  # killed by the check
    finally:
        left.kill()
        left.wait()


def test_a_process_working_in_the_runs_directory_is_found_without_the_variable(tmp_path,
                                                                               probe_run):
    run_id, _env = probe_run
    env = {k: v for k, v in isolation.START_ENV.items() if k != isolation.RUN_VARIABLE}
    left = subprocess.Popen(SLEEPER, env=env, cwd=tmp_path, start_new_session=True)
    try:
        assert _found(left, tmp_path, run_id)
        assert not _found(left, tmp_path / "elsewhere", run_id)
    finally:
        left.kill()
        left.wait()


def test_a_process_of_another_run_is_not_ours(tmp_path, probe_run):
    run_id, _env = probe_run
    other = subprocess.Popen(SLEEPER, env=isolation.child_env())  # this run's id, not the probe's
    try:
        assert not _found(other, tmp_path, run_id)
    finally:
        other.kill()
        other.wait()


def test_the_start_environment_is_not_what_tests_write_later(monkeypatch):
    monkeypatch.setenv("LOG_LEVEL", "A-LEAK")
    assert isolation.child_env(EXTRA="1").get("LOG_LEVEL") != "A-LEAK"
    assert isolation.child_env(EXTRA="1")["EXTRA"] == "1"
