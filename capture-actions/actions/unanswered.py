"""The owner's unanswered questions: list the open ones with a button each to answer it (a new
topic whose question is that question: the concierge asks only for the answer), add it to a
topic (another phrasing of it) or dismiss it. publish-api keeps the questions' state; everyone
who asked is told the answer once the owner publishes (publish-broker).

Buttons carry the question's id as a Rasa payload entity: `/answer_question{"question_id":"7"}`.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import messages, shared, slack_blocks
from actions.common import (
    GuardedAction,
    ensure_owner,
    failure_message,
    log_failure,
    say,
    slot_text,
)
from actions.forms import ANSWER_MAX, candidates_slot, checked_text, match_topics
from actions.identity import SlackUser, UnknownSender, sender
from actions.interruptions import InterruptibleForm
from actions.publish_api import Conflict, PublishApiError, QuestionNotFound, Rejected
from actions.settings import SettingsError

logger = logging.getLogger(__name__)

# 1 header block + 2 blocks per question (+1 footer) stays far below Slack's 50 blocks.
SHOWN_QUESTIONS = 10
# Topics offered as buttons when picking one (a 5th button is Cancel).
TOPIC_BUTTONS = 4
QUESTION_SLOTS = ("question_id", "question_label", "question_text", "question_answer",
                  "attach_topic_ref", "attach_topic_id", "attach_topic_label")
CANCEL = {"title": "Cancel", "payload": "/cancel"}


def question_buttons(question_id: Any) -> List[Dict[str, str]]:
    """Answer it / Add to a topic / Dismiss for one question."""
    entity = json.dumps({"question_id": str(question_id)}, separators=(",", ":"))
    return [{"title": "Answer it", "payload": f"/answer_question{entity}"},
            {"title": "Add to a topic", "payload": f"/attach_question{entity}"},
            {"title": "Dismiss", "payload": f"/dismiss_question{entity}"}]


def open_questions_message(questions: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The open questions, newest first, each a section with its three buttons."""
    shown = questions[:SHOWN_QUESTIONS]
    header = messages.open_questions(len(shown), len(questions))
    blocks = [slack_blocks.section(header)]
    for question in shown:
        blocks += [slack_blocks.section(messages.open_question_line(question)),
                   slack_blocks.buttons(question_buttons(question["id"]))]
    return {"text": header, "blocks": blocks}


def clear_question_slots() -> List[EventType]:
    """Events that empty the slots of the question forms."""
    return [SlotSet(name, None) for name in QUESTION_SLOTS]


async def _open_questions(user: SlackUser) -> List[Dict[str, Any]]:
    return await shared.blocking(shared.publish_api().list_unanswered, user.team_id,
                                  user.user_id, "open")


class ActionShowUnanswered(GuardedAction):
    """Lists the owner's open questions with their buttons."""

    def name(self) -> str:
        return "action_show_unanswered"

    async def body(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                   user: SlackUser) -> List[EventType]:
        events = await ensure_owner(tracker, user)
        questions = await _open_questions(user)
        if not questions:
            say(dispatcher, messages.NO_OPEN_QUESTIONS, messages.MAIN_BUTTONS[:2])
            return events
        dispatcher.utter_message(json_message=open_questions_message(questions))
        return events


class OpenQuestionValidation:
    """Mixin for the question forms: `question_id` must name one of the owner's open questions
    (its text goes to `question_text`, escaped and shortened to `question_label`)."""

    async def validate_question_id(self, value: Any, dispatcher: CollectingDispatcher,
                                   tracker: Tracker, domain: DomainDict) -> Dict[str, Any]:
        """Keeps the id of an open question; otherwise says why and clears it."""
        question = await _find_open(dispatcher, tracker, str(value or "").strip())
        if question is None:
            return {"question_id": None}
        return {"question_id": str(question["id"]), "question_text": question["question"],
                "question_label": messages.preview(question["question"], 300)}


async def _find_open(dispatcher: CollectingDispatcher, tracker: Tracker,
                     question_id: str) -> Optional[Dict[str, Any]]:
    try:
        user = sender(tracker)
        questions = await _open_questions(user)
    except (UnknownSender, PublishApiError, SettingsError) as error:
        log_failure("reading open questions", error)
        say(dispatcher, failure_message(error))
        return None
    found = [q for q in questions if str(q["id"]) == question_id]
    if not found:
        say(dispatcher, messages.QUESTION_CLOSED, [messages.UNANSWERED_BUTTON, CANCEL])
    return found[0] if found else None


class ValidateAnswerQuestionForm(OpenQuestionValidation, InterruptibleForm):
    """Which question (from its button), then the owner's answer."""

    def name(self) -> str:
        return "validate_answer_question_form"

    def validate_question_answer(self, value: Any, dispatcher: CollectingDispatcher,
                                 tracker: Tracker, domain: DomainDict) -> Dict[str, Any]:
        """Keeps an answer of 1-3,000 characters."""
        return {"question_answer": checked_text(dispatcher, value, ANSWER_MAX,
                                                messages.ANSWER_TOO_LONG)}


