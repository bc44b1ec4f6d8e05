"""`ask @user <question>`: finds the owner's live bot through publish-api and forwards the
question. When the bot does not know, is missing or is down, the reply says so politely and
the question is recorded as unanswered for the owner.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import feedback, messages, shared
from actions.bot_client import BotUnavailable, ask
from actions.common import GuardedAction, say
from actions.identity import SlackUser
from actions.publish_api import BotNotFound, PublishApiError, UserNotFound

logger = logging.getLogger(__name__)

# Slack writes a mention as <@U0123ABC> or <@U0123ABC|name>.
MENTION = re.compile(r"<@([UW][A-Z0-9]{1,31})(?:\|[^>]*)?>")


@dataclass(frozen=True)
class AskRequest:
    """Whose bot to ask (a Slack user id in the asker's team) and what."""

    owner_id: str
    question: str


def parse_ask(text: str) -> Optional[AskRequest]:
    """The first mention in `text` and the words after it; None without a mention."""
    match = MENTION.search(text or "")
    if not match:
        return None
    question = MENTION.sub(" ", text[match.end():])
    return AskRequest(match.group(1), " ".join(question.split()).lstrip(":,;- ").strip())


class ActionAskUser(GuardedAction):
    """Answers `ask @user <question>` with the owner's bot."""

    def name(self) -> str:
        return "action_ask_user"

    async def body(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                   asker: SlackUser) -> List[EventType]:
        request = parse_ask((tracker.latest_message or {}).get("text", ""))
        if request is None:
            say(dispatcher, messages.ASK_HOW)
            return []
        mention = f"<@{request.owner_id}>"
        if not request.question:
            say(dispatcher, messages.ask_needs_question(mention))
            return []
        # A mention names a user of the asker's workspace.
        owner = SlackUser(asker.team_id, request.owner_id)
        reply = await answer_for(owner, asker, request.question)
        if reply.answered is None:
            say(dispatcher, reply.text)
            return []
        reference = feedback.new_reference()
        say(dispatcher, reply.text, feedback.buttons(reference))
        return [feedback.remember(tracker, reference, reply.answered)]


@dataclass(frozen=True)
class Reply:
    """What to tell the asker; `answered` (owner ids and label, question, answer, topic id)
    when the bot answered, for the 👍/👎 buttons."""

    text: str
    answered: Optional[Dict[str, Any]] = None


async def answer_for(owner: SlackUser, asker: SlackUser, question: str) -> Reply:
    """The reply to `question` for `owner`'s bot; records it when the bot cannot answer, and
    logs it (with the topic that answered) when it can.

    Raises nothing but PublishApiError from the bot look-up.
    """
    label = f"<@{owner.user_id}>"
    try:
        bot = await shared.blocking(shared.publish_api().get_bot, owner.team_id, owner.user_id)
    except UserNotFound:
        return Reply(messages.unknown_owner(label))
    except BotNotFound:
        return Reply(messages.no_bot(label, await _record(owner, asker, question)))
    label = f"@{messages.escape(bot['display_name'])}" if bot.get("display_name") else label
    if not bot.get("endpoint"):
        return Reply(messages.no_bot(label, await _record(owner, asker, question)))
    return await _ask_bot(bot, owner, asker, question, label)


async def _ask_bot(bot: Dict[str, Any], owner: SlackUser, asker: SlackUser, question: str,
                   label: str) -> Reply:
    config = shared.settings()
    try:
        answer = await shared.blocking(ask, bot["endpoint"], config.BOT_AUTH_TOKEN, question,
                                        timeout=config.BOT_TIMEOUT_S)
    except BotUnavailable as error:
        logger.warning("bot of %s unavailable: %s", owner.key, error)
        await _report_down(owner, str(error))
        return Reply(messages.bot_down(label, await _record(owner, asker, question)))
    if answer.is_fallback or not answer.text:
        logger.info("bot of %s does not know a question from %s", owner.key, asker.key)
        return Reply(messages.bot_does_not_know(label, await _record(owner, asker, question)))
    topic_id = int(answer.topic) if answer.topic and answer.topic.isdigit() else None
    await _log_ask(owner, asker, topic_id)
    answered = {"owner_team_id": owner.team_id, "owner_user_id": owner.user_id,
                "owner_label": label, "question": question, "answer": answer.text,
                "topic_id": topic_id}
    return Reply(messages.owner_says(label, answer.text), answered)


async def _log_ask(owner: SlackUser, asker: SlackUser, topic_id: Optional[int]) -> None:
    """Logs an answered ask for the owner's counts (best effort: the answer matters more)."""
    try:
        await shared.blocking(shared.publish_api().record_ask, owner.team_id, owner.user_id,
                               asker.team_id, asker.user_id, topic_id)
    except PublishApiError as error:
        logger.info("logging an ask of %s failed: %s", owner.key, error)


async def _report_down(owner: SlackUser, error: str) -> None:
    """Tells publish-api the bot is down, so the owner's next publish restarts it (best effort)."""
    try:
        await shared.blocking(shared.publish_api().report_bot_down, owner.team_id,
                               owner.user_id, error)
    except PublishApiError as failure:
        logger.warning("reporting the bot of %s down failed: %s", owner.key, failure)


async def _record(owner: SlackUser, asker: SlackUser, question: str) -> bool:
    """Records an unanswered question; False (logged) when publish-api refuses or is down."""
    try:
        await shared.blocking(shared.publish_api().record_unanswered, owner.team_id,
                               owner.user_id, question, asker.team_id, asker.user_id)
    except PublishApiError as error:
        logger.warning("recording a question for %s failed: %s", owner.key, error)
        return False
    return True
