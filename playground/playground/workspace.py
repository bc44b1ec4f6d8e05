"""The workspace in memory: people, channels and their messages, as Slack would hold them.

One team, one bot (the concierge), each person's DM with it (`D<user id without U>`) and one
public channel, #general. A change bumps `version`, so the page can ask "anything new?".
Posting to a user id posts to that person's DM with the concierge, as Slack does for a bot.
Files the bot uploads (an export of someone's topics) are kept with the message that shared
them, until the playground stops.
"""

from __future__ import annotations

import itertools
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

GENERAL = "C0GENERAL"
NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9 ._-]{0,29}$")
MAX_PEOPLE = 50
# Uploads kept at most (the oldest go first): the playground holds them in memory.
MAX_UPLOADS = 200
MAX_UPLOAD_BYTES = 5_000_000


class WorkspaceError(ValueError):
    """A request the workspace refuses; `code` is Slack's error code for it."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Person:
    """Someone in the workspace: Slack user id, handle (for @mentions) and display name."""

    user_id: str
    handle: str
    display_name: str

    @property
    def dm(self) -> str:
        """The id of this person's DM with the concierge."""
        return "D" + self.user_id[1:]


@dataclass
class Upload:
    """A file the bot uploads: announced (`files.getUploadURLExternal`), then its bytes, then
    shared in a channel (`files.completeUploadExternal`). `secret` makes its upload URL one
    only Slack's answer knows, as Slack's upload URLs are."""

    file_id: str
    name: str
    length: int
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    content: Optional[bytes] = None
    title: str = ""
    channel: Optional[str] = None


@dataclass
class Message:
    """One message: Slack's `ts` names it within its channel."""

    ts: str
    channel: str
    user: str
    text: str
    blocks: List[Dict[str, Any]] = field(default_factory=list)
    ephemeral_for: Optional[str] = None
    is_note: bool = False  # a note of the playground's own, such as "not delivered"
    thread_ts: Optional[str] = None  # a reply in the thread of that message
    files: List[Upload] = field(default_factory=list)


