"""Slot validation for the concierge's forms: lengths as publish-api accepts them, and
resolving "which topic" (a number from the list or words of its question) to a topic id.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import messages, runtime
from actions.common import failure_message, say
from actions.identity import UnknownSender, sender
from actions.publish_api import PublishApiError
from actions.settings import SettingsError

logger = logging.getLogger(__name__)

QUESTION_MAX = 300
ANSWER_MAX = 3_000


def checked_text(dispatcher: CollectingDispatcher, value: Any, limit: int,
                 too_long: str) -> Optional[str]:
    """`value` stripped if it is usable text within `limit`; otherwise None after telling why."""
    text = str(value or "").strip()
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
        if any(needle in text.lower() for text in [t.get("question", "")]
               + list(t.get("alternatives") or []))
    ]


class TopicReferenceValidation:
    """Mixin for forms asking "which topic": resolves `topic_ref` to `topic_id` and
    `topic_label`. Not an Action itself, so the action server does not register it."""

    async def validate_topic_ref(self, value: Any, dispatcher: CollectingDispatcher,
                                 tracker: Tracker, domain: DomainDict) -> Dict[str, Any]:
        """Sets topic_id/topic_label, or clears topic_ref (and says why) to ask again."""
        reference = str(value or "").strip()
        try:
            user = sender(tracker)
            listing = await runtime.blocking(runtime.publish_api().list_topics,
                                             user.team_id, user.user_id)
        except UnknownSender:
            say(dispatcher, messages.NOT_FROM_SLACK)
            return {"topic_ref": None}
        except SettingsError as error:
            logger.error("resolving a topic: misconfigured: %s", error)
            say(dispatcher, messages.UNEXPECTED)
            return {"topic_ref": None}
        except PublishApiError as error:
            if error.code == "user_not_found":
                say(dispatcher, messages.NO_TOPICS, messages.MAIN_BUTTONS[:1])
                return {"topic_ref": None}
            logger.warning("resolving a topic for %s failed: %s", user.key, error)
            say(dispatcher, failure_message(error))
            return {"topic_ref": None}
        return self._resolved(dispatcher, listing.get("topics") or [], reference)

    @staticmethod
    def _resolved(dispatcher: CollectingDispatcher, topics: List[Dict[str, Any]],
                  reference: str) -> Dict[str, Any]:
        if not topics:
            say(dispatcher, messages.NO_TOPICS, messages.MAIN_BUTTONS[:1])
            return {"topic_ref": None}
        found = match_topics(topics, reference) if reference else []
        if len(found) != 1:
            say(dispatcher, messages.several_topics_match(len(found)) if found
                else messages.no_topic_matches(reference))
            return {"topic_ref": None}
        topic = found[0]
        return {"topic_ref": reference, "topic_id": topic["id"],
                "topic_label": topic.get("question", "")}


class ValidateTopicForm(FormValidationAction):
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


class ValidateDeleteTopicForm(TopicReferenceValidation, FormValidationAction):
    """Which topic to delete."""

    def name(self) -> str:
        return "validate_delete_topic_form"


class ValidateEditAnswerForm(TopicReferenceValidation, FormValidationAction):
    """Which topic, then its new answer."""

    def name(self) -> str:
        return "validate_edit_answer_form"

    def validate_new_answer(self, value: Any, dispatcher: CollectingDispatcher,
                            tracker: Tracker, domain: DomainDict) -> Dict[str, Any]:
        """Keeps an answer of 1-3,000 characters."""
        return {"new_answer": checked_text(dispatcher, value, ANSWER_MAX,
                                           messages.ANSWER_TOO_LONG)}


class ValidateAlternativeForm(TopicReferenceValidation, FormValidationAction):
    """Which topic, then another way to ask it."""

    def name(self) -> str:
        return "validate_alternative_form"

    def validate_alternative_text(self, value: Any, dispatcher: CollectingDispatcher,
                                  tracker: Tracker, domain: DomainDict) -> Dict[str, Any]:
        """Keeps a phrasing of 1-300 characters."""
        return {"alternative_text": checked_text(dispatcher, value, QUESTION_MAX,
                                                 messages.ALTERNATIVE_TOO_LONG)}
