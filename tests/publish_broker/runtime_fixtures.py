"""Shared pieces of the runtime tests: two tiny trained Rasa models and a client that asks bots.

Imported by test_runtime_process.py and test_runtime_docker.py (not a conftest, so it does not
collide with other helpers' fixtures). Model A and model B know the same phrases under different
intent names (``greet_a`` / ``greet_b``), so an answer tells which model is live.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

TEST_TOKEN = "rt-test-" + secrets.token_hex(8)
GREETING = "hello there"

_GREET = ["hello", "hi", "hey there", "good morning", "hello bot", "hi there", "hey"]
_BYE = ["bye", "goodbye", "see you later", "bye bye", "farewell", "good night", "see you"]
_CONFIG = """\
recipe: default.v1
language: en
assistant_id: runtime-test
pipeline:
  - name: WhitespaceTokenizer
  - name: CountVectorsFeaturizer
  - name: LogisticRegressionClassifier
policies:
  - name: RulePolicy
"""


@dataclass(frozen=True)
class TrainedModel:
    """A model file, the digest a runtime deploys it under, and the intent a greeting gets."""

    path: Path
    digest: str
    greet_intent: str


_trained: dict[str, TrainedModel] = {}


@pytest.fixture(scope="session", name="models")
def models_fixture(tmp_path_factory: pytest.TempPathFactory) -> dict[str, TrainedModel]:
    """Models "a" and "b", trained once per test session (both test modules share them)."""
    if not _trained:
        root = tmp_path_factory.mktemp("runtime-models")
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("RASA_MAX_CACHE_SIZE", "0")
            patch.setenv("RASA_CACHE_DIRECTORY", str(root / "cache"))
            patch.setenv("RASA_TELEMETRY_ENABLED", "false")
            for version in ("a", "b"):
                _trained[version] = _train(root / version, version)
    return _trained


def _train(project: Path, version: str) -> TrainedModel:
    from rasa.model_training import train
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # or the rule policy prints its state while training

    _write_project(project, version)
    result = train(
        domain=str(project / "domain.yml"),
        config=str(project / "config.yml"),
        training_files=[str(project / "data")],
        output=str(project / "out"),
        force_training=True,
        fixed_model_name=f"model-{version}",
    )
    assert result.code == 0 and result.model, f"training model {version} failed"
    path = Path(result.model)
    digest = f"{version}-" + hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return TrainedModel(path, digest, f"greet_{version}")


def _write_project(project: Path, version: str) -> None:
    (project / "data").mkdir(parents=True)
    greet, bye = f"greet_{version}", f"goodbye_{version}"
    (project / "config.yml").write_text(_CONFIG)
    (project / "domain.yml").write_text(
        f'version: "3.1"\nintents:\n  - {greet}\n  - {bye}\n'
        f"responses:\n  utter_greet:\n    - text: Hello from model {version}\n"
        f"  utter_bye:\n    - text: Bye from model {version}\n"
    )
    examples = "\n".join(
        f"- intent: {name}\n  examples: |\n" + "".join(f"    - {t}\n" for t in texts)
        for name, texts in ((greet, _GREET), (bye, _BYE))
    )
    rules = (
        f"rules:\n- rule: greet\n  steps:\n  - intent: {greet}\n  - action: utter_greet\n"
        f"- rule: bye\n  steps:\n  - intent: {bye}\n  - action: utter_bye\n"
    )
    (project / "data" / "nlu.yml").write_text(f'version: "3.1"\nnlu:\n{examples}')
    (project / "data" / "rules.yml").write_text(f'version: "3.1"\n{rules}')


def parse(endpoint: str, text: str = GREETING, token: str | None = TEST_TOKEN) -> requests.Response:
    """POST /model/parse to a bot, with the given token (None: no token at all)."""
    params = {"token": token} if token is not None else {}
    return requests.post(f"{endpoint}/model/parse", params=params, json={"text": text}, timeout=10)


def intent_of(endpoint: str, text: str = GREETING) -> str:
    """The intent the bot at ``endpoint`` gives ``text``; fails the test on any HTTP error."""
    response = parse(endpoint, text)
    assert response.status_code == 200, response.text
    return response.json()["intent"]["name"]


@dataclass
class Asker:
    """Asks a bot continuously in a thread until stopped (or a deadline), counting outcomes."""

    endpoint: str
    deadline_s: float = 180.0
    intents: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Asker:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(timeout=30)

    @property
    def asks(self) -> int:
        return sum(self.intents.values()) + len(self.failures)

    def _run(self) -> None:
        deadline = time.monotonic() + self.deadline_s
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                response = parse(self.endpoint)
                if response.status_code == 200:
                    self.intents[response.json()["intent"]["name"]] += 1
                else:
                    self.failures.append(f"HTTP {response.status_code}")
            except requests.RequestException as exc:
                self.failures.append(type(exc).__name__)


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``predicate`` until true; fail the test with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