@dataclass
class Workspace:
    """People, channels and messages, safe to use from several threads."""

    team_id: str
    bot_user_id: str = "U0CONCIERGE"
    bot_name: str = "concierge"
    people: Dict[str, Person] = field(default_factory=dict)
    messages: Dict[str, List[Message]] = field(default_factory=dict)
    uploads: Dict[str, Upload] = field(default_factory=dict)
    version: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._ts = itertools.count(1)

    def add_person(self, display_name: str) -> Person:
        """Adds someone by name; their id and handle derive from it.

        Raises:
            WorkspaceError: the name is not a plain name, is taken, or the workspace is full.
        """
        display_name = display_name.strip()
        if not NAME_PATTERN.match(display_name):
            raise WorkspaceError("invalid_name", "A name starts with a letter and has at most 30 "
                                 "letters, digits, spaces, dots, dashes or underscores.")
        handle = re.sub(r"[^a-z0-9._-]", "", display_name.lower())
        with self._lock:
            if any(p.handle == handle for p in self.people.values()) or handle == self.bot_name:
                raise WorkspaceError("name_taken", f"@{handle} is already in the workspace.")
            if len(self.people) >= MAX_PEOPLE:
                raise WorkspaceError("too_many_people", f"At most {MAX_PEOPLE} people.")
            person = Person(self._new_user_id(handle), handle, display_name)
            self.people[person.user_id] = person
            self._touch()
            return person

    def _new_user_id(self, handle: str) -> str:
        base = "U" + (re.sub(r"[^A-Z0-9]", "", handle.upper())[:10] or "X")
        candidates = itertools.chain([base], (f"{base}{n}" for n in itertools.count(2)))
        return next(c for c in candidates if c not in self.people and c != self.bot_user_id)

    def person(self, user_id: str) -> Person:
        """Raises WorkspaceError (user_not_found) for someone not in the workspace."""
        with self._lock:
            if user_id not in self.people:
                raise WorkspaceError("user_not_found", f"No one has the id {user_id}.")
            return self.people[user_id]

    def by_handle(self, handle: str) -> Optional[Person]:
        """The person @`handle` names (case-insensitive), or None."""
        with self._lock:
            return next((p for p in self.people.values() if p.handle == handle.lower()), None)

    def channel_of(self, channel: str) -> str:
        """The channel a message to `channel` lands in: a user id means their DM.

        Raises:
            WorkspaceError: channel_not_found.
        """
        with self._lock:
            if channel == GENERAL:
                return channel
            for person in self.people.values():
                if channel in (person.user_id, person.dm):
                    return person.dm
        raise WorkspaceError("channel_not_found", f"No channel {channel}.")

    def post(self, channel: str, user: str, text: str,
             blocks: Optional[List[Dict[str, Any]]] = None, ephemeral_for: Optional[str] = None,
             is_note: bool = False, thread_ts: Optional[str] = None) -> Message:
        """Adds a message to `channel` (resolved by channel_of); a reply in a thread is shown
        in the channel, marked as such. Raises WorkspaceError."""
        with self._lock:
            channel = self.channel_of(channel)
            message = Message(self._next_ts(), channel, user, text, list(blocks or []),
                              ephemeral_for, is_note, thread_ts or None)
            self.messages.setdefault(channel, []).append(message)
            self._touch()
            return message

    def update(self, channel: str, ts: str, text: str,
               blocks: Optional[List[Dict[str, Any]]] = None) -> Message:
        """Replaces a message's text and blocks. Raises WorkspaceError (message_not_found)."""
        with self._lock:
            channel = self.channel_of(channel)
            for message in self.messages.get(channel, []):
                if message.ts == ts:
                    message.text, message.blocks = text, list(blocks or [])
                    self._touch()
                    return message
        raise WorkspaceError("message_not_found", f"No message {ts} in {channel}.")

    def start_upload(self, name: str, length: int) -> Upload:
        """Announces a file of `length` bytes. Raises WorkspaceError (invalid_arguments)."""
        if not name or not 0 < length <= MAX_UPLOAD_BYTES:
            raise WorkspaceError("invalid_arguments", "A file needs a name and 1 byte to 5 MB.")
        with self._lock:
            upload = Upload(f"F{next(self._ts):08d}", name, length)
            self.uploads[upload.file_id] = upload
            while len(self.uploads) > MAX_UPLOADS:
                del self.uploads[next(iter(self.uploads))]
            return upload

    def upload_length(self, file_id: str, secret: str) -> int | None:
        """The length an upload URL waits for, or None if it is unknown, used, or the secret is
        not its own: checked before a byte of the body is read."""
        with self._lock:
            upload = self.uploads.get(file_id)
            if (upload is None or upload.content is not None
                    or not secrets.compare_digest(secret, upload.secret)):
                return None
            return upload.length

    def receive_upload(self, file_id: str, secret: str, data: bytes) -> bool:
        """Stores the bytes of an announced upload; False if unknown, used or the wrong size."""
        with self._lock:
            upload = self.uploads.get(file_id)
            if (upload is None or upload.content is not None or len(data) != upload.length
                    or not secrets.compare_digest(secret, upload.secret)):
                return False
            upload.content = data
            return True

    def share_uploads(self, titles: Dict[str, str], channel: str, user: str) -> Message:
        """Shares received uploads (id → title) in `channel` as one message by `user`.

        Raises:
            WorkspaceError: file_not_found (unknown or not received), channel_not_found.
        """
        with self._lock:
            uploads = [self.uploads.get(file_id) for file_id in titles]
            if not uploads or any(u is None or u.content is None for u in uploads):
                raise WorkspaceError("file_not_found", "No such uploaded file.")
            message = self.post(channel, user, "")
            for upload in uploads:
                upload.title = titles[upload.file_id] or upload.name
                upload.channel = message.channel
            message.files = uploads
            return message

    def shared_file(self, file_id: str, viewer: str) -> Upload:
        """A shared upload that `viewer` can see. Raises WorkspaceError (file_not_found)."""
        with self._lock:
            upload = self.uploads.get(file_id)
            person = self.people.get(viewer)
            if upload is None or upload.channel is None or person is None or \
                    upload.channel not in (GENERAL, person.dm):
                raise WorkspaceError("file_not_found", "No such file here.")
            return upload

    def find(self, channel: str, ts: str) -> Message:
        """The message `ts` of `channel`. Raises WorkspaceError (message_not_found)."""
        with self._lock:
            for message in self.messages.get(self.channel_of(channel), []):
                if message.ts == ts:
                    return message
        raise WorkspaceError("message_not_found", f"No message {ts} in {channel}.")

    def visible(self, channel: str, viewer: str) -> List[Message]:
        """The messages of `channel` that `viewer` sees (others' ephemeral ones left out)."""
        with self._lock:
            return [m for m in self.messages.get(self.channel_of(channel), [])
                    if m.ephemeral_for in (None, viewer)]

    def name_of(self, user_id: str) -> str:
        """The display name for a user id (the concierge's too); the id itself if unknown."""
        if user_id == self.bot_user_id:
            return self.bot_name
        with self._lock:
            person = self.people.get(user_id)
        return person.display_name if person else user_id

    def _next_ts(self) -> str:
        # Slack's ts: seconds.micro-ish, unique and increasing within a channel.
        return f"{int(time.time())}.{next(self._ts):06d}"

    def _touch(self) -> None:
        self.version += 1
