"""A local stand-in for Slack's Socket Mode side: the WebSocket an app connects to.

As Slack does it: `apps.connections.open` (on the Web API stand-in, `SlackApi(socket_mode=...)`,
with the app-level token) issues a `ws://` URL with a one-time ticket; a connection without a
valid ticket is closed. A new connection gets a `hello`; then the stand-in sends envelopes
(`events_api`, `interactive`, `disconnect`) and records every acknowledgement
(`{"envelope_id": ...}`) the app sends back, so tests can wait for them (with a deadline).
Pings are answered by the WebSocket library, as Slack's servers do.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.parse
import uuid
from typing import Any, Callable, Dict, List, Optional

import websockets

APP_ID = "A0CONCIERGE"


class SocketModeServer:
    """The WebSocket stand-in; use as a context manager or call start()/stop()."""

    def __init__(self) -> None:
        self.port = 0
        self.hellos = 0
        self.acks: List[Dict[str, Any]] = []
        self.refused = 0
        self._tickets: set[str] = set()
        self._sockets: List[Any] = []
        self._condition = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._server: Any = None

    def start(self) -> SocketModeServer:
        """Serves on a free port of 127.0.0.1 from a daemon thread."""
        threading.Thread(target=self._loop.run_forever, daemon=True).start()
        self._server = self._run(self._serve())
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        self._server.close()
        self._run(self._server.wait_closed())
        self._loop.call_soon_threadsafe(self._loop.stop)

    def __enter__(self) -> SocketModeServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def issue_url(self) -> str:
        """A WebSocket URL with a fresh one-time ticket (what apps.connections.open returns)."""
        ticket = uuid.uuid4().hex
        with self._condition:
            self._tickets.add(ticket)
        return f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id={APP_ID}"

    def send(self, envelope_type: str, payload: Optional[Dict[str, Any]] = None,
             envelope_id: Optional[str] = None, **extra: Any) -> str:
        """Sends an envelope on the newest connection; returns its envelope_id."""
        envelope_id = envelope_id or str(uuid.uuid4())
        message = {"envelope_id": envelope_id, "type": envelope_type,
                   "accepts_response_payload": False, **extra}
        if payload is not None:
            message["payload"] = payload
        with self._condition:
            socket = self._sockets[-1]
        self._run(socket.send(json.dumps(message)))
        return envelope_id

    def send_event(self, event_body: Dict[str, Any], retry_attempt: int = 0,
                   envelope_id: Optional[str] = None) -> str:
        """An `events_api` envelope around an Events API body (slack_api.message_event)."""
        return self.send("events_api", event_body, envelope_id, retry_attempt=retry_attempt,
                         retry_reason="timeout" if retry_attempt else "")

    def send_interaction(self, payload: Dict[str, Any]) -> str:
        """An `interactive` envelope around an interaction payload (slack_api.block_actions)."""
        return self.send("interactive", payload)

    def ask_to_reconnect(self) -> None:
        """Slack's notice before it closes a connection: the app opens a new one."""
        message = {"type": "disconnect", "reason": "refresh_requested",
                   "debug_info": {"host": "applink-stand-in"}}
        with self._condition:
            socket = self._sockets[-1]
        self._run(socket.send(json.dumps(message)))

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 20.0) -> None:
        """Waits until `predicate()` holds. Raises TimeoutError."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"hellos {self.hellos}, acks {self.acks}")
                self._condition.wait(remaining)

    def wait_for_ack(self, envelope_id: str, timeout: float = 10.0) -> Dict[str, Any]:
        """The acknowledgement of `envelope_id`, once it came."""
        self.wait_for(lambda: any(a.get("envelope_id") == envelope_id for a in self.acks),
                      timeout)
        return next(a for a in self.acks if a.get("envelope_id") == envelope_id)

    def open_connections(self) -> int:
        with self._condition:
            return sum(1 for socket in self._sockets if socket.open)

    async def _serve(self) -> Any:
        # Built inside the loop: websockets 10 takes the current loop when `serve` is called.
        return await websockets.serve(self._connection, "127.0.0.1", 0)

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    async def _connection(self, socket: Any, path: str) -> None:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
        ticket = (query.get("ticket") or [""])[0]
        with self._condition:
            valid = ticket in self._tickets
            self._tickets.discard(ticket)
            if not valid:
                self.refused += 1
                self._condition.notify_all()
        if not valid:
            await socket.close(code=4001, reason="invalid ticket")
            return
        await socket.send(json.dumps({
            "type": "hello", "num_connections": 1,
            "debug_info": {"host": "applink-stand-in", "approximate_connection_time": 18060},
            "connection_info": {"app_id": APP_ID}}))
        with self._condition:
            self._sockets.append(socket)
            self.hellos += 1
            self._condition.notify_all()
        async for raw in socket:
            with self._condition:
                self.acks.append(json.loads(raw))
                self._condition.notify_all()
