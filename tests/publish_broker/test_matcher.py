"""The FAQ matcher (publish_broker.matcher) with the real encoder: the answer as evidence, the
per-bot cut, the confidence the fallback threshold reads, and its saved format."""

import numpy as np
import pytest

from publish_broker.constants import ANSWER_SOURCE, DISMISSED_SOURCE, OWNER_SOURCE
from publish_broker.matcher import (
    DEFAULT_CONFIG,
    FaqModel,
    TopicScorer,
    answer_examples,
)
from tests.publish_broker.faq_data import OFFICE_FAQ, UNRELATED_QUESTIONS

CONFIG = DEFAULT_CONFIG
THRESHOLD = CONFIG["fallback_threshold"]


def _examples(count: int, answers: bool = True) -> list[tuple[str, str, str]]:
    examples = []
    for index, (question, alternatives, answer, _) in enumerate(OFFICE_FAQ[:count]):
        examples += [(text, f"faq/t{index}", OWNER_SOURCE) for text in [question, *alternatives]]
        if answers:
            examples.append((answer, f"faq/t{index}", ANSWER_SOURCE))
    return examples


@pytest.fixture(scope="module")
def scorers():
    return {count: TopicScorer(_examples(count), CONFIG) for count in (1, 2, 3, 5, 20)}


@pytest.mark.parametrize("count", [1, 2, 3, 5, 20])
def test_paraphrases_are_answered_and_unrelated_questions_refused_at_any_bot_size(
        scorers, count):
    scorer = scorers[count]

    for index, (_, _, _, paraphrase) in enumerate(OFFICE_FAQ[:count]):
        topic, confidence = scorer.rank(paraphrase)[0]
        assert (topic, confidence >= THRESHOLD) == (f"faq/t{index}", True), paraphrase
    for question in UNRELATED_QUESTIONS:
        assert scorer.rank(question)[0][1] < THRESHOLD, question


def test_a_question_in_the_words_of_the_answer_finds_its_topic(scorers):
    without_answers = TopicScorer(_examples(5, answers=False), CONFIG)

    for question, topic in [("the calendar app", "faq/t1"), ("8am to 6pm", "faq/t2")]:
        best, confidence = scorers[5].rank(question)[0]
        assert (best, confidence >= THRESHOLD) == (topic, True), question
        assert confidence > dict(without_answers.rank(question))[topic]


def test_the_cut_is_calibrated_per_bot_within_its_bounds(scorers):
    cuts = {count: scorer.state["cut"] for count, scorer in scorers.items()}

    assert all(0 < cut <= CONFIG["cut_ceiling"] for cut in cuts.values())
    # One topic: nothing to confuse it with, so only its own (optimistic) phrasings calibrate
    # it and the ceiling applies; twenty topics share the probability, so scores and cut fall.
    assert cuts[1] == CONFIG["cut_ceiling"]
    assert cuts[20] < cuts[5]


def test_the_confidence_is_monotone_and_the_fallback_threshold_is_the_bar(scorers):
    scorer = scorers[5]
    cut, floor = scorer.state["cut"], CONFIG["min_similarity"]

    at_bar = scorer._confidence(np.array([cut, cut * 0.99, cut]),
                                np.array([floor, 1.0, 0.99 * floor]))
    rising = scorer._confidence(np.linspace(0, 1, 50), np.ones(50))

    assert at_bar[0] == pytest.approx(THRESHOLD)
    assert at_bar[1] < THRESHOLD and at_bar[2] < THRESHOLD
    assert np.all(np.diff(rising) >= 0) and rising[0] == 0 and rising[-1] == pytest.approx(1.0)


def test_only_topics_with_a_written_answer_get_an_answer_example():
    responses = {"utter_faq/t1": [{"text": "Use the portal."}], "utter_faq/t2": [{"text": " "}],
                 "utter_i_dont_know": [{"text": "I don't know."}]}

    answers = answer_examples(responses, {"faq/t1", "faq/t2", "faq/t3"})

    assert answers == [("Use the portal.", "faq/t1", ANSWER_SOURCE)]


