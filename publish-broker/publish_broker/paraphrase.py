"""WordNet paraphrases of an owner's questions, used as extra training examples.

A variant replaces one content word (noun, verb, adjective or adverb) by a WordNet synonym of
the same part of speech. There is no POS tagger (its data is not shipped with NLTK): the part of
speech comes from the word's neighbours where they are telling ("the _", "to _", "I _") and
otherwise from WordNet's own sense counts, and a word whose part of speech stays ambiguous is
left alone. Names, acronyms, inflections we cannot reproduce and words unknown to WordNet are
kept as written, so jargon and one-word questions never fail: the original always comes first.

The order is deterministic (lists sorted on explicit keys, never a set's iteration order), so the
same question gives the same training data and model digest whatever PYTHONHASHSEED is.
WordNet is read through NLTK_DATA; nothing is downloaded.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass

from publish_broker.constants import STOPWORDS
from publish_broker.errors import WordNetMissing

logger = logging.getLogger(__name__)

_WORD = re.compile(r"[A-Za-z]+(?:['-][A-Za-z]+)*")
_SENTENCE_END = re.compile(r"[.!?]\s*$")

# Words after which the next content word is taken as a noun: determiners and prepositions.
_NOUN_CUES = frozenset(
    "a an the my your our their his her its this these those each every any some no another "
    "which what whose for of in on at with about from by without near into onto per".split()
)
# Words after which the next content word is a verb.
_VERB_CUES = frozenset(
    "to i you we they can could should would will shall must may might do does did don't "
    "doesn't didn't can't cannot please".split()
)
_POS_ORDER = ("n", "v", "a", "r")
_SENSES_USED = 2  # synonyms from the most frequent senses only; rarer senses drift in meaning
_DOMINANCE = 3.0  # without context, a part of speech must be this much more frequent than others


@dataclass(frozen=True)
class _Slot:
    """A replaceable word: its place in the text and its synonyms, best first."""

    start: int
    end: int
    synonyms: tuple[str, ...]


def paraphrases(question: str, limit: int) -> list[str]:
    """Return the question first, then up to ``limit - 1`` WordNet variants of it.

    Whitespace is normalised; variants are distinct (case-insensitively) from each other and
    from the original. Raises ValueError if ``limit`` < 1; never raises for odd input text.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    return list(_paraphrases(" ".join(question.split()), limit))


# WordNet look-ups cost ~40 ms a question: a republish (most topics unchanged) and the digest
# computed before training reuse them. Bounded: a few MB at most.
@functools.lru_cache(maxsize=8192)
def _paraphrases(original: str, limit: int) -> tuple[str, ...]:
    result = [original]
    seen = {original.casefold()}
    for variant in _variants(original):
        if len(result) >= limit:
            break
        if variant.casefold() not in seen:
            seen.add(variant.casefold())
            result.append(variant)
    return tuple(result)


def training_examples(questions: list[str], limit: int) -> list[str]:
    """Return a topic's training examples: its phrasings first, then their paraphrases.

    At most ``limit`` examples, except that every distinct non-blank phrasing the owner wrote
    is always kept. Paraphrases are taken in turn from each phrasing. Raises ValueError if
    ``limit`` < 1.
    """
    per_phrasing = [paraphrases(q, limit) for q in questions if q.strip()]
    result: list[str] = []
    seen: set[str] = set()
    for index, candidate in enumerate(_originals_then_round_robin(per_phrasing)):
        is_original = index < len(per_phrasing)
        if candidate.casefold() not in seen and (is_original or len(result) < limit):
            seen.add(candidate.casefold())
            result.append(candidate)
    return result


def _originals_then_round_robin(per_phrasing: list[list[str]]) -> Iterator[str]:
    yield from (p[0] for p in per_phrasing)
    longest = max((len(p) for p in per_phrasing), default=0)
    for rank in range(1, longest):
        yield from (p[rank] for p in per_phrasing if rank < len(p))


def _variants(text: str) -> Iterator[str]:
    """One-word substitutions, taking each slot's best synonym in turn, then the next best."""
    slots = _slots(text)
    depth = max((len(s.synonyms) for s in slots), default=0)
    for rank in range(depth):
        for slot in slots:
            if rank < len(slot.synonyms):
                yield text[: slot.start] + slot.synonyms[rank] + text[slot.end :]


def _slots(text: str) -> list[_Slot]:
    matches = list(_WORD.finditer(text))
    words = [m.group().lower() for m in matches]
    slots = []
    for i, match in enumerate(matches):
        prev_word = words[i - 1] if i > 0 else None
        sentence_start = i == 0 or bool(_SENTENCE_END.search(text[: match.start()]))
        synonyms = _replacements(match.group(), prev_word, sentence_start)
        if synonyms:
            slots.append(_Slot(match.start(), match.end(), synonyms))
    return slots


def _replacements(word: str, prev_word: str | None, sentence_start: bool) -> tuple[str, ...]:
    """Synonyms to write in place of ``word`` (same POS, same inflection), best first."""
    lower = word.lower()
    if lower in STOPWORDS or len(lower) < 3 or "'" in lower or not _is_plain_word(word):
        return ()
    if word[0].isupper() and not sentence_start:
        return ()  # a name in mid-sentence ("Alice", "Zoom"): never replaced
    pos = _part_of_speech(lower, prev_word, sentence_start)
    if pos is None:
        return ()
    lemma, suffix = _lemma_and_suffix(lower, pos)
    if lemma is None:
        return ()
    synonyms = (_inflect(s, suffix) for s in _synonyms(lemma, pos))
    if word[0].isupper():
        synonyms = (s[0].upper() + s[1:] for s in synonyms)
    return tuple(synonyms)


