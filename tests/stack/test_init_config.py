"""init_config.sh: fresh secrets in every .env, consistent across services, never overwritten,
and a clear error when a tool it needs is missing."""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.stack.checkout import REPO
from tests.support.isolation import START_ENV

FILES = [".env", "publish-api/.env", "publish-broker/.env", "capture-actions/.env",
         "capture-bot/.env"]
SECRETS = ("API_TOKEN", "BROKER_API_TOKEN", "ACTIONS_API_TOKEN", "BOT_AUTH_TOKEN", "ACTIONS_TOKEN",
           "POSTGRES_PASSWORD", "RABBITMQ_PASSWORD")
SLACK = {"SLACK_BOT_TOKEN": "xoxb-from-the-environment", "SLACK_SIGNING_SECRET": "s3cret-signing"}


@pytest.fixture
def project(tmp_path) -> Path:
    """The script and the samples, as in a fresh clone."""
    shutil.copy2(REPO / "init_config.sh", tmp_path / "init_config.sh")
    for name in FILES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / f"{name}.sample", tmp_path / f"{name}.sample")
    return tmp_path


def run(project: Path, path: str | None = None, **env: str) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in START_ENV.items() if not k.startswith("SLACK_")}
    full_env.update(env, DOCKER_SOCKET=str(project / "no-docker.sock"))
    if path is not None:
        full_env["PATH"] = path
    return subprocess.run(["bash", "init_config.sh"], cwd=project, env=full_env,
                          capture_output=True, text=True, timeout=30)


def values(project: Path) -> dict[str, dict[str, str]]:
    """Each file's NAME=value lines."""
    result = {}
    for name in FILES:
        lines = (project / name).read_text().splitlines()
        result[name] = dict(line.split("=", 1) for line in lines if re.match(r"^[A-Z_]+=", line))
    return result


def secrets_of(env: dict[str, dict[str, str]]) -> dict[str, str]:
    """Each secret where it is defined, after checking every service agrees on it."""
    api = env["publish-api/.env"]
    secrets = {"API_TOKEN": api["API_TOKEN"], "BROKER_API_TOKEN": api["BROKER_API_TOKEN"],
               "ACTIONS_API_TOKEN": api["ACTIONS_API_TOKEN"],
               "BOT_AUTH_TOKEN": env["publish-broker/.env"]["BOT_AUTH_TOKEN"],
               "ACTIONS_TOKEN": env["capture-bot/.env"]["ACTIONS_TOKEN"],
               "POSTGRES_PASSWORD": env[".env"]["POSTGRES_PASSWORD"],
               "RABBITMQ_PASSWORD": env[".env"]["RABBITMQ_PASSWORD"]}
    # Each client calls publish-api with its own token, in its own API_TOKEN.
    assert env["publish-broker/.env"]["API_TOKEN"] == secrets["BROKER_API_TOKEN"]
    assert env["capture-actions/.env"]["API_TOKEN"] == secrets["ACTIONS_API_TOKEN"]
    assert env["capture-actions/.env"]["BOT_AUTH_TOKEN"] == secrets["BOT_AUTH_TOKEN"]
    assert env["capture-actions/.env"]["ACTIONS_TOKEN"] == secrets["ACTIONS_TOKEN"]
    assert f":{secrets['POSTGRES_PASSWORD']}@postgres:" in api["DATABASE_URL"]
    for service in ("publish-api/.env", "publish-broker/.env"):
        assert f":{secrets['RABBITMQ_PASSWORD']}@rabbitmq:" in env[service]["QUEUE_URL"]
    return secrets


def test_a_fresh_run_creates_every_env_with_consistent_secrets(project):
    done = run(project, **SLACK)
    assert done.returncode == 0, done.stderr
    env = values(project)
    secrets = secrets_of(env)
    assert all(re.fullmatch(r"[0-9a-f]{48}", value) for value in secrets.values()), secrets
    assert len(set(secrets.values())) == len(SECRETS)
    assert env["capture-bot/.env"]["SLACK_BOT_TOKEN"] == SLACK["SLACK_BOT_TOKEN"]
    assert env["publish-broker/.env"]["SLACK_BOT_TOKEN"] == SLACK["SLACK_BOT_TOKEN"]
    assert env["capture-bot/.env"]["SLACK_SIGNING_SECRET"] == SLACK["SLACK_SIGNING_SECRET"]
    assert env["capture-bot/.env"]["SLACK_APP_TOKEN"] == ""  # the webhook, unless asked for
    assert env[".env"]["DOCKER_GID"] == "0" and "no Docker socket" in done.stderr
    for name in FILES:
        text = (project / name).read_text()
        assert "__" not in text, name
        assert stat.S_IMODE((project / name).stat().st_mode) == 0o600, name
    assert not any(value in done.stdout + done.stderr for value in secrets.values())


def test_a_second_run_changes_nothing(project):
    assert run(project).returncode == 0
    before = {name: ((project / name).read_bytes(), (project / name).stat().st_mtime_ns)
              for name in FILES}
    done = run(project, **SLACK)
    assert done.returncode == 0, done.stderr
    assert {name: ((project / name).read_bytes(), (project / name).stat().st_mtime_ns)
            for name in FILES} == before
    assert done.stdout.count("exists, left as it is") == len(FILES)
    assert "Slack app's bot token" in done.stdout  # still the placeholders of the first run


@pytest.mark.parametrize("name", FILES)
def test_a_missing_file_is_recreated_with_the_secrets_in_use(project, name):
    assert run(project).returncode == 0
    first = values(project)
    (project / name).unlink()
    assert run(project).returncode == 0
    again = values(project)
    secrets_of(again)
    if name == "publish-api/.env":
        # Nothing else holds the admin token: a new one is as good as the lost one.
        first[name].pop("API_TOKEN"), again[name].pop("API_TOKEN")
    assert again == first


def test_two_fresh_runs_have_different_secrets(project, tmp_path_factory):
    other = tmp_path_factory.mktemp("other")
    shutil.copytree(project, other, dirs_exist_ok=True)
    assert run(project).returncode == 0 and run(other).returncode == 0
    mine, theirs = values(project), values(other)
    for name, value in secrets_of(mine).items():
        assert value != secrets_of(theirs)[name], name


def test_a_missing_tool_is_named_and_nothing_is_written(project, tmp_path):
    bin_dir = tmp_path / "bin-without-openssl"
    bin_dir.mkdir()
    for tool in ("bash", "cat", "chmod", "dirname", "grep", "mktemp", "mv", "rm", "stat"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    done = run(project, path=str(bin_dir))
    assert done.returncode != 0
    assert "openssl" in done.stderr and "apt-get install openssl" in done.stderr
    assert not any((project / name).exists() for name in FILES)


def test_socket_mode_takes_the_app_token_from_the_environment(project):
    done = run(project, SLACK_BOT_TOKEN="xoxb-bot", SLACK_APP_TOKEN="xapp-1-A0-socket")
    assert done.returncode == 0, done.stderr
    assert values(project)["capture-bot/.env"]["SLACK_APP_TOKEN"] == "xapp-1-A0-socket"
