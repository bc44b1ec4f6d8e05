"""Exporting the sender's topics as a file shared in their DM ("export my topics", "... as
json"): publish-api writes the file (docs/publish-api.md "Import and export"), the same file
its import reads back, so sharing it in the DM again imports it (file_import.py).
"""

from __future__ import annotations

import logging
from typing import List

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import messages, shared
from actions.common import GuardedAction, ensure_owner, say
from actions.identity import SlackUser
from actions.slack_files import SlackFiles, UploadFailed

logger = logging.getLogger(__name__)

# The formats publish-api exports; the first is the default ("export my topics").
FORMATS = ("csv", "json")


class ActionExportTopics(GuardedAction):
    """Shares the sender's topics as a CSV (or JSON) file in their DM."""

    def name(self) -> str:
        return "action_export_topics"

    async def body(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                   user: SlackUser) -> List[EventType]:
        config = shared.settings()
        if not config.SLACK_BOT_TOKEN:
            say(dispatcher, messages.EXPORT_NOT_SET_UP)
            return []
        events = await ensure_owner(tracker, user)
        api = shared.publish_api()
        listed = await shared.blocking(api.list_topics, user.team_id, user.user_id)
        count = len(listed.get("topics") or [])
        if not count:
            say(dispatcher, messages.NOTHING_TO_EXPORT, messages.MAIN_BUTTONS[:1])
            return events
        file_format = _format(tracker)
        data = await shared.blocking(api.export_topics, user.team_id, user.user_id,
                                      file_format)
        files = SlackFiles(config.SLACK_API_URL, config.SLACK_BOT_TOKEN, config.IMPORT_MAX_BYTES)
        name = f"topics.{file_format}"
        try:
            await shared.blocking(files.upload_to_dm, user.user_id, name, data,
                                   messages.export_title(count))
        except UploadFailed as error:
            logger.info("%s export: %s", user.key, error)
            say(dispatcher, messages.EXPORT_FAILED)
            return events
        logger.info("%s exported %d topics as %s", user.key, count, file_format)
        say(dispatcher, messages.exported(count, file_format))
        return events


def _format(tracker: Tracker) -> str:
    """The format the message named (the `file_format` entity), else the default."""
    named = str(next(tracker.get_latest_entity_values("file_format"), "") or "").lower()
    return named if named in FORMATS else FORMATS[0]
