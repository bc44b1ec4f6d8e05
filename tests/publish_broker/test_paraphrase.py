"""WordNet paraphrases: real NLTK WordNet read from NLTK_DATA, nothing downloaded."""

import json
import subprocess
import sys
from difflib import SequenceMatcher
from pathlib import Path

import pytest
from nltk.corpus import wordnet

from publish_broker.constants import STOPWORDS
from publish_broker.paraphrase import paraphrases, training_examples
from tests.support.isolation import child_env

REPO = Path(__file__).resolve().parents[2]
QUESTIONS = [
    "How do I reset my password?",
    "Can I book a meeting room?",
    "Where do I submit my expense report?",
    "Which laptop should I choose for travel?",
]


def _replacements(original: str, variant: str) -> list[tuple[str, str]]:
    """The possible (replaced word, synonym) readings of a one-word substitution.

    "laptop" -> "laptop computer" looks like an insertion to a diff, so an insertion gives two
    readings: the synonym grew to the left or to the right of the word it replaced.
    """
    before, after = original.rstrip("?").split(), variant.rstrip("?").split()
    ops = [op for op in SequenceMatcher(None, before, after).get_opcodes() if op[0] != "equal"]
    assert len(ops) == 1, (original, variant)
    tag, i1, i2, j1, j2 = ops[0]
    inserted = " ".join(after[j1:j2])
    if tag == "replace":
        return [(" ".join(before[i1:i2]), inserted)]
    assert tag == "insert", (original, variant)
    readings = []
    if i1 > 0:
        readings.append((before[i1 - 1], f"{before[i1 - 1]} {inserted}"))
    if i1 < len(before):
        readings.append((before[i1], f"{inserted} {before[i1]}"))
    return readings


def _same_pos(word: str, synonym: str, pos: str | None = None) -> bool:
    def tags(text):
        return {s.pos().replace("s", "a") for s in wordnet.synsets(text.replace(" ", "_"), pos)}

    return bool(tags(word.lower()) & tags(synonym))


def test_original_comes_first_then_distinct_variants():
    result = paraphrases("How do I reset my password?", 5)

    assert result[0] == "How do I reset my password?"
    assert len(result) == 5
    assert len({r.casefold() for r in result}) == 5


def test_a_synonym_replaces_a_content_word_not_a_function_word():
    result = paraphrases("Can I book a meeting room?", 20)

    assert "Can I reserve a meeting room?" in result
    for variant in result[1:]:
        readings = _replacements(result[0], variant)
        assert any(word.lower() not in STOPWORDS for word, _ in readings), variant


@pytest.mark.parametrize("question", QUESTIONS)
def test_the_part_of_speech_is_preserved(question):
    variants = paraphrases(question, 30)[1:]
    assert variants, f"expected WordNet variants of {question!r}"
    for variant in variants:
        readings = _replacements(question, variant)
        assert any(_same_pos(word, synonym) for word, synonym in readings), readings


def test_a_noun_after_a_determiner_gets_only_noun_synonyms():
    # "book" is mostly a noun in WordNet, but "the book" must not become "the reserve".
    variants = paraphrases("Where is the book?", 30)[1:]

    assert variants
    for variant in variants:
        readings = _replacements("Where is the book?", variant)
        assert any(_same_pos(word, synonym, "n") for word, synonym in readings), readings
        assert "reserve" not in variant


def test_a_verb_after_i_gets_only_verb_synonyms():
    question = "Can I book a meeting room?"
    readings = [r for v in paraphrases(question, 30)[1:] for r in _replacements(question, v)]
    book_synonyms = [synonym for word, synonym in readings if word == "book"]

    assert "reserve" in book_synonyms
    assert all(wordnet.synsets(synonym.replace(" ", "_"), "v") for synonym in book_synonyms)
    assert "volume" not in book_synonyms  # the noun sense of "book"


def test_a_plural_noun_stays_plural():
    variants = paraphrases("How to request holidays", 10)

    assert "How to request vacations" in variants


@pytest.mark.parametrize("limit", [1, 2, 3, 7])
def test_the_cap_is_honoured(limit):
    result = paraphrases("Which laptop should I choose for travel?", limit)

    assert len(result) == limit


def test_a_limit_below_one_is_rejected():
    with pytest.raises(ValueError):
        paraphrases("How do I reset my password?", 0)


@pytest.mark.parametrize(
    "question",
    [
        "Who is Alice Zorglub?",  # names
        "VPN SSO MFA?",  # acronyms
        "kubectl",  # jargon unknown to WordNet
        "Hours?",  # one word
        "🙂🙂",  # emoji
        "?!",
        "   ",
        "",
        "x" * 300,
    ],
)
def test_odd_questions_keep_the_original_and_never_raise(question):
    result = paraphrases(question, 10)

    assert result == [" ".join(question.split())]


def test_names_in_mid_sentence_are_never_replaced():
    result = paraphrases("Can Bill book a room for Grace?", 30)

    assert len(result) > 1
    assert all("Bill" in r and "Grace" in r for r in result)


def test_training_examples_keep_every_phrasing_and_honour_the_cap():
    phrasings = ["How do I reset my password?", "I forgot my password", "forgot password"]

    capped = training_examples(phrasings, 5)
    tiny = training_examples(phrasings, 1)

    assert capped[:3] == phrasings
    assert len(capped) == 5
    assert tiny == phrasings  # the owner's phrasings are never dropped
    assert training_examples(["  ", "Reset my password"], 3)[0] == "Reset my password"


def test_same_output_whatever_pythonhashseed():
    script = (
        "import json, sys\n"
        "from publish_broker.paraphrase import paraphrases, training_examples\n"
        f"questions = {QUESTIONS!r}\n"
        "out = [paraphrases(q, 12) for q in questions]\n"
        "out.append(training_examples(questions, 20))\n"
        "print(json.dumps(out))\n"
    )
    outputs = [_run_with_hashseed(script, seed) for seed in ("1", "4242")]

    assert outputs[0] == outputs[1]
    assert any(len(variants) > 1 for variants in outputs[0])


def _run_with_hashseed(script: str, seed: str) -> list:
    env = child_env(PYTHONHASHSEED=seed, PYTHONPATH=str(REPO / "publish-broker"))
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


@pytest.mark.parametrize("word", ["book", "reset", "card", "open", "transfer", "pin", "fee"])
def test_sense_counts_read_once_are_nltks_counts(word):
    from publish_broker.paraphrase import _lemma_count

    lemmas = [lemma for synset in wordnet.synsets(word) for lemma in synset.lemmas()]

    assert lemmas
    assert [_lemma_count(lemma) for lemma in lemmas] == [lemma.count() for lemma in lemmas]
    assert any(lemma.count() > 0 for lemma in lemmas)
