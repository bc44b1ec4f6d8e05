"""Rasa's Slack connector, made safe for Slack's delivery habits and pointable at a local Slack.

Rasa 3.6's `SlackInput` hard-codes https://slack.com/api/, processes a retried event again
(unless the retry reason is `http_timeout`), answers a channel mention twice when it arrives as
both `message` and `app_mention`, and ignores a body whose Content-Type carries a charset.
`SlackConnector` keeps Rasa's signature check, parsing helpers and background processing, and
fixes those four. It also answers a button click delivered twice once, caps request bodies at
1 MB (Sanic would buffer 100 MB before the signature is checked) and keeps at most
`NAME_CACHE_SIZE` display names. Replies in a channel go into the asker's thread
(`thread_ts`), so talking to the concierge never floods a channel; replies in a DM stay flat.
A clicked message is updated as Slack apps do (`chat.update`): the row of buttons clicked becomes
what was chosen ("✔ Publish all topics"). Enable it in credentials.yml as
`connectors.slack.SlackConnector`.

This module is the webhook and the input channel; beside it: settings.py (the environment),
payloads.py (reading Slack's requests), dedup.py (deliveries seen before), profiles.py (display
names), output.py (replies) and socket_mode.py (Socket Mode instead of the webhook).

Users are identified by Slack team and user ids: the sender id is `<team>:<user>` (plus the
channel, depending on `conversation_granularity`) and the message metadata carries `team_id`,
`user_id` and, when Slack tells us, `display_name`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from http import HTTPStatus
from typing import Any, Awaitable, Callable, Dict, Optional, Set

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.slack import SlackInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from connectors import logs, payloads, socket_mode
from connectors.dedup import RecentKeys, event_keys, interaction_keys
from connectors.output import ConfigurableSlackBot
from connectors.profiles import NAME_CACHE_SIZE, DisplayNames
from connectors.settings import load_settings

logger = logging.getLogger(__name__)

# Slack's largest payloads (an event with a 40 000-character message, a click on a message of
# 50 blocks) stay far below this; anything bigger is not from Slack.
MAX_BODY_BYTES = 1024 * 1024
# On a stop, how long messages already acknowledged may take to be answered; below the 10 s
# that `docker stop` and our test harness allow before SIGKILL.
DRAIN_TIMEOUT_SECONDS = 8.0

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


class SlackConnector(SlackInput):
    """Slack input channel: signed, de-duplicated events; replies through SLACK_API_URL."""

    def __init__(self, *args: Any, slack_api_url: str, name_cache_size: int = NAME_CACHE_SIZE,
                 app_token: Optional[str] = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.app_token = app_token
        # Rasa's own retry filter drops an `http_timeout` retry even when the original never
        # arrived; de-duplication by event id and message timestamp covers every retry instead.
        self.errors_ignore_retry = ()
        self.slack_api_url = slack_api_url
        self._recent = RecentKeys()
        self.names = DisplayNames(self.slack_token, slack_api_url, name_cache_size)
        self._web = AsyncWebClient(self.slack_token, base_url=slack_api_url)
        self._updates: Set[asyncio.Task] = set()

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        """Builds the channel from the environment plus credentials.yml's behaviour switches.

        Raises:
            SettingsError: a variable is missing or invalid (settings.py names each).
        """
        credentials = credentials or {}
        settings = load_settings()
        logs.use_product_format()
        return cls(
            settings.SLACK_BOT_TOKEN,
            credentials.get("slack_channel"),
            credentials.get("proxy"),
            slack_retry_reason_header="x-slack-retry-reason",
            slack_retry_number_header="x-slack-retry-num",
            # Threads only where there is a thread to use: the metadata of a DM carries none.
            use_threads=True,
            slack_signing_secret=settings.SLACK_SIGNING_SECRET,
            conversation_granularity=credentials.get("conversation_granularity", "sender"),
            slack_api_url=settings.SLACK_API_URL,
            app_token=settings.SLACK_APP_TOKEN,
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
        media_type = payloads.media_type(request.headers.get("content-type"))
        if media_type not in payloads.PARSERS:
            return response.text("unsupported content type",
                                 status=HTTPStatus.UNSUPPORTED_MEDIA_TYPE)
        try:
            payload = payloads.PARSERS[media_type](request)
        except (ValueError, TypeError, AttributeError):
            logger.warning("Ignored a malformed Slack request (%s)", media_type)
            return response.text("malformed request", status=HTTPStatus.BAD_REQUEST)
        if media_type == "application/json":
            return await self._handle_event(request, payload, on_new_message)
        return await self._handle_interaction(request, payload, on_new_message)

    async def _handle_event(
        self, request: Request, body: Dict[str, Any], on_new_message: OnNewMessage
    ) -> HTTPResponse:
        started = time.perf_counter()
        answer = await self._answer_event(request, body, on_new_message)
        logs.delivery("event", body.get("event_id"), (body.get("event") or {}).get("type"),
                      request, answer, started)
        return answer

    async def _answer_event(
        self, request: Request, body: Dict[str, Any], on_new_message: OnNewMessage
    ) -> HTTPResponse:
        if body.get("type") == "url_verification":
            return response.json({"challenge": body.get("challenge")})
        event = body.get("event") or {}
        metadata = payloads.event_metadata(body)
        file_id = payloads.shared_file_id(body)
        if not (file_id or self._is_user_message(body)):
            return response.text("not a user message")
        if not self._is_supported_channel(body, metadata):
            return response.text("channel not supported")
        if not self._recent.first_time(event_keys(body)):
            return response.text("", headers={"X-Slack-No-Retry": "1"})
        if file_id:
            text = payloads.IMPORT_FILE_INTENT % file_id
        else:
            text = payloads.unescape(
                self._sanitize_user_message(event.get("text", ""), metadata["users"]))
        return await self._dispatch(request, on_new_message, text, metadata)

    async def _handle_interaction(
        self, request: Request, payload: Dict[str, Any], on_new_message: OnNewMessage
    ) -> HTTPResponse:
        started = time.perf_counter()
        answer = await self._answer_interaction(request, payload, on_new_message)
        logs.delivery("interaction", payload.get("trigger_id"), payload.get("type"), request,
                      answer, started)
        return answer

    async def _answer_interaction(
        self, request: Request, payload: Dict[str, Any], on_new_message: OnNewMessage
    ) -> HTTPResponse:
        if not self._is_interactive_message(payload):
            return response.text("interaction not supported")
        text = self._get_interactive_response(payload["actions"][0])
        if text is None:
            return response.text("User clicked link button")
        if not self._recent.first_time(interaction_keys(payload)):
            # Slack reads this header on events only; here it tells the log line (logs.py).
            return response.text("", headers={"X-Slack-No-Retry": "1"})
        metadata = payloads.interaction_metadata(payload)
        self._show_choice(payloads.chosen(payload))
        return await self._dispatch(request, on_new_message, text, metadata)

    def _show_choice(self, update: Optional[Dict[str, Any]]) -> None:
        """The clicked message shows what was chosen instead of its buttons (in the background:
        Slack's acknowledgement never waits for it), so an old button cannot be clicked again."""
        if update is None:
            return
        task = asyncio.ensure_future(self._update_message(update))
        self._updates.add(task)  # a reference until it is done: the loop keeps only weak ones
        task.add_done_callback(self._updates.discard)

    async def _update_message(self, update: Dict[str, Any]) -> None:
        try:
            await self._web.chat_update(**update)
        except (SlackApiError, aiohttp.ClientError, asyncio.TimeoutError) as error:
            logger.warning("Could not show the choice made on message %s (%s)",
                           update.get("ts"), getattr(error, "response", {}).get("error")
                           if isinstance(error, SlackApiError) else type(error).__name__)

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
            name = await self.names.lookup(metadata.get("team_id"), metadata.get("user_id"))
            if name:
                metadata["display_name"] = name
            return await on_new_message(message)

        return handle