def _is_plain_word(word: str) -> bool:
    """Lower-case or capitalised only: "VPN", "iPhone" and "McAfee" are names or jargon."""
    return word[1:].islower()


def _part_of_speech(word: str, prev_word: str | None, sentence_start: bool) -> str | None:
    """The WordNet POS of ``word`` in this context, or None when it is unknown or ambiguous."""
    evidence = _pos_evidence(word)
    if not evidence:
        return None
    cued = _context_pos(prev_word, sentence_start)
    if cued is not None:
        return cued if cued in evidence else None
    ranked = sorted(evidence.items(), key=lambda item: (-item[1], _POS_ORDER.index(item[0])))
    if len(ranked) > 1 and ranked[0][1] < _DOMINANCE * ranked[1][1]:
        return None
    return ranked[0][0]


def _context_pos(prev_word: str | None, sentence_start: bool) -> str | None:
    if prev_word in _VERB_CUES or (sentence_start and prev_word is None):
        return "v"  # "how to reset", "can I book", "Reset my password"
    # "the office", "for travel" (an adjective here has no noun evidence and is left alone)
    if prev_word in _NOUN_CUES:
        return "n"
    return None


@functools.lru_cache(maxsize=16384)
def _pos_evidence(word: str) -> dict[str, float]:
    """Tagged-corpus frequency (+1 per sense) of ``word`` for each POS WordNet knows it as."""
    wordnet = _wordnet()
    evidence = {}
    for pos in _POS_ORDER:
        lemma = wordnet.morphy(word, pos)
        if lemma is None:
            continue
        senses = wordnet.synsets(lemma, pos=pos)
        counts = [_lemma_count(lem) + 1 for s in senses for lem in s.lemmas()
                  if lem.name() == lemma]
        if counts:
            evidence[pos] = float(sum(counts))
    return evidence


def _lemma_and_suffix(word: str, pos: str) -> tuple[str | None, str]:
    """The base form and the suffix to put back; (None, "") for inflections we cannot redo."""
    lemma = _wordnet().morphy(word, pos)
    if lemma == word:
        return lemma, ""
    if lemma is not None and pos in ("n", "v"):
        for suffix in ("s", "es"):
            if word == lemma + suffix:
                return lemma, "s"
    return None, ""


def _inflect(phrase: str, suffix: str) -> str:
    if not suffix:
        return phrase
    head, _, last = phrase.rpartition(" ")
    plural = last + ("es" if last.endswith(("s", "x", "z", "ch", "sh")) else "s")
    return f"{head} {plural}" if head else plural


@functools.lru_cache(maxsize=16384)
def _synonyms(lemma: str, pos: str) -> tuple[str, ...]:
    """Synonyms from the lemma's most frequent senses: by sense, then frequency, then name."""
    ranked = []
    senses = _wordnet().synsets(lemma, pos=pos)[:_SENSES_USED]
    for sense_rank, synset in enumerate(senses):
        for lem in synset.lemmas():
            name = lem.name().replace("_", " ")
            if name.lower() != lemma and name.islower() and name.replace(" ", "").isalpha():
                ranked.append((sense_rank, -_lemma_count(lem), name))
    unique: dict[str, None] = {}
    for _, _, name in sorted(ranked):
        unique.setdefault(name, None)
    return tuple(unique)


def _lemma_count(lemma) -> int:
    """``lemma.count()`` (its tagged-corpus frequency), read from a table in memory: NLTK
    binary-searches ``cntlist.rev`` on disk at every call, 60 % of a paraphrase's time."""
    return _sense_counts().get(lemma.key(), 0)


@functools.cache
def _sense_counts() -> dict[str, int]:
    """WordNet's ``cntlist.rev`` (``<sense key> <sense number> <count>`` lines, ~30,000) as
    sense key → count, read once per process (~1 MB)."""
    counts = {}
    # As bytes: NLTK's decoding reader (wordnet.open) takes ~25x longer over the whole file.
    with _wordnet().root.join("cntlist.rev").open() as lines:
        for line in lines:
            key, _, rest = line.decode("utf-8").strip().partition(" ")
            if rest:
                counts[key] = int(rest.rsplit(" ", 1)[-1])
    return counts


@functools.cache
def _wordnet():
    """NLTK's WordNet reader, loaded. Raises WordNetMissing when NLTK_DATA lacks the corpus
    (NLTK's own message suggests a download, which is never possible nor wanted here)."""
    from nltk.corpus import wordnet

    try:
        wordnet.ensure_loaded()
    except LookupError:
        where = os.environ.get("NLTK_DATA", "(NLTK_DATA is not set)")
        raise WordNetMissing(
            f"WordNet is not installed where NLTK looks ({where}): run "
            "publish-broker/wordnet/ensure-wordnet.sh [DIR] and set NLTK_DATA to DIR") from None
    return wordnet
