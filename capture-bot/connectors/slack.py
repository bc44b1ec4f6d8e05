"""Rasa's Slack connector, made safe for Slack's delivery habits and pointable at a local Slack.

Rasa 3.6's `SlackInput` hard-codes https://slack.com/api/, processes a retried event again
(unless the retry reason is `http_timeout`), answers a channel mention twice when it arrives as
both `message` and `app_mention`, and ignores a body whose Content-Type carries a charset.
`SlackConnector` keeps Rasa's signature check, parsing helpers and background processing, and
fixes those four. It also answers a button click delivered twice once, caps request bodies at
1 MB (Sanic would buffer 100 MB before the signature is checked) and keeps at most
`NAME_CACHE_SIZE` display names. Replies in a channel go into the asker's thread
(`thread_ts`), so talking to the concierge never floods a channel; replies in a DM stay flat.
Enable it in credentials.yml as `connectors.slack.SlackConnector`.

Users are identified by Slack team and user ids: the sender id is `<team>:<user>` (plus the
channel, depending on `conversation_granularity`) and the message metadata carries `team_id`,
`user_id` and, when Slack tells us, `display_name`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import time
from collections import OrderedDict
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Awaitable, Callable, Dict, Iterable, Optional

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.slack import SlackBot, SlackInput
from rasa.shared.exceptions import InvalidConfigException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from connectors import socket_mode

logger = logging.getLogger(__name__)

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
# Slack retries an event up to three times within about five minutes.
DEDUP_TTL_SECONDS = 15 * 60
DEDUP_MAX_KEYS = 20_000
PROFILE_TIMEOUT_SECONDS = 2.0
# Slack's largest payloads (an event with a 40 000-character message, a click on a message of
# 50 blocks) stay far below this; anything bigger is not from Slack.
MAX_BODY_BYTES = 1024 * 1024
NAME_CACHE_SIZE = 5_000
# On a stop, how long messages already acknowledged may take to be answered; below the 10 s
# that `docker stop` and our test harness allow before SIGKILL.
DRAIN_TIMEOUT_SECONDS = 8.0

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]

# A file shared in the DM becomes this message: the actions import it (actions/file_import.py).
IMPORT_FILE_INTENT = '/import_file{"file_id": "%s"}'
SLACK_FILE_ID = re.compile(r"^F[A-Z0-9]{1,31}$")


@dataclass(frozen=True)
class SlackSettings:
    """The connector's environment: bot token, signing secret, Web API base URL, and the app
    token that selects Socket Mode (see socket_mode.py)."""

    bot_token: str
    signing_secret: str
    api_url: str = DEFAULT_SLACK_API_URL
    app_token: Optional[str] = None

    @classmethod
    def from_env(cls, environ: Optional[Dict[str, str]] = None) -> SlackSettings:
        """Reads SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_API_URL and SLACK_APP_TOKEN.

        Raises:
            InvalidConfigException: a required variable is missing, the URL is not http(s) or
                SLACK_APP_TOKEN is not an app-level token.
        """
        env = os.environ if environ is None else environ
        api_url = env.get("SLACK_API_URL") or DEFAULT_SLACK_API_URL
        if not api_url.startswith(("http://", "https://")):
            raise InvalidConfigException("SLACK_API_URL must be an http(s) URL")
        app_token = socket_mode.app_token_from_env(env)
        return cls(
            bot_token=_required(env, "SLACK_BOT_TOKEN"),
            signing_secret=socket_mode.signing_secret(env) if app_token
            else _required(env, "SLACK_SIGNING_SECRET"),
            api_url=api_url if api_url.endswith("/") else api_url + "/",
            app_token=app_token,
        )


def _required(env: Any, name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise InvalidConfigException(f"{name} is not set: the Slack connector needs it")
    return value


class RecentKeys:
    """Remembers keys for a while, to recognise an event Slack delivers more than once."""

    def __init__(self, ttl_seconds: float = DEDUP_TTL_SECONDS, max_keys: int = DEDUP_MAX_KEYS):
        self._ttl = ttl_seconds
        self._max = max_keys
        self._seen: OrderedDict[str, float] = OrderedDict()

    def first_time(self, keys: Iterable[str]) -> bool:
        """Records `keys`; True unless one of them was recorded within the TTL."""
        now = time.monotonic()
        self._expire(now)
        keys = [key for key in keys if key]
        if any(key in self._seen for key in keys):
            return False
        for key in keys:
            self._seen[key] = now
        return True

    def _expire(self, now: float) -> None:
        while self._seen and (
            len(self._seen) > self._max or now - next(iter(self._seen.values())) > self._ttl
        ):
            self._seen.popitem(last=False)


class LruCache:
    """At most `size` entries; adding one more forgets the least recently used."""

    def __init__(self, size: int = NAME_CACHE_SIZE) -> None:
        self._size = size
        self._entries: OrderedDict[str, str] = OrderedDict()

    def get(self, key: str) -> Optional[str]:
        """The value of `key` (now the most recently used), or None."""
        if key not in self._entries:
            return None
        self._entries.move_to_end(key)
        return self._entries[key]

    def put(self, key: str, value: str) -> None:
        """Stores `value`, forgetting the least recently used entry when full."""
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class ConfigurableSlackBot(SlackBot):
    """Rasa's Slack output channel, talking to the Web API at a configurable base URL."""

    def __init__(self, token: str, api_url: str, **kwargs: Any) -> None:
        super().__init__(token, **kwargs)
        self.client = AsyncWebClient(token, base_url=api_url, proxy=self.proxy)


