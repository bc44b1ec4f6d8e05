"""👍 / 👎 under an answer from someone's bot. 👎 records the question for the owner as answered
wrongly, with what the bot answered, so the owner can mend the topic (see unanswered.py).

The answer a button rates is remembered in the asker's own conversation (slot `answered_asks`,
the last few answers), keyed by a random reference the buttons carry: only the person who asked
can rate an answer, and nobody can make up a question or answer in a button's payload.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any, Dict, List

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import messages, shared
from actions.common import GuardedAction, say
from actions.identity import SlackUser

logger = logging.getLogger(__name__)

REMEMBERED_ANSWERS = 5
UNHELPFUL_INTENT = "answer_unhelpful"


def new_reference() -> str:
    """A reference for one answer's buttons (random: not guessable from another's)."""
    return uuid.uuid4().hex[:16]


def buttons(reference: str) -> List[Dict[str, str]]:
    """👍 and 👎 for the answer `reference` names."""
    entity = json.dumps({"ask_ref": reference}, separators=(",", ":"))
    return [{"title": "👍", "payload": f"/answer_helpful{entity}"},
            {"title": "👎", "payload": f"/{UNHELPFUL_INTENT}{entity}"}]


def remember(tracker: Tracker, reference: str, answered: Dict[str, Any]) -> EventType:
    """The slot event keeping `answered` (owner ids and label, question, answer, topic id)
    under `reference`, with the few answers before it."""
    kept = dict(tracker.get_slot("answered_asks") or {})
    kept[reference] = answered
    return SlotSet("answered_asks", dict(list(kept.items())[-REMEMBERED_ANSWERS:]))


class ActionAnswerFeedback(GuardedAction):
    """Thanks for a 👍; for a 👎, records the question as answered wrongly for the owner."""

    def name(self) -> str:
        return "action_answer_feedback"

    async def body(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                   user: SlackUser) -> List[EventType]:
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        reference = next(tracker.get_latest_entity_values("ask_ref"), None)
        kept = dict(tracker.get_slot("answered_asks") or {})
        answered = kept.pop(str(reference), None) if reference else None
        if answered is None:
            say(dispatcher, messages.FEEDBACK_UNKNOWN)
            return []
        if intent != UNHELPFUL_INTENT:
            say(dispatcher, messages.FEEDBACK_THANKS)
            return [SlotSet("answered_asks", kept)]
        await shared.blocking(
            shared.publish_api().record_unanswered, answered["owner_team_id"],
            answered["owner_user_id"], answered["question"], user.team_id, user.user_id,
            kind="wrong_answer", given_answer=answered["answer"], topic_id=answered["topic_id"])
        logger.info("%s marked an answer of %s unhelpful", user.key, answered["owner_user_id"])
        say(dispatcher, messages.told_owner_unhelpful(answered["owner_label"]))
        return [SlotSet("answered_asks", kept)]
