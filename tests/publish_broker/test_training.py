"""In-process Rasa training of generated bots: real Rasa, real WordNet, models loaded in-process."""

import asyncio
import copy
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from rasa.core.agent import Agent
from rasa.shared.data import TrainingType
from rasa.shared.exceptions import RasaException
from rasa.shared.importers.importer import TrainingDataImporter

from publish_broker.botproject import BotProject, build_project
from publish_broker.errors import TrainingError
from publish_broker.project_importer import project_importer
from publish_broker.training import Trainer, train_project
from tests.publish_broker.faq_data import OFFICE_FAQ, UNRELATED_QUESTIONS, faq_version
from tests.support.isolation import child_env

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def agent(three_topic_model):
    return Agent.load(str(three_topic_model.path))


def _parse(agent, text):
    return asyncio.run(agent.parse_message(text))


def _selected(parse):
    return parse["response_selector"]["default"]["response"]


def test_the_model_archive_is_named_by_its_digest(three_topic_model):
    assert three_topic_model.path.is_file()
    assert three_topic_model.path.name == f"{three_topic_model.digest}.tar.gz"


@pytest.mark.parametrize(
    ("question", "topic", "answer"),
    [
        ("How can I reserve a room for a meeting?", "faq/t2", OFFICE_FAQ[1][2]),
        ("When does the office open?", "faq/t3", "The office is open 8am to 6pm."),
        ("i forgot my pasword", "faq/t1", "Use the self-service portal."),
    ],
)
def test_a_paraphrase_gets_its_topic_and_answer(agent, question, topic, answer):
    parse = _parse(agent, question)

    assert parse["intent"]["name"] == "faq"
    assert _selected(parse)["intent_response_key"] == topic
    assert _selected(parse)["responses"] == [{"text": answer}]


@pytest.mark.parametrize("question", [*UNRELATED_QUESTIONS, "hi", "🙂", ""])
def test_an_unrelated_question_falls_back(agent, question):
    assert _parse(agent, question)["intent"]["name"] == "nlu_fallback"


def test_the_model_is_nlu_only_with_the_answers_in_its_domain(agent, three_topic_model):
    # Bots are only asked through /model/parse: no policies, rules or dialogue to train or load.
    with tarfile.open(three_topic_model.path) as archive:
        components = {Path(name).parts[1] for name in archive.getnames()
                      if name.startswith("components/") and len(Path(name).parts) > 1}

    assert agent.processor.model_metadata.training_type == TrainingType.NLU
    assert agent.processor.model_metadata.core_target is None
    assert not [name for name in components if "Policy" in name]
    domain = agent.processor.model_metadata.domain
    assert domain.responses["utter_faq/t2"] == [{"text": "Rooms are booked in the calendar app."}]


def test_same_version_same_digest_whatever_topic_order(trainer, three_topic_model):
    version = faq_version(3)
    shuffled = copy.deepcopy(version)
    shuffled["topics"].reverse()

    assert trainer.digest(version) == three_topic_model.digest
    assert trainer.digest(shuffled) == three_topic_model.digest


def test_any_change_changes_the_digest(trainer):
    version = faq_version(3)
    edited = copy.deepcopy(version)
    edited["topics"][0]["answer"] = "Call the help desk."

    assert trainer.digest(edited) != trainer.digest(version)
    assert Trainer(paraphrases_per_topic=2).digest(version) != trainer.digest(version)


def test_the_digest_does_not_depend_on_pythonhashseed(trainer):
    script = (
        "from tests.publish_broker.faq_data import faq_version\n"
        "from publish_broker.botproject import build_project\n"
        "print(build_project(faq_version(20), 10).digest)\n"
    )
    digests = set()
    for seed in ("0", "123"):
        path = os.pathsep.join([str(REPO / "publish-broker"), str(REPO)])
        env = child_env(PYTHONHASHSEED=seed, PYTHONPATH=path)
        done = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        digests.add(done.stdout.strip())

    assert digests == {build_project(faq_version(20), 10).digest}


