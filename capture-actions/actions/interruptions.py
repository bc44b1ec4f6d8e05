"""Top-level requests in the middle of a form: "show my topics", "publish", "help"... typed
(or clicked) while the concierge waits for a question, an answer or a topic.

Every form's free-text slots take whatever the user types, so the form's validation action
sees the message first. `InterruptibleForm` (the base of every form validation action) looks
at it before validating:

- a request that only shows something or is answered in one message (`RESUMING`: help, the
  topic list, the unanswered questions, 👍/👎 on an answer) is answered, then the form asks
  its question again ("Back to adding a topic");
- any other top-level request abandons the form (its slots are cleared, the user is told) and
  the message is replayed as a new turn (with the slots its entities fill), so the request's
  own rules run exactly as they do outside a form. New intents join this mechanism without
  being listed anywhere: every intent of the domain is a top-level request except
  `FORM_INTENTS`.

Typed text counts as a request only when the classifier is confident and the text is not
what the form asked for: a question typed where a question is asked ("how do I publish my
slides?") is the topic's question, not a request to publish. Cancel is not handled here: the
slot mappings leave it out, and the rules abandon the form ("OK, cancelled").
"""

from __future__ import annotations

import inspect
import logging
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import ActionExecuted, ActiveLoop, EventType, SlotSet, UserUttered
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from rasa_sdk.utils import all_subclasses

from actions import messages
from actions.common import FORM_SLOTS, GuardedAction, guarded, say

logger = logging.getLogger(__name__)

# Intents that are part of filling a form (or are text the form takes), never a request.
FORM_INTENTS = frozenset({"affirm", "deny", "thank", "greet", "faq_content", "nlu_fallback",
                          "ask_user", "choose_topic", "cancel"})
# Requests answered in place by a response or an action; the form then continues.
RESUMING = {"help": "utter_help", "show_topics": "action_show_topics",
            "show_unanswered": "action_show_unanswered",
            "export_topics": "action_export_topics",
            "answer_helpful": "action_answer_feedback",
            "answer_unhelpful": "action_answer_feedback"}
# Below this, typed text is what the form asked for, whatever the classifier guessed.
INTERRUPT_CONFIDENCE = 0.7
# Slots that ask for a question: a question typed there is the text asked for.
QUESTION_SLOTS = frozenset({"topic_question", "alternative_text"})
QUESTION_SHAPE = re.compile(
    r"^\s*(how|what|what's|where|when|who|whom|whose|why|which|can|could|is|are|do|does|did|"
    r"should|will|would|may|am|was|were|has|have)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Interruption:
    """A top-level request received while `form` waited for `slot`."""

    form: str
    slot: str
    intent: str

    @property
    def resumes(self) -> bool:
        """Whether the form continues after the request is answered."""
        return self.intent in RESUMING


def is_request(text: str, intent: str, confidence: float, slot: str,
               domain_intents: List[str]) -> bool:
    """Whether a message received while `slot` is requested is a top-level request."""
    if intent in FORM_INTENTS or intent not in domain_intents:
        return False
    if text.startswith("/"):  # a button: its payload names the request exactly
        return True
    if confidence < INTERRUPT_CONFIDENCE:
        return False
    return not (slot in QUESTION_SLOTS and looks_like_a_question(text))


def looks_like_a_question(text: str) -> bool:
    """Ends with a question mark or starts like one ("how do I ...")."""
    return text.rstrip().endswith("?") or bool(QUESTION_SHAPE.match(text))


def interruption(tracker: Tracker, domain: DomainDict, form: str) -> Optional[Interruption]:
    """The request in the latest message, when it arrived while `form` asked for a slot."""
    slot = tracker.get_slot("requested_slot")
    if tracker.active_loop_name != form or not slot or slot not in tracker.slots_to_validate():
        return None  # activation, or a turn that brought nothing for the requested slot
    latest = tracker.latest_message or {}
    intent = latest.get("intent") or {}
    if not is_request(str(latest.get("text") or ""), str(intent.get("name") or ""),
                      float(intent.get("confidence") or 0.0), slot,
                      list(domain.get("intents") or [])):
        return None
    return Interruption(form, slot, intent["name"])


async def answer_in_place(found: Interruption, dispatcher: CollectingDispatcher,
                          tracker: Tracker) -> List[EventType]:
    """Answers a showing request, then lets the form ask for its slot again."""
    events: List[EventType] = []
    answer = RESUMING[found.intent]
    if answer.startswith("utter_"):
        dispatcher.utter_message(response=answer)
    else:
        events = await guarded(answer, dispatcher, tracker, _action_named(answer).body)
    say(dispatcher, messages.form_resumed(found.form))
    return events + [SlotSet(found.slot, None)]


def _action_named(name: str) -> GuardedAction:
    """The action server's own action of that name (found as rasa-sdk's executor finds it,
    without importing every action module here)."""
    return next(cls() for cls in all_subclasses(GuardedAction)
                if not inspect.isabstract(cls) and cls().name() == name)


def abandon_and_replay(found: Interruption, dispatcher: CollectingDispatcher,
                       tracker: Tracker, domain: DomainDict) -> List[EventType]:
    """Ends the form, says so, and replays the message as a turn outside the form."""
    say(dispatcher, messages.form_abandoned(found.form))
    latest = tracker.latest_message or {}
    replay = UserUttered(latest.get("text"), parse_data=_parse_data(latest),
                         input_channel=tracker.get_latest_input_channel())
    replay.update({"metadata": latest.get("metadata") or {},
                   "message_id": latest.get("message_id")})
    logger.info("%s abandoned for a %s request", found.form, found.intent)
    form_slots = (domain.get("forms") or {}).get(found.form, {}).get("required_slots") or []
    cleared = [SlotSet(name, None) for name in dict.fromkeys([*FORM_SLOTS, *form_slots])]
    return cleared + [ActiveLoop(None), SlotSet("requested_slot", None),
                      ActionExecuted("action_listen"), replay] + entity_slots(latest, domain)


def entity_slots(message: Dict[str, Any], domain: DomainDict) -> List[EventType]:
    """The slots the domain's `from_entity` mappings fill from `message`, as Rasa fills them
    when a message arrives (a replayed message does not go through that step)."""
    intent = (message.get("intent") or {}).get("name")
    values = {e.get("entity"): e.get("value") for e in message.get("entities") or []}
    events = []
    for name, slot in (domain.get("slots") or {}).items():
        for mapping in slot.get("mappings") or []:
            wanted = mapping.get("intent") or []
            if (mapping.get("type") == "from_entity" and mapping.get("entity") in values
                    and (not wanted or intent in _as_list(wanted))
                    and intent not in _as_list(mapping.get("not_intent") or [])):
                events.append(SlotSet(name, values[mapping["entity"]]))
                break
    return events


def _as_list(value: Any) -> List[Any]:
    return value if isinstance(value, list) else [value]


def _parse_data(latest: Dict[str, Any]) -> Dict[str, Any]:
    keys = ("intent", "entities", "text", "intent_ranking", "message_id", "metadata")
    return {key: latest[key] for key in keys if key in latest}


class InterruptibleForm(FormValidationAction, ABC):
    """A form validation action that honours top-level requests first (see the module)."""

    @abstractmethod
    def name(self) -> str:
        """`validate_<form>`."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        """Answers or replays a top-level request; otherwise validates as usual."""
        found = interruption(tracker, domain, self.form_name())
        if found is None:
            return await super().run(dispatcher, tracker, domain)
        if found.resumes:
            return await answer_in_place(found, dispatcher, tracker)
        return abandon_and_replay(found, dispatcher, tracker, domain)