class SlackConnector(SlackInput):
    """Slack input channel: signed, de-duplicated events; replies through SLACK_API_URL."""

    def __init__(self, *args: Any, slack_api_url: str = DEFAULT_SLACK_API_URL,
                 name_cache_size: int = NAME_CACHE_SIZE, app_token: Optional[str] = None,
                 **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.app_token = app_token
        # Rasa's own retry filter drops an `http_timeout` retry even when the original never
        # arrived; de-duplication by event id and message timestamp covers every retry instead.
        self.errors_ignore_retry = ()
        self.slack_api_url = slack_api_url
        self._recent = RecentKeys()
        self._names = LruCache(name_cache_size)

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        """Builds the channel from the environment plus credentials.yml's behaviour switches.

        Raises:
            InvalidConfigException: SLACK_BOT_TOKEN or SLACK_SIGNING_SECRET is missing.
        """
        credentials = credentials or {}
        settings = SlackSettings.from_env()
        return cls(
            settings.bot_token,
            credentials.get("slack_channel"),
            credentials.get("proxy"),
            slack_retry_reason_header="x-slack-retry-reason",
            slack_retry_number_header="x-slack-retry-num",
            # Threads only where there is a thread to use: the metadata of a DM carries none.
            use_threads=True,
            slack_signing_secret=settings.signing_secret,
            conversation_granularity=credentials.get("conversation_granularity", "sender"),
            slack_api_url=settings.api_url,
            app_token=settings.app_token,
        )

    def get_output_channel(
        self, channel: Optional[str] = None, thread_id: Optional[str] = None
    ) -> OutputChannel:
        """The Slack output channel for replies, on the configured Web API."""
        return ConfigurableSlackBot(
            self.slack_token,
            self.slack_api_url,
            slack_channel=channel or self.slack_channel,
            thread_id=thread_id,
            proxy=self.proxy,
        )

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        """The webhook Slack calls: `/webhooks/slack/webhook` (and a health route); in Socket
        Mode, the Socket Mode connection instead."""
        if self.app_token:
            return socket_mode.blueprint(self, on_new_message, self.app_token, self.slack_api_url)
        slack_webhook = Blueprint("slack_webhook", __name__)

        @slack_webhook.listener("before_server_start")
        async def cap_body_size(app: Any, _: Any) -> None:
            # Sanic answers 413 to a larger body before reading it (the whole app: the
            # concierge serves nothing else that takes bodies).
            app.config.REQUEST_MAX_SIZE = MAX_BODY_BYTES

        @slack_webhook.listener("before_server_stop")
        async def finish_messages(_app: Any, _loop: Any) -> None:
            await self.drain()

        @slack_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @slack_webhook.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            return await self._handle(request, on_new_message)

        return slack_webhook

    async def drain(self, timeout: float = DRAIN_TIMEOUT_SECONDS) -> None:
        """Waits for the messages being handled. Slack got its 200 for each at once and will
        not send them again: a stop (deploy, restart) that cut them off would lose them."""
        pending = set(self._background_tasks)
        if not pending:
            return
        logger.info("Stopping: finishing %d message(s) first", len(pending))
        _done, unfinished = await asyncio.wait(pending, timeout=timeout)
        if unfinished:
            logger.warning("Stopped with %d message(s) unanswered after %.0f s",
                           len(unfinished), timeout)

    async def _handle(self, request: Request, on_new_message: OnNewMessage) -> HTTPResponse:
        if not self.is_request_from_slack_authentic(request):
            logger.warning("Rejected a Slack request: bad signature or stale timestamp")
            return response.text("invalid signature", status=HTTPStatus.BAD_REQUEST)
        media_type = _media_type(request.headers.get("content-type"))
        if media_type not in PARSERS:
            return response.text("unsupported content type",
                                 status=HTTPStatus.UNSUPPORTED_MEDIA_TYPE)
        try:
            payload = PARSERS[media_type](request)
        except (ValueError, TypeError, AttributeError):
            logger.warning("Ignored a malformed Slack request (%s)", media_type)
            return response.text("malformed request", status=HTTPStatus.BAD_REQUEST)
        if media_type == "application/json":
            return await self._handle_event(request, payload, on_new_message)
        return await self._handle_interaction(request, payload, on_new_message)

    async def _handle_event(
        self, request: Request, body: Dict[str, Any], on_new_message: OnNewMessage
    ) -> HTTPResponse:
        if body.get("type") == "url_verification":
            return response.json({"challenge": body.get("challenge")})
        event = body.get("event") or {}
        metadata = _event_metadata(body)
        file_id = _shared_file_id(body)
        if not (file_id or self._is_user_message(body)):
            return response.text("not a user message")
        if not self._is_supported_channel(body, metadata):
            return response.text("channel not supported")
        if not self._recent.first_time(_event_keys(body)):
            logger.info("Skipped a repeated Slack event %s", body.get("event_id"))
            return response.text("", headers={"X-Slack-No-Retry": "1"})
        text = (IMPORT_FILE_INTENT % file_id if file_id
                else unescape(self._sanitize_user_message(event.get("text", ""),
                                                          metadata["users"])))
        return await self._dispatch(request, on_new_message, text, metadata)

    async def _handle_interaction(
        self, request: Request, payload: Dict[str, Any], on_new_message: OnNewMessage
    ) -> HTTPResponse:
        if not self._is_interactive_message(payload):
            return response.text("interaction not supported")
        text = self._get_interactive_response(payload["actions"][0])
        if text is None:
            return response.text("User clicked link button")
        if not self._recent.first_time(_interaction_keys(payload)):
            logger.info("Skipped a repeated Slack interaction")
            return response.text("")
        return await self._dispatch(request, on_new_message, text, _interaction_metadata(payload))

    async def _dispatch(
        self, request: Request, on_new_message: OnNewMessage, text: str, metadata: Dict[str, Any]
    ) -> HTTPResponse:
        sender = f"{metadata['team_id']}:{metadata['user_id']}"
        conversation_id = self._get_conversation_id(
            sender, metadata.get("out_channel"), metadata.get("thread_id")
        )
        # Rasa acknowledges at once and runs this in a background task, so the profile
        # look-up and the actions never delay the answer Slack waits for.
        return await self.process_message(
            request, self._with_profile(on_new_message), text, conversation_id, metadata
        )

    def _with_profile(self, on_new_message: OnNewMessage) -> OnNewMessage:
        async def handle(message: UserMessage) -> Any:
            metadata = message.metadata if message.metadata is not None else {}
            name = await self._display_name(metadata.get("team_id"), metadata.get("user_id"))
            if name:
                metadata["display_name"] = name
            return await on_new_message(message)

        return handle

    async def _display_name(self, team_id: Optional[str], user_id: Optional[str]) -> str:
        key = f"{team_id}:{user_id}"
        name = self._names.get(key)
        if name is None and user_id:
            client = AsyncWebClient(
                self.slack_token, base_url=self.slack_api_url, timeout=PROFILE_TIMEOUT_SECONDS
            )
            try:
                name = _profile_name(await client.users_info(user=user_id))
            except (SlackApiError, aiohttp.ClientError, asyncio.TimeoutError) as error:
                logger.warning("users.info failed for %s: %s", key, type(error).__name__)
                return ""
            self._names.put(key, name)
        return name or ""


def unescape(text: str) -> str:
    """What the user typed: Slack sends `&`, `<` and `>` as `&amp;`, `&lt;` and `&gt;`
    (everything shown back is escaped again, by the actions)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _media_type(content_type: Optional[str]) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _json_body(request: Request) -> Dict[str, Any]:
    """An Events API body. Raises ValueError unless it is a JSON object."""
    body = json.loads(request.body)
    if not isinstance(body, dict):
        raise ValueError("not a JSON object")
    return body


def _form_payload(request: Request) -> Dict[str, Any]:
    """An interaction's `payload` form field. Raises ValueError unless it is a JSON object."""
    payload = json.loads(request.form.get("payload") or "")
    if not isinstance(payload, dict):
        raise ValueError("not a JSON object")
    return payload


PARSERS: Dict[str, Callable[[Request], Dict[str, Any]]] = {
    "application/json": _json_body,
    "application/x-www-form-urlencoded": _form_payload,
}


def _event_keys(body: Dict[str, Any]) -> list:
    """Keys naming one Slack message: a retry repeats the event id; a mention delivered as
    both `message` and `app_mention` repeats channel and timestamp."""
    event = body.get("event") or {}
    message_key = None
    if event.get("channel") and event.get("ts"):
        message_key = f"msg:{_team_of(body)}:{event['channel']}:{event['ts']}"
    return [f"event:{body['event_id']}" if body.get("event_id") else None, message_key]


def _interaction_keys(payload: Dict[str, Any]) -> list:
    """Keys naming one click: Slack gives each a `trigger_id`, and each action an
    `action_ts`; a click delivered twice repeats both."""
    user = payload.get("user") or {}
    action_ts = (payload.get("actions") or [{}])[0].get("action_ts")
    return [f"trigger:{payload['trigger_id']}" if payload.get("trigger_id") else None,
            f"action:{user.get('team_id')}:{user.get('id')}:{action_ts}" if action_ts else None]


def _team_of(body: Dict[str, Any]) -> str:
    event = body.get("event") or {}
    return event.get("user_team") or event.get("team") or body.get("team_id") or ""


def _event_metadata(body: Dict[str, Any]) -> Dict[str, Any]:
    event = body.get("event") or {}
    users = list(body.get("authed_users") or [])
    if not users and body.get("authorizations"):
        users.append(body["authorizations"][0].get("user_id"))
    dm = event.get("channel_type") == "im" or _is_dm(event.get("channel"))
    return {
        "out_channel": event.get("channel"),
        "thread_id": None if dm else event.get("thread_ts", event.get("ts")),
        "users": users,
        "team_id": _team_of(body),
        "user_id": event.get("user", ""),
        "channel_type": event.get("channel_type"),
    }


def _shared_file_id(body: Dict[str, Any]) -> Optional[str]:
    """The id of the (first) file a user shared in a DM with the concierge, else None."""
    event = body.get("event") or {}
    files = event.get("files") or [{}]
    file_id = files[0].get("id") if isinstance(files[0], dict) else None
    if (event.get("type") == "message" and event.get("subtype") == "file_share"
            and event.get("channel_type") == "im" and not event.get("bot_id")
            and isinstance(file_id, str) and SLACK_FILE_ID.match(file_id)):
        return file_id
    return None


def _interaction_metadata(payload: Dict[str, Any]) -> Dict[str, Any]:
    user = payload.get("user") or {}
    message = payload.get("message") or {}
    channel = (payload.get("channel") or {}).get("id")
    return {
        "out_channel": channel,
        "thread_id": None if _is_dm(channel) else message.get("thread_ts", message.get("ts")),
        "users": [user.get("id")] if user.get("id") else [],
        "team_id": user.get("team_id") or (payload.get("team") or {}).get("id", ""),
        "user_id": user.get("id", ""),
    }


def _is_dm(channel: Optional[str]) -> bool:
    """Slack's ids of direct-message channels start with D."""
    return str(channel or "").startswith("D")


def _profile_name(answer: Any) -> str:
    user = answer.get("user") or {}
    profile = user.get("profile") or {}
    return (
        profile.get("display_name") or profile.get("real_name") or user.get("real_name")
        or user.get("name") or ""
    )
