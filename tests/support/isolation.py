"""What keeps one test from another: the environment every process a test starts gets, and the
check at the end of a run that nothing a test started is still there.

The environment is the one the test run started with, taken before any test ran: an in-process
Rasa training writes its variables (LOG_LEVEL, RASA_*...) into os.environ, and a process started
from os.environ after it behaved differently from one started before, so a test passed alone and
failed in the full run. Each process gets that start environment plus exactly the settings its
test names.

Every such process, and whatever it starts in turn (`make run`'s services), inherits
FAQBOT_TEST_RUN, this run's id; a bot pool, which gets only the few variables a pool needs, runs
in its models directory under the run's temporary directory; containers carry the id as the
label `faqbot.test-run` or in their names. So the end-of-run check finds what a test left behind
even after its parent is gone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import psutil

RUN_VARIABLE = "FAQBOT_TEST_RUN"
RUN_LABEL = "faqbot.test-run"

# A run started from another (the stack tests' `make test` in a checkout) gets its own id: its
# own check sees to its own processes.
RUN_ID = uuid.uuid4().hex[:12]
os.environ[RUN_VARIABLE] = RUN_ID
START_ENV: dict[str, str] = dict(os.environ)


def child_env(**settings: str) -> dict[str, str]:
    """The environment of a process a test starts: the run's start environment and `settings`."""
    return {**START_ENV, **settings}


def test_labels(kind: str) -> dict[str, str]:
    """The labels of a container, network or volume a test creates."""
    return {"faqbot.test": kind, RUN_LABEL: RUN_ID}


def leftover_processes(tmp_root: Path, run_id: str = RUN_ID) -> list[psutil.Process]:
    """Running processes of run `run_id`, other than the test process itself: those with the id
    in their environment or working under `tmp_root` (zombies have exited: only their status is
    left, for a parent that may not be ours to collect)."""
    found = []
    for process in psutil.process_iter():
        if process.pid == os.getpid():
            continue
        try:
            if process.status() != psutil.STATUS_ZOMBIE and (
                    process.environ().get(RUN_VARIABLE) == run_id
                    or Path(process.cwd()).is_relative_to(tmp_root)):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def leftover_containers(run_id: str = RUN_ID) -> list[str]:
    """Containers of this run, by label or by a name with the run's id (the ones our runtimes
    create under a test's name prefix), where a Docker engine answers."""
    if shutil.which("docker") is None:
        return []
    found: set[str] = set()
    for selector in (f"label={RUN_LABEL}={run_id}", f"name={run_id}"):
        listed = subprocess.run(["docker", "ps", "-a", "--filter", selector,
                                 "--format", "{{.Names}}"], capture_output=True, text=True,
                                timeout=60)
        if listed.returncode == 0:
            found.update(listed.stdout.split())
    return sorted(found)


def describe(process: psutil.Process) -> str:
    try:
        ports = sorted({c.laddr.port for c in process.net_connections("inet")
                        if c.status == psutil.CONN_LISTEN})
        listening = f", listening on {ports}" if ports else ""
        return f"pid {process.pid} {' '.join(process.cmdline())[:200]!r}{listening}"
    except psutil.Error:
        return f"pid {process.pid} (gone)"


def check_nothing_left(tmp_root: Path, grace_s: float = 15.0, run_id: str = RUN_ID) -> None:
    """Raise AssertionError naming every process (with its listening ports) and container of
    run `run_id` still there after `grace_s` (processes being stopped get that long to exit);
    the processes are killed and the containers removed first, so the next run starts clean.
    At the end of a run only: any earlier, it would stop the run's own running services."""
    deadline = time.monotonic() + grace_s
    while (processes := leftover_processes(tmp_root, run_id)) and time.monotonic() < deadline:
        time.sleep(0.2)  # polling the process table until the deadline
    containers = leftover_containers(run_id)
    if not processes and not containers:
        return
    described = [describe(process) for process in processes]
    for process in processes:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    if containers:
        subprocess.run(["docker", "rm", "-f", "-v", *containers], capture_output=True,
                       timeout=120)
    raise AssertionError("the test run left behind:\n  "
                         + "\n  ".join(described + [f"container {c}" for c in containers]))
