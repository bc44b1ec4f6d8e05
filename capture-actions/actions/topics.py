"""Actions on the owner's topics: list, confirm and save a new one, edit, add a phrasing,
delete one or all. Forms collect the values (see forms.py); these actions call publish-api.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import messages, shared, slack_blocks
from actions.common import GuardedAction, clear_form_slots, ensure_owner, say, slot_text
from actions.identity import SlackUser
from actions.publish_api import TopicNotFound

logger = logging.getLogger(__name__)


class ActionShowTopics(GuardedAction):
    """Lists the owner's topics with ✅ published / 🔴 pending."""

    def name(self) -> str:
        return "action_show_topics"

    async def body(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                   user: SlackUser) -> List[EventType]:
        events = await ensure_owner(tracker, user)
        listing = await shared.blocking(shared.publish_api().list_topics,
                                         user.team_id, user.user_id)
        for part in slack_blocks.topic_list(listing.get("topics") or [],
                                            int(listing.get("pending_deletions") or 0)):
            dispatcher.utter_message(json_message=part)
        return events


class ActionConfirmTopic(Action):
    """Shows the collected question and answer and asks whether to save them."""

    def name(self) -> str:
        return "action_confirm_topic"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[EventType]:
        question, answer = slot_text(tracker, "topic_question"), slot_text(tracker, "topic_answer")
        say(dispatcher, messages.confirm_topic(question, answer), messages.YES_NO_BUTTONS)
        return []


class ActionSaveTopic(GuardedAction):
    """Stores the confirmed topic and offers to add another."""

    def name(self) -> str:
        return "action_save_topic"

    clears_form = True

    async def body(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                   user: SlackUser) -> List[EventType]:
        events = await ensure_owner(tracker, user)
        question, answer = slot_text(tracker, "topic_question"), slot_text(tracker, "topic_answer")
        await shared.blocking(shared.publish_api().create_topic,
                               user.team_id, user.user_id, question, answer)
        logger.info("%s added a topic", user.key)
        say(dispatcher, messages.topic_saved(question), messages.YES_NO_BUTTONS)
        return events


class ActionEditAnswer(GuardedAction):
    """Replaces the answer of the topic chosen in edit_answer_form."""

    def name(self) -> str:
        return "action_edit_answer"

    clears_form = True

    async def body(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                   user: SlackUser) -> List[EventType]:
        topic = await shared.blocking(
            shared.publish_api().update_topic, user.team_id, user.user_id,
            tracker.get_slot("topic_id"), answer=slot_text(tracker, "new_answer"))
        say(dispatcher, messages.answer_updated(topic.get("question", "")),
            messages.MAIN_BUTTONS[1:3])
        return []


class ActionAddAlternative(GuardedAction):
    """Adds another phrasing to the topic chosen in alternative_form."""

    def name(self) -> str:
        return "action_add_alternative"

    clears_form = True

    async def body(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                   user: SlackUser) -> List[EventType]:
        text = slot_text(tracker, "alternative_text")
        topic = await shared.blocking(shared.publish_api().add_alternative, user.team_id,
                                       user.user_id, tracker.get_slot("topic_id"), text)
        say(dispatcher, messages.alternative_added(topic.get("question", ""), text),
            messages.MAIN_BUTTONS[1:3])
        return []


class ActionConfirmDeleteTopic(Action):
    """Asks before deleting the topic chosen in delete_topic_form (quoted, escaped)."""

    def name(self) -> str:
        return "action_confirm_delete_topic"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[EventType]:
        say(dispatcher, messages.confirm_delete(slot_text(tracker, "topic_label")),
            messages.DELETE_BUTTONS)
        return []


class ActionDeleteTopic(GuardedAction):
    """Deletes the topic chosen in delete_topic_form (after the user confirmed)."""

    def name(self) -> str:
        return "action_delete_topic"

    clears_form = True

    async def body(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                   user: SlackUser) -> List[EventType]:
        try:
            await shared.blocking(shared.publish_api().delete_topic, user.team_id,
                                   user.user_id, tracker.get_slot("topic_id"))
        except TopicNotFound:
            say(dispatcher, messages.TOPIC_GONE)
            return []
        current = tracker.get_slot("topic_current") or {}
        say(dispatcher, messages.topic_deleted(slot_text(tracker, "topic_label"),
                                               live=current.get("live", True)),
            messages.MAIN_BUTTONS[1:3])
        return []


class ActionDeleteAllTopics(GuardedAction):
    """Deletes every topic of the owner (after the user confirmed)."""

    def name(self) -> str:
        return "action_delete_all_topics"

    async def body(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                   user: SlackUser) -> List[EventType]:
        events = await ensure_owner(tracker, user)
        count = await shared.blocking(shared.publish_api().delete_all_topics,
                                       user.team_id, user.user_id)
        logger.info("%s deleted all %d topics", user.key, count)
        say(dispatcher, messages.all_deleted(count), messages.MAIN_BUTTONS[:1])
        return events


class ActionResetSlots(Action):
    """Empties the form slots after a cancel or a "no"."""

    def name(self) -> str:
        return "action_reset_slots"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[EventType]:
        return clear_form_slots()
