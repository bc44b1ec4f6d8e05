"""Slack's file API for the concierge: downloads a file a user shared in the DM, and uploads
an export of their topics there.

`files.info` (bot token, `files:read` scope) says who shared the file, its name, type and size;
the content is then read from its `url_private_download` with the same bot token. Because that
request carries the token, it goes only to the Web API's own host or Slack's `files.` host of
it, never where a redirect points, and reads at most `max_bytes` (a file whose declared size is
bigger is refused before any download). Only the sharer's own files are read: a file id typed
into a button payload by someone else is refused. The token is never logged.

An upload goes the way Slack asks apps to upload now (slack_sdk's `files_upload_v2`:
`files.getUploadURLExternal`, the bytes to the URL it returns, then
`files.completeUploadExternal` sharing the file in the user's DM; scope `files:write`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Dict, Optional
from urllib.parse import urlsplit

import requests
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

logger = logging.getLogger(__name__)

CHUNK_BYTES = 64 * 1024
# publish-api reads these media types (docs/publish-api.md "Import and export").
MEDIA_TYPES = {".csv": "text/csv", ".json": "application/json"}
MIMETYPES = {"text/csv": "text/csv", "application/json": "application/json"}


class SlackFileError(Exception):
    """The file could not be read; the subclass says why, the message is for logs, `name` is
    the file's name when Slack told it."""

    def __init__(self, message: str, name: str = "") -> None:
        super().__init__(message)
        self.name = name


class FileUnavailable(SlackFileError):
    """Slack refused `files.info` or the download, or the file is not the sender's."""


class FileTooLarge(SlackFileError):
    """The file is bigger than the cap."""


class UnsupportedFile(SlackFileError):
    """Neither CSV nor JSON."""


class UploadFailed(SlackFileError):
    """Slack refused an upload, or could not be reached."""


@dataclass(frozen=True)
class SharedFile:
    """A downloaded file: its name as shown in Slack, its media type and its bytes."""

    name: str
    media_type: str
    data: bytes


class SlackFiles:
    """Slack's file API for one bot token."""

    def __init__(self, api_url: str, token: str, max_bytes: int, timeout_s: float = 10.0,
                 session: Optional[requests.Session] = None) -> None:
        self._api_url = api_url if api_url.endswith("/") else api_url + "/"
        self._headers = {"Authorization": f"Bearer {token}"}
        self._max = max_bytes
        self._timeout = timeout_s
        self._session = session or requests.Session()
        self._client = WebClient(token=token, base_url=self._api_url, timeout=int(timeout_s))

    def upload_to_dm(self, user_id: str, name: str, data: bytes, title: str) -> str:
        """Shares `data` as the file `name` in `user_id`'s DM with the bot; returns its id.

        Raises:
            UploadFailed.
        """
        try:
            channel = self._client.conversations_open(users=user_id)["channel"]["id"]
            answer = self._client.files_upload_v2(channel=channel, filename=name, content=data,
                                                  title=title)
        except SlackApiError as error:
            raise UploadFailed(f"upload of {name}: {error.response.get('error')}", name) \
                from None
        except (SlackClientError, OSError) as error:
            raise UploadFailed(f"upload of {name} failed ({type(error).__name__})", name) \
                from None
        return str((answer.get("file") or {}).get("id") or "")

    def download(self, file_id: str, user_id: str) -> SharedFile:
        """The file `file_id`, shared by `user_id`.

        Raises:
            FileUnavailable, FileTooLarge, UnsupportedFile.
        """
        info = self._info(file_id)
        if info.get("user") != user_id:
            raise FileUnavailable(f"file {file_id} was not shared by {user_id}")
        name = str(info.get("name") or file_id)
        media_type = media_type_of(name, str(info.get("mimetype") or ""))
        size = info.get("size")
        if isinstance(size, int) and size > self._max:
            raise FileTooLarge(f"file {file_id} has {size} bytes", name)
        url = str(info.get("url_private_download") or "")
        if not self._is_slack_file_url(url):
            raise FileUnavailable(f"file {file_id} has no download URL on Slack's host")
        return SharedFile(name, media_type, self._read(url, file_id, name))

    def _info(self, file_id: str) -> Dict[str, Any]:
        try:
            response = self._session.post(self._api_url + "files.info", data={"file": file_id},
                                          headers=self._headers, timeout=self._timeout)
            answer = response.json()
        except (requests.RequestException, ValueError) as error:
            raise FileUnavailable(f"files.info failed ({type(error).__name__})") from None
        if not answer.get("ok"):
            raise FileUnavailable(f"files.info: {answer.get('error')}")
        return answer.get("file") or {}

    def _is_slack_file_url(self, url: str) -> bool:
        api, file = urlsplit(self._api_url), urlsplit(url)
        return file.scheme == api.scheme and file.netloc in (api.netloc, "files." + api.netloc)

    def _read(self, url: str, file_id: str, name: str) -> bytes:
        try:
            with self._session.get(url, headers=self._headers, timeout=self._timeout,
                                   stream=True, allow_redirects=False) as response:
                if response.status_code != 200 or "text/html" in response.headers.get(
                        "Content-Type", ""):
                    # Slack answers a login page (HTML) when the token may not read the file.
                    raise FileUnavailable(f"download of {file_id}: HTTP {response.status_code}")
                return self._capped(response, file_id, name)
        except requests.RequestException as error:
            raise FileUnavailable(f"download of {file_id} failed ({type(error).__name__})") \
                from None

    def _capped(self, response: requests.Response, file_id: str, name: str) -> bytes:
        data = bytearray()
        for chunk in response.iter_content(CHUNK_BYTES):
            data += chunk
            if len(data) > self._max:
                raise FileTooLarge(f"download of {file_id} passed {self._max} bytes", name)
        return bytes(data)


def media_type_of(name: str, mimetype: str) -> str:
    """The media type publish-api reads for a file of this name and Slack mimetype.

    Raises UnsupportedFile for anything but CSV and JSON.
    """
    for suffix, media_type in MEDIA_TYPES.items():
        if name.lower().endswith(suffix):
            return media_type
    if mimetype in MIMETYPES:
        return MIMETYPES[mimetype]
    raise UnsupportedFile(f"{name!r} ({mimetype}) is neither CSV nor JSON", name)
