"""Importing topics from a CSV or JSON file shared in the DM (docs/publish-api.md "Import and
export" describes the files).

The connector turns a file share into `/import_file{"file_id": ...}`. The preview action
downloads the file (slack_files.py: the sender's own file only, size-capped) and shows
publish-api's dry run: what would be added and changed, or the problems by row, with Import /
Cancel. Import downloads the file again (nothing of it is kept in the conversation) and imports
it in merge mode, all or nothing; publishing stays the owner's step.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import messages, shared
from actions.common import GuardedAction, ensure_owner, say
from actions.identity import SlackUser
from actions.publish_api import ImportInvalid, Rejected, TooLarge
from actions.slack_files import (
    FileTooLarge,
    SharedFile,
    SlackFileError,
    SlackFiles,
    UnsupportedFile,
)

logger = logging.getLogger(__name__)

# Slack file ids: "F" and capitals or digits. Anything else never reaches Slack or a payload.
FILE_ID = re.compile(r"^F[A-Z0-9]{1,31}$")


class ActionPreviewFileImport(GuardedAction):
    """Shows what importing the shared file would change, with Import / Cancel."""

    def name(self) -> str:
        return "action_preview_file_import"

    async def body(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                   user: SlackUser) -> List[EventType]:
        file_id = _file_id(tracker)
        upload = await _download(dispatcher, file_id, user)
        if upload is None:
            return []
        events = await ensure_owner(tracker, user)
        report = await _import(dispatcher, upload, user, dry_run=True)
        if report is None:
            return events
        if report.get("errors"):
            say(dispatcher, messages.import_problems(upload.name, report["errors"],
                                                     report.get("error_count")))
        else:
            say(dispatcher, messages.import_preview(upload.name, report),
                [messages.import_button(str(file_id)), messages.IMPORT_BUTTONS_CANCEL])
        return events


class ActionFileImport(GuardedAction):
    """Imports the shared file (the user clicked Import)."""

    def name(self) -> str:
        return "action_file_import"

    async def body(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                   user: SlackUser) -> List[EventType]:
        upload = await _download(dispatcher, _file_id(tracker), user)
        if upload is None:
            return []
        events = await ensure_owner(tracker, user)
        report = await _import(dispatcher, upload, user, dry_run=False)
        if report is not None:
            logger.info("%s imported a file: %s", user.key, messages.import_counts(report))
            say(dispatcher, messages.imported(upload.name, report), messages.MAIN_BUTTONS[1:3])
        return events


def _file_id(tracker: Tracker) -> Optional[str]:
    value = next(tracker.get_latest_entity_values("file_id"), None)
    return value if isinstance(value, str) and FILE_ID.match(value) else None


async def _download(dispatcher: CollectingDispatcher, file_id: Optional[str],
                    user: SlackUser) -> Optional[SharedFile]:
    """The file, or None once the user has been told why not."""
    config = shared.settings()
    if not config.SLACK_BOT_TOKEN:
        say(dispatcher, messages.IMPORT_NOT_SET_UP)
        return None
    if file_id is None:
        say(dispatcher, messages.IMPORT_NO_FILE)
        return None
    files = SlackFiles(config.SLACK_API_URL, config.SLACK_BOT_TOKEN, config.IMPORT_MAX_BYTES)
    try:
        return await shared.blocking(files.download, file_id, user.user_id)
    except UnsupportedFile as error:
        say(dispatcher, messages.import_unsupported(_name_in(error)))
    except FileTooLarge as error:
        say(dispatcher, messages.import_too_large(_name_in(error), config.IMPORT_MAX_BYTES))
    except SlackFileError as error:
        logger.info("%s shared %s: %s", user.key, file_id, error)
        say(dispatcher, messages.IMPORT_UNAVAILABLE)
    return None


def _name_in(error: SlackFileError) -> str:
    return error.name or "that file"


async def _import(dispatcher: CollectingDispatcher, upload: SharedFile, user: SlackUser,
                  dry_run: bool) -> Optional[Dict[str, Any]]:
    """publish-api's report, or None once the user has been told the file's problems."""
    try:
        return await shared.blocking(shared.publish_api().import_topics, user.team_id,
                                      user.user_id, upload.data, upload.media_type, dry_run)
    except Rejected as error:
        say(dispatcher, _refusal(upload.name, error))
    return None


def _refusal(name: str, error: Rejected) -> str:
    if isinstance(error, ImportInvalid) and error.details:
        return messages.import_problems(name, error.details)
    if isinstance(error, TooLarge):
        return messages.import_too_large(name, shared.settings().IMPORT_MAX_BYTES)
    return messages.import_unreadable(name, str(error).split(": ", 1)[-1])