def _responses(count: int) -> dict:
    return {f"utter_faq/t{i}": [{"text": answer}]
            for i, (_, _, answer, _) in enumerate(OFFICE_FAQ[:count])}


def test_a_model_saved_by_the_previous_matcher_is_refitted_when_loaded(tmp_path):
    import json

    owner = [e for e in _examples(5) if e[2] == OWNER_SOURCE]
    FaqModel.fit(owner, _responses(5), CONFIG).save(tmp_path)
    saved = tmp_path / "faq_matcher.json"
    current = FaqModel.load(tmp_path)
    # As revision 1 saved it: no answers among the examples, a cut on another scale.
    payload = json.loads(saved.read_text())
    payload.pop("revision")
    payload.update(examples=owner, cut=0.95)
    saved.write_text(json.dumps(payload))

    upgraded = FaqModel.load(tmp_path)

    assert upgraded.state["cut"] == pytest.approx(current.state["cut"])
    ranked, expected = (m._scorer.rank("the calendar app") for m in (upgraded, current))
    assert [label for label, _ in ranked] == [label for label, _ in expected]
    assert [c for _, c in ranked] == pytest.approx([c for _, c in expected])


def test_a_saved_model_answers_exactly_as_the_fitted_one(tmp_path):
    fitted = FaqModel.fit([e for e in _examples(5) if e[2] == OWNER_SOURCE], _responses(5),
                          {**CONFIG, "fallback_threshold": 0.4})
    fitted.save(tmp_path)

    loaded = FaqModel.load(tmp_path)
    for name in ("lexical.json", "lexical.npz"):  # as a model saved before the index was
        (tmp_path / name).unlink()
    refitted = FaqModel.load(tmp_path)

    assert loaded.config["fallback_threshold"] == 0.4  # the configuration travels with it
    for question in [p for *_, p in OFFICE_FAQ[:5]] + UNRELATED_QUESTIONS + ["", "??"]:
        assert loaded.parse(question) == fitted.parse(question), question
        assert refitted.parse(question) == fitted.parse(question), question


# Questions an owner of the office FAQ dismissed, and rewordings of them.
DISMISSED = ["How do I reset the password of my home router?",
             "What are the opening hours of the bank?"]
REWORDED = ["how can I reset my router's password at home", "what time does the bank open"]


def test_a_dismissed_question_and_its_rewordings_are_refused_and_topics_still_answered():
    owner = [e for e in _examples(5) if e[2] == OWNER_SOURCE]
    plain = FaqModel.fit(owner, _responses(5), CONFIG)
    taught = FaqModel.fit(owner + [(q, "", DISMISSED_SOURCE) for q in DISMISSED],
                          _responses(5), CONFIG)

    assert all(plain.parse(q)["intent"]["name"] == "faq" for q in DISMISSED + REWORDED)
    for question in DISMISSED + REWORDED:
        assert taught.parse(question)["intent"]["name"] == "nlu_fallback", question
    for index, (*_, paraphrase) in enumerate(OFFICE_FAQ[:5]):
        answer = taught.parse(paraphrase)["response_selector"]["default"]["response"]
        assert taught.parse(paraphrase)["intent"]["name"] == "faq", paraphrase
        assert answer["intent_response_key"] == f"faq/t{index}"
    assert taught.state["cut"] == plain.state["cut"]  # the cut is the phrasings' alone


def test_dismissed_questions_are_saved_with_the_model(tmp_path):
    owner = [e for e in _examples(5) if e[2] == OWNER_SOURCE]
    fitted = FaqModel.fit(owner + [(q, "", DISMISSED_SOURCE) for q in DISMISSED],
                          _responses(5), CONFIG)
    fitted.save(tmp_path)

    loaded = FaqModel.load(tmp_path)

    assert loaded.state["negatives"].shape == (len(DISMISSED), 384)
    for question in DISMISSED + REWORDED + [p for *_, p in OFFICE_FAQ[:5]]:
        assert loaded.parse(question) == fitted.parse(question), question


