"""Slot validation for the concierge's forms: lengths as publish-api accepts them, and
resolving "which topic" (a number from the list or words of its question) to a topic id.

A topic named in the request that starts a form ("change the answer of the laptop topic",
"delete topic 2") is used at once: one match is taken, several are offered as buttons
(`action_ask_topic_ref`), and only when none matches does the form ask. Every form also
honours top-level requests typed in the middle of it (see interruptions.py).
"""

from __future__ import annotations

import logging
import re
from typing import Any, Dict, List, Optional, Set

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import messages, shared
from actions.common import failure_message, log_failure, say, slot_text
from actions.identity import UnknownSender, sender
from actions.interruptions import InterruptibleForm
from actions.publish_api import PublishApiError, UserNotFound
from actions.settings import SettingsError

logger = logging.getLogger(__name__)

QUESTION_MAX = 300
ANSWER_MAX = 3_000


def checked_text(dispatcher: CollectingDispatcher, value: Any, limit: int,
                 too_long: str) -> Optional[str]:
    """`value` stripped if it is usable text within `limit`; otherwise None after telling why."""
    if value is None:  # a slot emptied when a form starts afresh: nothing to check yet
        return None
    text = str(value).strip()
    if not text:
        say(dispatcher, messages.EMPTY_TEXT)
        return None
    if text.startswith("/"):  # a button payload arriving while we wait for typed text
        say(dispatcher, messages.BUTTON_IN_FORM)
        return None
    if len(text) > limit:
        say(dispatcher, too_long)
        return None
    return text


def match_topics(topics: List[Dict[str, Any]], reference: str) -> List[Dict[str, Any]]:
    """Topics meant by `reference`: its 1-based number in the list, else a case-insensitive
    match of words in the question or an alternative phrasing."""
    reference = reference.strip().lstrip("#").strip()
    if reference.isdigit():
        number = int(reference)
        return [topics[number - 1]] if 1 <= number <= len(topics) else []
    needle = " ".join(reference.lower().split())
    exact = [t for t in topics if t.get("question", "").strip().lower() == needle]
    return exact or [
        t for t in topics
        if any(needle in text.lower() for text in _texts(t))
    ]


# Words of a request that say what to do, not which topic ("change the answer of ...").
REQUEST_WORDS = frozenset("""
a an the this that these those of to for in on at by with about from my me i it its is are
be can could would please and or one some another other new also
topic topics question questions answer answers faq entry item
change changes edit update fix correct modify rewrite replace
delete remove rid get erase drop
add alternative alternatives phrasing phrasings wording way ways paraphrase synonym
ask asks asked asking say people differently else how
""".split())
WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def _texts(topic: Dict[str, Any]) -> List[str]:
    return [topic.get("question", "")] + list(topic.get("alternatives") or [])


def _words(text: str) -> Set[str]:
    """Lower-case words, plural "s" dropped so "laptops" names the laptop topic."""
    found = set()
    for word in WORD.findall(text.lower()):
        found.add(word[:-1] if len(word) > 3 and word.endswith("s") else word)
    return found


def topics_named_in(topics: List[Dict[str, Any]], request: str) -> List[Dict[str, Any]]:
    """Topics sharing the most words with a request, not counting the words that only say
    what to do; [] when the request names nothing ("edit an answer")."""
    wanted = {w for w in _words(request) if w not in REQUEST_WORDS and not w.isdigit()}
    if not wanted:
        return []
    scores = [(len(wanted & _words(" ".join(_texts(topic)))), topic) for topic in topics]
    best = max((score for score, _ in scores), default=0)
    return [topic for score, topic in scores if score == best] if best else []


def candidates_slot(reference: str, topics: List[Dict[str, Any]],
                    found: List[Dict[str, Any]]) -> Dict[str, Any]:
    """What `action_ask_topic_ref` offers: the reference and the matching topics' numbers."""
    numbers = {id(topic): number for number, topic in enumerate(topics, 1)}
    return {"reference": reference,
            "topics": [{"number": numbers[id(t)], "question": t.get("question", "")}
                       for t in found]}


