"""What every action shares: turning failures into friendly messages (the one place that
maps publish-api's errors to words: `failure_message`), speaking Slack blocks, and registering
the owner with publish-api on first contact.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any, Awaitable, Callable, Dict, List, Optional, Sequence

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import messages, shared, slack_blocks
from actions.identity import SlackUser, UnknownSender, sender
from actions.publish_api import (
    PublishApiError,
    PublishApiUnavailable,
    QuestionClosed,
    QuestionNotFound,
    RateLimited,
    Rejected,
    TopicLimit,
    TopicNotFound,
)
from actions.settings import SettingsError

logger = logging.getLogger(__name__)

FORM_SLOTS = ("topic_question", "topic_answer", "topic_ref", "topic_id", "topic_label",
              "topic_current", "new_answer", "alternative_text", "topic_candidates")

Body = Callable[[CollectingDispatcher, Tracker, SlackUser], Awaitable[List[EventType]]]


def say(dispatcher: CollectingDispatcher, text: str,
        choices: Optional[Sequence[Dict[str, str]]] = None) -> None:
    """Sends `text` (mrkdwn) with optional buttons as Slack blocks."""
    dispatcher.utter_message(json_message=slack_blocks.message(text, choices))


async def guarded(action: str, dispatcher: CollectingDispatcher, tracker: Tracker,
                  body: Body) -> List[EventType]:
    """Runs an action's body for the sender; any failure becomes a friendly message.

    Raises nothing: failures are logged with the action and the sender's ids.
    """
    try:
        user = sender(tracker)
    except UnknownSender:
        logger.warning("%s: message without Slack ids (sender %r)", action, tracker.sender_id)
        say(dispatcher, messages.NOT_FROM_SLACK)
        return []
    try:
        return await body(dispatcher, tracker, user)
    except PublishApiError as error:
        # INFO: a refusal is the user's (a limit, a closed question); publish-api down or a wrong
        # token, the problems, were logged at WARNING by the client.
        logger.info("%s for %s refused: %s", action, user.key, error)
        say(dispatcher, failure_message(error), messages.MAIN_BUTTONS)
    except SettingsError as error:
        logger.error("%s for %s: misconfigured: %s", action, user.key, error)
        say(dispatcher, messages.UNEXPECTED)
    except Exception:  # the catch-all: a user must never see a stack trace
        logger.exception("%s for %s failed unexpectedly", action, user.key)
        say(dispatcher, messages.UNEXPECTED)
    return []


class GuardedAction(Action, ABC):
    """An action whose `body` runs for a known Slack user, every failure becoming a friendly
    message (see `guarded`). `clears_form`: also empty the form slots afterwards."""

    clears_form = False

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[EventType]:
        events = await guarded(self.name(), dispatcher, tracker, self.body)
        return events + (clear_form_slots() if self.clears_form else [])

    @abstractmethod
    async def body(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                   user: SlackUser) -> List[EventType]:
        """The action's work. May raise anything: `guarded` turns it into a message."""


_WORDS_BY_ERROR = ((PublishApiUnavailable, messages.SERVICE_DOWN),
                   (TopicLimit, messages.TOPIC_LIMIT), (TopicNotFound, messages.TOPIC_GONE),
                   ((QuestionClosed, QuestionNotFound), messages.QUESTION_CLOSED),
                   (RateLimited, messages.RATE_LIMITED), (UnknownSender, messages.NOT_FROM_SLACK))


def failure_message(error: Exception) -> str:
    """The friendly wording for a failure: publish-api's errors, a sender without Slack ids, and
    anything else (bad settings, a bug) as UNEXPECTED."""
    for kinds, words in _WORDS_BY_ERROR:
        if isinstance(error, kinds):
            return words
    if isinstance(error, Rejected):
        return messages.rejected(error.field, error.code)
    return messages.UNEXPECTED


def log_failure(what: str, error: Exception) -> None:
    """Logs a failure that was turned into words: a misconfiguration at ERROR; a refusal or an
    unknown sender at INFO (publish-api down was logged at WARNING by its client)."""
    logger.log(logging.ERROR if isinstance(error, SettingsError) else logging.INFO,
               "%s: %s", what, error)


async def ensure_owner(tracker: Tracker, user: SlackUser) -> List[EventType]:
    """Creates or renames the user in publish-api once per conversation session.

    Raises PublishApiError.
    """
    if tracker.get_slot("owner_registered"):
        return []
    name = user.display_name or user.user_id
    await shared.blocking(shared.publish_api().upsert_user, user.team_id, user.user_id, name)
    logger.info("registered %s", user.key)
    return [SlotSet("owner_registered", True)]


def clear_form_slots() -> List[EventType]:
    """Events that empty every form slot, so the next form starts afresh."""
    return [SlotSet(name, None) for name in FORM_SLOTS]


def slot_text(tracker: Tracker, name: str) -> str:
    """A text slot's value, stripped ('' when empty)."""
    value: Any = tracker.get_slot(name)
    return str(value).strip() if value is not None else ""