@pytest.mark.parametrize(
    "version",
    [
        {"id": "v", "topics": []},
        {"id": "v"},
        {"id": "v", "topics": [{"id": 1, "question": "  ", "answer": "a", "alternatives": []}]},
        {"id": "v", "topics": [{"id": 1, "question": "q?", "answer": "", "alternatives": []}]},
        {"id": "v", "topics": [{"id": 1, "question": "q?", "answer": "a", "alternatives": [3]}]},
        {"id": "v", "topics": [{"id": "a.b", "question": "q?", "answer": "a"},
                               {"id": "a/b", "question": "p?", "answer": "b"}]},
        {**faq_version(1), "dismissed_questions": "not a list"},
        {**faq_version(1), "dismissed_questions": ["ok", 7]},
    ],
)
def test_an_invalid_version_is_a_training_error(trainer, tmp_path, version):
    with pytest.raises(TrainingError) as raised:
        trainer.train(version, tmp_path)

    assert raised.value.message_for_owner
    assert list(tmp_path.iterdir()) == []


def test_rasa_rejecting_the_project_is_a_training_error(tmp_path):
    files = dict(build_project(faq_version(1), 3).files)
    files["config.yml"] = files["config.yml"].replace("FallbackClassifier", "NoSuchClassifier")

    with pytest.raises(TrainingError) as raised:
        train_project(BotProject(files), tmp_path)

    assert isinstance(raised.value.__cause__, RasaException)
    assert list(tmp_path.iterdir()) == []


def test_rasa_trains_from_memory_exactly_what_it_would_read_from_the_files(tmp_path):
    version = {**faq_version(3), "dismissed_questions": ["What is the capital of France?"]}
    project = build_project(version, 10)
    project.write(tmp_path)
    from_files = TrainingDataImporter.load_from_config(
        str(tmp_path / "config.yml"), str(tmp_path / "domain.yml"), [str(tmp_path / "data")])
    from_memory = project_importer(project)

    assert from_memory.get_config() == from_files.get_config()
    assert from_memory.get_domain().as_dict() == from_files.get_domain().as_dict()
    ours, rasas = from_memory.get_nlu_data(), from_files.get_nlu_data()
    assert [m.as_dict() for m in ours.intent_examples] == \
        [m.as_dict() for m in rasas.intent_examples]
    assert len(ours.intent_examples) > 3
    assert ours.responses == rasas.responses


def test_a_publish_builds_its_project_once(trainer):
    # The pipeline asks for the digest, then trains: WordNet runs over the topics once.
    version = faq_version(3)

    assert trainer._project(version) is trainer._project(copy.deepcopy(version))
    assert trainer._project(faq_version(2)) is not trainer._project(version)


def test_odd_topic_ids_and_text_train_and_answer(trainer, tmp_path):
    version = {"id": "v", "topics": [
        {"id": "9f1c-uuid/x", "question": "What's [new] in {release} 2.0?", "alternatives": [],
         "answer": 'Answers may hold "quotes", {braces}, [links](https://x.y) & émoji 🙂'},
        {"id": 7, "question": "Quién es el responsable?", "alternatives": [], "answer": "Ana"},
    ]}
    model = trainer.train(version, tmp_path)
    parse = _parse(Agent.load(str(model.path)), "what is new in release 2.0")

    assert _selected(parse)["intent_response_key"] == "faq/t9f1c-uuid_x"
    assert _selected(parse)["responses"][0]["text"] == version["topics"][0]["answer"]


def test_the_owners_dismissed_questions_train_the_bot_to_refuse_them(trainer, tmp_path):
    from publish_broker.constants import DISMISSED_SOURCE
    from publish_broker.matcher import FaqModel

    dismissed = ["How do I reset the password of my home router?",
                 "What are the opening hours of the bank?"]
    version = {**faq_version(3), "dismissed_questions": [*dismissed, dismissed[0], "  "]}
    project = build_project(version, 10)

    assert project.digest != build_project(faq_version(3), 10).digest
    model = trainer.train(version, tmp_path)
    matcher = FaqModel.from_archive(model.path)  # as the pool reads it
    agent = Agent.load(str(model.path))  # as a Rasa server does
    assert [e for e in matcher.examples if e[2] == DISMISSED_SOURCE] == \
        [(q, "", DISMISSED_SOURCE) for q in dismissed]
    for question in [*dismissed, "how can I reset my router's password at home"]:
        assert _parse(agent, question)["intent"]["name"] == "nlu_fallback", question
        assert matcher.parse(question)["intent"]["name"] == "nlu_fallback", question
    assert _parse(agent, "How can I reserve a room for a meeting?")["intent"]["name"] == "faq"
