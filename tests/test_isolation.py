"""The end-of-run check finds what a test left behind: a process started with the run's
environment, one working in the run's temporary directory, however it was started."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support import isolation

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def _found(process: subprocess.Popen, tmp_root) -> bool:
    return process.pid in {p.pid for p in isolation.leftover_processes(tmp_root)}


def test_a_process_started_with_the_runs_environment_is_found_and_reported(tmp_path):
    left = subprocess.Popen(SLEEPER, env=isolation.child_env())
    try:
        assert _found(left, tmp_path / "elsewhere")
        with pytest.raises(AssertionError, match=f"pid {left.pid} .*time.sleep"):
            isolation.check_nothing_left(tmp_path / "elsewhere", grace_s=0.5)
        assert left.wait(timeout=10) != 0  # killed by the check
    finally:
        left.kill()
        left.wait()


def test_a_process_working_in_the_runs_directory_is_found_without_the_variable(tmp_path):
    env = {k: v for k, v in isolation.START_ENV.items() if k != isolation.RUN_VARIABLE}
    left = subprocess.Popen(SLEEPER, env=env, cwd=tmp_path, start_new_session=True)
    try:
        assert _found(left, tmp_path)
        assert not _found(left, tmp_path / "elsewhere")
    finally:
        left.kill()
        left.wait()


def test_a_process_of_another_run_is_not_ours(tmp_path):
    other = subprocess.Popen(SLEEPER, env=isolation.child_env(FAQBOT_TEST_RUN="another-run"))
    try:
        assert not _found(other, tmp_path)
    finally:
        other.kill()
        other.wait()


def test_the_start_environment_is_not_what_tests_write_later(monkeypatch):
    monkeypatch.setenv("LOG_LEVEL", "A-LEAK")
    assert isolation.child_env(EXTRA="1").get("LOG_LEVEL") != "A-LEAK"
    assert isolation.child_env(EXTRA="1")["EXTRA"] == "1"
