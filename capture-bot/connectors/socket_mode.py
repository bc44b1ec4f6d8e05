"""Slack's Socket Mode for the concierge: no public address, no webhook.

With SLACK_APP_TOKEN set (an app-level token, `xapp-...`, with the `connections:write` scope;
settings.py checks it), the Slack connector serves no webhook. Once the server has started,
slack_sdk's aiohttp Socket Mode client (aiohttp is already one of Rasa's dependencies) asks the
Web API for a WebSocket URL (`apps.connections.open`, at SLACK_API_URL) and holds the
connection open, reconnecting when Slack asks it to or the connection goes stale.

Each envelope is acknowledged at once, with its `envelope_id` (Slack delivers an envelope again
when no acknowledgement came within 3 seconds), and its payload then goes to the webhook's own
handlers: an `events_api` payload is the body the Events API would POST, an `interactive`
payload the `payload` field an interaction would POST. So de-duplication, channel rules and
replies are the webhook's. No signature to check: Slack authenticated the connection by the app
token, and nobody else can write to it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Dict, Optional

import aiohttp
from rasa.core.channels.channel import UserMessage
from rasa.shared.exceptions import InvalidConfigException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

if TYPE_CHECKING:
    from connectors.slack import SlackConnector

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


class EnvelopeRequest:
    """What the webhook's handlers read of a Sanic request: only headers, where Rasa looks for
    Slack's HTTP retry headers. An envelope has none (its retries are de-duplicated by id)."""

    headers: Dict[str, str] = {}


class SocketModeReceiver:
    """Holds the Socket Mode connection and hands each envelope to the connector."""

    def __init__(self, connector: SlackConnector, on_new_message: OnNewMessage,
                 app_token: str, api_url: str) -> None:
        self._connector = connector
        self._on_new_message = on_new_message
        self._app_token = app_token
        self._api_url = api_url
        self.client: Optional[SocketModeClient] = None
        self._connecting: Optional[asyncio.Future] = None
        # Whether start() is done: Sanic serves requests while its after_server_start listeners
        # run, and a readiness check answered before Slack refused the token would be a lie.
        self.started = False

    async def start(self) -> None:
        """Opens the connection (in the running event loop); while Slack is unreachable, the
        client keeps trying in the background.

        Raises:
            InvalidConfigException: Slack refused SLACK_APP_TOKEN.
        """
        web = AsyncWebClient(base_url=self._api_url)
        self.client = SocketModeClient(self._app_token, web_client=web, logger=logger)
        self.client.socket_mode_request_listeners.append(self.receive)
        try:
            # Asked once here so that a refused token stops the start with a clear error,
            # where the client would otherwise retry it forever.
            self.client.wss_uri = await self.client.issue_new_wss_url()
        except SlackApiError as error:
            await self.client.close()
            raise InvalidConfigException(
                f"Slack refused SLACK_APP_TOKEN in apps.connections.open: "
                f"{error.response.get('error')}") from None
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            logger.warning("Slack's Web API is unreachable (%s); connecting in the background",
                           type(error).__name__)
        self._connecting = asyncio.ensure_future(self.client.connect())
        self.started = True

    async def stop(self) -> None:
        if self._connecting is not None:
            self._connecting.cancel()
        if self.client is not None:
            await self.client.close()

    async def connected(self) -> bool:
        return self.client is not None and await self.client.is_connected()

    async def receive(self, client: SocketModeClient, envelope: SocketModeRequest) -> None:
        """Acknowledges the envelope, then handles its payload as the webhook would."""
        await client.send_socket_mode_response(SocketModeResponse(envelope.envelope_id))
        handlers = {"events_api": self._connector._handle_event,
                    "interactive": self._connector._handle_interaction}
        handler = handlers.get(envelope.type)
        if handler is None:
            logger.info("Ignored a Socket Mode envelope of type %s", envelope.type)
            return
        await handler(EnvelopeRequest(), envelope.payload, self._on_new_message)


def blueprint(connector: SlackConnector, on_new_message: OnNewMessage, app_token: str,
              api_url: str) -> Blueprint:
    """The connector's blueprint in Socket Mode: the connection's lifetime follows the server's,
    and `GET /webhooks/slack/` says whether it is connected (no webhook route); it answers 503
    until the app token has been tried, so that readiness means the token was not refused."""
    receiver = SocketModeReceiver(connector, on_new_message, app_token, api_url)
    socket_mode = Blueprint("slack_socket_mode", __name__)

    @socket_mode.listener("after_server_start")
    async def connect(_app: Any, _loop: Any) -> None:
        await receiver.start()

    @socket_mode.listener("before_server_stop")
    async def disconnect(_app: Any, _loop: Any) -> None:
        # No new envelopes, then answer the acknowledged ones: Slack will not send them again.
        await receiver.stop()
        await connector.drain()

    @socket_mode.route("/", methods=["GET"])
    async def health(_: Request) -> HTTPResponse:
        if not receiver.started:
            return response.json({"status": "starting", "socket_mode": False}, status=503)
        return response.json({"status": "ok", "socket_mode": await receiver.connected()})

    return socket_mode