class ValidateAttachQuestionForm(OpenQuestionValidation, InterruptibleForm):
    """Which question (from its button), then which topic it joins."""

    def name(self) -> str:
        return "validate_attach_question_form"

    async def validate_attach_topic_ref(self, value: Any, dispatcher: CollectingDispatcher,
                                        tracker: Tracker, domain: DomainDict) -> Dict[str, Any]:
        """Sets attach_topic_id/attach_topic_label, or clears the reference to ask again."""
        reference = str(value or "").strip()
        try:
            user = sender(tracker)
            listing = await shared.blocking(shared.publish_api().list_topics, user.team_id,
                                             user.user_id)
        except (UnknownSender, PublishApiError, SettingsError) as error:
            log_failure("listing topics to attach a question", error)
            say(dispatcher, failure_message(error))
            return {"attach_topic_ref": None}
        topics = listing.get("topics") or []
        found = match_topics(topics, reference) if reference else []
        if len(found) != 1:
            say(dispatcher, messages.several_topics_match(
                reference, candidates_slot(reference, topics, found)["topics"]) if found
                else messages.no_topic_matches(reference))
            return {"attach_topic_ref": None}
        return {"attach_topic_ref": reference, "attach_topic_id": found[0]["id"],
                "attach_topic_label": found[0].get("question", "")}


class ActionAskAttachTopicRef(GuardedAction):
    """Asks which topic the question joins: the owner's topics, numbered, the first as buttons."""

    def name(self) -> str:
        return "action_ask_attach_topic_ref"

    async def body(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                   user: SlackUser) -> List[EventType]:
        listing = await shared.blocking(shared.publish_api().list_topics, user.team_id,
                                         user.user_id)
        topics = listing.get("topics") or []
        if not topics:
            say(dispatcher, messages.NO_TOPIC_TO_JOIN, [CANCEL])
            return []
        lines = [messages.list_line(number, topic) for number, topic in enumerate(topics, 1)]
        text = messages.pick_topic_for(slot_text(tracker, "question_text"))
        choices = [{"title": f"{number}. {topic.get('question', '')}"[:75],
                    "payload": str(number)}
                   for number, topic in enumerate(topics[:TOPIC_BUTTONS], 1)]
        blocks = [slack_blocks.section(text), *_sections(lines),
                  slack_blocks.buttons([*choices, CANCEL])]
        dispatcher.utter_message(json_message={"text": text, "blocks": blocks})
        return []


def _sections(lines: List[str]) -> List[Dict[str, Any]]:
    """The numbered topics as sections within Slack's limits (at most 10 blocks of them: the
    first few hundred topics; words of a question find any)."""
    chunks = slack_blocks.pack_lines(lines)[:10]
    return [slack_blocks.section(text) for _, _, text in chunks]


class ActionAnswerQuestion(GuardedAction):
    """Makes a topic of the question with the owner's answer (answer_question_form)."""

    def name(self) -> str:
        return "action_answer_question"

    async def body(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                   user: SlackUser) -> List[EventType]:
        question = slot_text(tracker, "question_text")
        try:
            done = await shared.blocking(
                shared.publish_api().answer_question, user.team_id, user.user_id,
                tracker.get_slot("question_id"), slot_text(tracker, "question_answer"))
        except (Conflict, Rejected) as error:
            _say_refused(dispatcher, error)
            return clear_question_slots()
        logger.info("%s answered an unanswered question", user.key)
        say(dispatcher, messages.question_answered(question, len(done["questions"])),
            [messages.MAIN_BUTTONS[2], messages.UNANSWERED_BUTTON])
        return clear_question_slots()


class ActionAttachQuestion(GuardedAction):
    """Adds the question to the chosen topic as another phrasing (attach_question_form)."""

    def name(self) -> str:
        return "action_attach_question"

    async def body(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                   user: SlackUser) -> List[EventType]:
        question = slot_text(tracker, "question_text")
        try:
            done = await shared.blocking(
                shared.publish_api().attach_question, user.team_id, user.user_id,
                tracker.get_slot("question_id"), tracker.get_slot("attach_topic_id"))
        except (Conflict, Rejected) as error:
            _say_refused(dispatcher, error)
            return clear_question_slots()
        topic = (done.get("topic") or {}).get("question", "")
        say(dispatcher, messages.question_attached(question, topic, len(done["questions"])),
            [messages.MAIN_BUTTONS[2], messages.UNANSWERED_BUTTON])
        return clear_question_slots()


class ActionDismissQuestion(GuardedAction):
    """Dismisses the question whose Dismiss button was clicked."""

    def name(self) -> str:
        return "action_dismiss_question"

    async def body(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                   user: SlackUser) -> List[EventType]:
        question_id = next(tracker.get_latest_entity_values("question_id"), None)
        if question_id is None:
            say(dispatcher, messages.QUESTION_CLOSED, [messages.UNANSWERED_BUTTON])
            return []
        try:
            done = await shared.blocking(shared.publish_api().dismiss_question, user.team_id,
                                          user.user_id, question_id)
        except (Conflict, Rejected, QuestionNotFound) as error:
            _say_refused(dispatcher, error)
            return []
        dismissed = done["questions"][0]
        say(dispatcher, messages.question_dismissed(dismissed["question"],
                                                    str(dismissed.get("kind") or "")),
            [messages.UNANSWERED_BUTTON])
        return []


class ActionResetQuestionSlots(Action):
    """Empties the question forms' slots after a cancel."""

    def name(self) -> str:
        return "action_reset_question_slots"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[EventType]:
        return clear_question_slots()


def _say_refused(dispatcher: CollectingDispatcher, error: PublishApiError) -> None:
    # The question becomes a topic's question: a longer one is refused under that field.
    too_long = isinstance(error, Rejected) and error.field == "question"
    say(dispatcher, messages.QUESTION_TOO_LONG_FOR_TOPIC if too_long else failure_message(error),
        [messages.UNANSWERED_BUTTON])