class TopicReferenceValidation:
    """Mixin for forms asking "which topic": resolves `topic_ref` to `topic_id` and
    `topic_label`, first from the request that started the form. Not an Action itself, so
    the action server does not register it."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        """On the form's first turn, takes the topic the request names (if any)."""
        starting = tracker.active_loop_name != self.form_name()  # type: ignore[attr-defined]
        if not starting or "topic_ref" in tracker.slots_to_validate():
            return await super().run(dispatcher, tracker, domain)  # type: ignore[misc]
        latest = tracker.latest_message or {}
        number = next((str(e.get("value")) for e in latest.get("entities") or []
                       if e.get("entity") == "topic_number"), None)
        topics = await self._topics(dispatcher, tracker, quiet=number is None)
        if topics is None:
            return []
        if number is not None:
            return _as_events(self._resolved(dispatcher, topics, number))
        found = topics_named_in(topics, str(latest.get("text") or ""))
        if len(found) == 1:
            return _as_events(_chosen(found[0], str(latest.get("text") or "")))
        if found:
            return [SlotSet("topic_candidates", candidates_slot(
                str(latest.get("text") or ""), topics, found))]
        return []

    async def validate_topic_ref(self, value: Any, dispatcher: CollectingDispatcher,
                                 tracker: Tracker, domain: DomainDict) -> Dict[str, Any]:
        """Sets topic_id/topic_label, or clears topic_ref (and says why) to ask again."""
        if value is None:
            return {"topic_ref": None}
        topics = await self._topics(dispatcher, tracker)
        if topics is None:
            return {"topic_ref": None}
        return self._resolved(dispatcher, topics, str(value).strip())

    async def _topics(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                      quiet: bool = False) -> Optional[List[Dict[str, Any]]]:
        """The owner's topics; None after telling why they cannot be had (unless `quiet`)."""
        try:
            user = sender(tracker)
            listing = await shared.blocking(shared.publish_api().list_topics,
                                             user.team_id, user.user_id)
            return listing.get("topics") or []
        except UserNotFound:
            return []
        except (UnknownSender, SettingsError, PublishApiError) as error:
            log_failure(f"resolving a topic for {tracker.sender_id}", error)
            if not quiet:
                say(dispatcher, failure_message(error))
        return None

    @staticmethod
    def _resolved(dispatcher: CollectingDispatcher, topics: List[Dict[str, Any]],
                  reference: str) -> Dict[str, Any]:
        if not topics:
            say(dispatcher, messages.NO_TOPICS, messages.MAIN_BUTTONS[:1])
            return {"topic_ref": None}
        found = match_topics(topics, reference) if reference else []
        if len(found) == 1:
            return _chosen(found[0], reference)
        if found:
            return {"topic_ref": None,
                    "topic_candidates": candidates_slot(reference, topics, found)}
        say(dispatcher, messages.no_topic_matches(reference))
        return {"topic_ref": None}


def _chosen(topic: Dict[str, Any], reference: str) -> Dict[str, Any]:
    return {"topic_ref": reference, "topic_id": topic["id"],
            "topic_label": topic.get("question", ""), "topic_candidates": None,
            "topic_current": {"answer": str(topic.get("answer") or ""),
                              "live": topic.get("live", True)}}


def _as_events(values: Dict[str, Any]) -> List[EventType]:
    return [SlotSet(name, value) for name, value in values.items()]


class ActionAskTopicRef(Action):
    """Asks which topic: the candidates as buttons when several matched, else the question."""

    def name(self) -> str:
        return "action_ask_topic_ref"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        candidates = tracker.get_slot("topic_candidates") or {}
        topics = candidates.get("topics") or []
        if not topics:
            say(dispatcher, messages.WHICH_TOPIC, messages.WHICH_TOPIC_BUTTONS)
            return []
        text = messages.several_topics_match(candidates.get("reference", ""), topics)
        say(dispatcher, text, messages.topic_choices(topics))
        return []


class ActionAskNewAnswer(Action):
    """Asks for the new answer, quoting the chosen topic (escaped)."""

    def name(self) -> str:
        return "action_ask_new_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        current = tracker.get_slot("topic_current") or {}
        say(dispatcher, messages.ask_new_answer(slot_text(tracker, "topic_label"),
                                                str(current.get("answer") or "")),
            [messages.CANCEL_BUTTON])
        return []


class ActionAskAlternativeText(Action):
    """Asks for another way to ask the chosen topic (escaped)."""

    def name(self) -> str:
        return "action_ask_alternative_text"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        say(dispatcher, messages.ask_alternative(slot_text(tracker, "topic_label")),
            [messages.CANCEL_BUTTON])
        return []


class ValidateTopicForm(InterruptibleForm):
    """Question then answer of a new topic."""

    def name(self) -> str:
        return "validate_topic_form"

    def validate_topic_question(self, value: Any, dispatcher: CollectingDispatcher,
                                tracker: Tracker, domain: DomainDict) -> Dict[str, Any]:
        """Keeps a question of 1-300 characters."""
        text = checked_text(dispatcher, value, QUESTION_MAX, messages.QUESTION_TOO_LONG)
        return {"topic_question": text}

    def validate_topic_answer(self, value: Any, dispatcher: CollectingDispatcher,
                              tracker: Tracker, domain: DomainDict) -> Dict[str, Any]:
        """Keeps an answer of 1-3,000 characters."""
        text = checked_text(dispatcher, value, ANSWER_MAX, messages.ANSWER_TOO_LONG)
        return {"topic_answer": text}


class ValidateDeleteTopicForm(TopicReferenceValidation, InterruptibleForm):
    """Which topic to delete."""

    def name(self) -> str:
        return "validate_delete_topic_form"


class ValidateEditAnswerForm(TopicReferenceValidation, InterruptibleForm):
    """Which topic, then its new answer."""

    def name(self) -> str:
        return "validate_edit_answer_form"

    def validate_new_answer(self, value: Any, dispatcher: CollectingDispatcher,
                            tracker: Tracker, domain: DomainDict) -> Dict[str, Any]:
        """Keeps an answer of 1-3,000 characters."""
        return {"new_answer": checked_text(dispatcher, value, ANSWER_MAX,
                                           messages.ANSWER_TOO_LONG)}


class ValidateAlternativeForm(TopicReferenceValidation, InterruptibleForm):
    """Which topic, then another way to ask it."""

    def name(self) -> str:
        return "validate_alternative_form"

    def validate_alternative_text(self, value: Any, dispatcher: CollectingDispatcher,
                                  tracker: Tracker, domain: DomainDict) -> Dict[str, Any]:
        """Keeps a phrasing of 1-300 characters."""
        return {"alternative_text": checked_text(dispatcher, value, QUESTION_MAX,
                                                 messages.ALTERNATIVE_TOO_LONG)}
