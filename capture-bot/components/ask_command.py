"""`ask @someone ...` is a command, not a guess: a message with "ask" before a Slack mention is
the ask_user intent whatever words follow.

The classifier learns ask_user from the mention and the word "ask", but what follows is any
question at all, worded like the FAQ content the concierge must not take for a request ("where
can I find the holiday calendar"): a long question outweighed the prefix and the product's main
command went unanswered. This component runs after the classifiers and decides by the command's
own grammar, the one `actions/asking.py` parses.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

ASK_INTENT = "ask_user"
# "ask <@U0123ABC> ...", "please ask <@U0123ABC|alice> ...", as Slack writes a user mention.
ASK_COMMAND = re.compile(r"\bask\s+<@[UW][A-Z0-9]+(?:\|[^>]*)?>", re.IGNORECASE)


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False
)
class AskCommandClassifier(GraphComponent):
    """Sets the intent to ask_user (confidence 1) for a message that asks someone."""

    @classmethod
    def create(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> AskCommandClassifier:
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if ASK_COMMAND.search(message.get(TEXT) or ""):
                intent = {INTENT_NAME_KEY: ASK_INTENT, PREDICTED_CONFIDENCE_KEY: 1.0}
                message.set(INTENT, intent, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [intent], add_to_output=True)
        return messages