def test_the_background_refuses_a_question_closer_to_it_than_to_the_topic():
    owner = [("Can the assistant write code for me?", "faq/t0", OWNER_SOURCE)]
    responses = {"utter_faq/t0": [{"text": "No, ask the developer guild on #dev."}]}
    without = FaqModel.fit(owner, responses, {**CONFIG, "background": False})
    background = FaqModel.fit(owner, responses, CONFIG)
    generic = "can you write a trie in Python?"  # one of the background questions

    assert without.parse(generic)["intent"]["name"] == "faq"
    assert background.parse(generic)["intent"]["name"] == "nlu_fallback"
    rewording = "is the assistant able to write code for me"
    assert background.parse(rewording)["intent"] == without.parse(rewording)["intent"]


def test_parse_applies_the_fallback_threshold_as_rasa_does(scorers):
    model = FaqModel.fit([e for e in _examples(5) if e[2] == OWNER_SOURCE], _responses(5))

    known, unknown = model.parse(OFFICE_FAQ[1][3]), model.parse(UNRELATED_QUESTIONS[0])

    assert known["intent"]["name"] == "faq" and known["intent"]["confidence"] >= THRESHOLD
    assert known["response_selector"]["default"]["response"]["intent_response_key"] == "faq/t1"
    assert unknown["intent"] == {"name": "nlu_fallback", "confidence": THRESHOLD}
    assert unknown["intent_ranking"][0] == unknown["intent"]
    assert unknown["intent_ranking"][1]["name"] == "faq"


def test_fitting_without_rasa_gives_the_model_rasa_training_gives(three_topic_model, trainer):
    from publish_broker.botproject import matcher_examples
    from tests.publish_broker.faq_data import faq_version

    trained = FaqModel.from_archive(three_topic_model.path)
    examples, responses = matcher_examples(faq_version(3), trainer.paraphrases_per_topic)
    fitted = FaqModel.fit(examples, responses, trained.config)

    assert fitted.examples == trained.examples and fitted.responses == trained.responses
    for question in [p for *_, p in OFFICE_FAQ[:3]] + UNRELATED_QUESTIONS:
        assert fitted.parse(question)["intent"] == pytest.approx(
            trained.parse(question)["intent"]), question


def test_a_matcher_only_archive_loads_the_model_rasa_packages(three_topic_model, trainer,
                                                               tmp_path):
    from publish_broker.modelfiles import is_packaged
    from tests.publish_broker.faq_data import faq_version

    preview = trainer.preview(faq_version(3), tmp_path)
    early, packaged = (FaqModel.from_archive(path) for path in (preview.path,
                                                                three_topic_model.path))

    assert preview.digest == three_topic_model.digest
    assert (is_packaged(preview.path), is_packaged(three_topic_model.path)) == (False, True)
    assert early.examples == packaged.examples and early.config == packaged.config
    assert early.state["cut"] == packaged.state["cut"]
    for name in ("embeddings", "coef", "intercept"):
        assert np.array_equal(early.state[name], packaged.state[name]), name
    for question in [p for *_, p in OFFICE_FAQ[:3]] + UNRELATED_QUESTIONS:
        assert early.parse(question) == packaged.parse(question), question


def test_a_publish_fits_its_matcher_once_for_the_preview_and_rasa(trainer, tmp_path,
                                                                   monkeypatch):
    from tests.publish_broker.faq_data import faq_version

    fits = []
    fit = FaqModel.fit.__func__
    monkeypatch.setattr(FaqModel, "fit",
                        classmethod(lambda cls, *args: fits.append(1) or fit(cls, *args)))
    version = {**faq_version(2), "id": "fit-once"}

    trainer.preview(version, tmp_path)
    trainer.train(version, tmp_path)
    assert len(fits) == 1
    changed = {**version, "topics": [{**version["topics"][0], "answer": "Another answer."},
                                     *version["topics"][1:]]}
    trainer.train(changed, tmp_path)
    assert len(fits) == 2  # other inputs: fitted, not reused
