"""The publish action: asks publish-api to publish the owner's topics as their bot.

publish-broker tells the owner in Slack when the bot is live or why it failed; this action
only reports that publishing started (or why it could not).
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import messages, shared
from actions.bot_client import is_up
from actions.common import GuardedAction, ensure_owner, say
from actions.identity import SlackUser
from actions.publish_api import NothingToPublish, QueueUnavailable

logger = logging.getLogger(__name__)

IN_PROGRESS = frozenset({"queued", "training", "deploying"})


class ActionPublish(GuardedAction):
    """Publishes all topics (the user already said yes)."""

    def name(self) -> str:
        return "action_publish"

    async def body(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                   user: SlackUser) -> List[EventType]:
        events = await ensure_owner(tracker, user)
        try:
            job, queued = await shared.blocking(shared.publish_api().publish,
                                                 user.team_id, user.user_id)
        except NothingToPublish:
            say(dispatcher, messages.NOTHING_TO_PUBLISH, messages.MAIN_BUTTONS[:1])
            return events
        except QueueUnavailable:
            say(dispatcher, messages.PUBLISH_QUEUE_DOWN)
            return events
        if not queued and job.get("state") == "live" and not await _bot_is_up(user):
            # Nothing changed, but the live bot is gone (e.g. its host restarted): redeploy it.
            await shared.blocking(shared.publish_api().report_bot_down, user.team_id,
                                   user.user_id, "not answering when its owner published")
            job, queued = await shared.blocking(shared.publish_api().publish,
                                                 user.team_id, user.user_id)
        logger.info("%s publish: job %s %s", user.key, job.get("id"), job.get("state"))
        say(dispatcher, _wording(job, queued))
        return events


async def _bot_is_up(user: SlackUser) -> bool:
    bot = await shared.blocking(shared.publish_api().get_bot, user.team_id, user.user_id)
    if not bot.get("endpoint"):
        return True  # retired on purpose: nothing to restart
    config = shared.settings()
    return await shared.blocking(is_up, bot["endpoint"], config.BOT_AUTH_TOKEN,
                                  timeout=config.BOT_TIMEOUT_S)


def _wording(job: Dict[str, Any], queued: bool) -> str:
    if queued:
        topic_count = job.get("topic_count")
        return messages.publishing_started(topic_count if isinstance(topic_count, int) else None)
    if job.get("state") in IN_PROGRESS:
        return messages.ALREADY_PUBLISHING
    return messages.NOTHING_CHANGED
