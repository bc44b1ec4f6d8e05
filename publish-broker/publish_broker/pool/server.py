"""The HTTP API of a bot pool: many owners' bots behind one process and one encoder.

Per owner (``<bot>`` is the broker's bot name, e.g. ``faqbot-t1-u1``), the routes a Rasa bot
has, under ``/bots/<bot>``, so an owner's endpoint is ``http://<pool>/bots/<bot>`` and clients
of a Rasa bot (the action server's bot_client, the broker's rasa_client.BotApi) work unchanged:

- ``POST /bots/<bot>/model/parse`` ``{"text": ...}``: the answer, as Rasa's /model/parse;
- ``PUT /bots/<bot>/model`` ``{"model_file": "<digest>.tar.gz"}``: load that stored model; the
  old one answers until it is loaded, then the swap is one assignment;
- ``GET /bots/<bot>/status``: ``{"model_file": ..., "digest": ...}`` of the live model;
- ``DELETE /bots/<bot>``: forget the bot (its files belong to the broker).

``GET /health`` is open (health checks); every other route needs the bot token, as
``?token=`` (what Rasa clients send) or ``Authorization: Bearer``. ``GET /metrics`` is in
Prometheus' text format. One log line per request, with its id (the client's X-Request-ID or a
new one, returned in that header), method, path without the query string (Rasa clients put the
token there), status and duration.
Model loads and asks run in a small thread pool, so a load never stalls other owners' asks;
the questions of concurrent asks are encoded together (publish_broker.pool.batching).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from publish_broker import logs
from publish_broker.encoder import load_encoder
from publish_broker.errors import BadRequest, BotNotFound, ModelUnreadable
from publish_broker.modelfiles import MODEL_SUFFIX, model_file_name, store_id
from publish_broker.pool.batching import EncodeBatcher
from publish_broker.pool.metrics import CONTENT_TYPE, PoolMetrics
from publish_broker.pool.registry import BotRegistry

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024  # a question or a model file name; nothing larger is ever sent
MAX_TEXT_CHARS = 2_000
_SWEEP_INTERVAL_S = 60.0


def create_app(bots: BotRegistry, token: str, threads: int = 2, name: str = "faqbot-pool") -> Sanic:
    """The pool's Sanic app over ``bots``, requiring ``token`` on every route but /health."""
    if not token:
        raise ValueError("a pool never runs without a bot token")
    # Sanic's own logging configuration would add handlers of its own format beside the root's.
    app = Sanic(name, configure_logging=False)
    app.config.REQUEST_MAX_SIZE = MAX_BODY_BYTES
    app.ctx.bots, app.ctx.token = bots, token
    app.ctx.metrics = PoolMetrics(bots)
    app.ctx.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="pool")
    app.ctx.batcher = EncodeBatcher(_encode, app.ctx.executor, passes=threads,
                                    observe=app.ctx.metrics.encode_batches.observe)
    _routes(app)
    _error_handlers(app)
    app.register_listener(_start_sweeper, "after_server_start")
    app.register_listener(_stop_sweeper, "before_server_stop")
    return app


def _routes(app: Sanic) -> None:
    app.add_route(_health, "/health", methods=["GET"])
    app.add_route(_metrics, "/metrics", methods=["GET"])
    app.add_route(_parse, "/bots/<bot>/model/parse", methods=["POST"])
    app.add_route(_load, "/bots/<bot>/model", methods=["PUT"])
    app.add_route(_status, "/bots/<bot>/status", methods=["GET"])
    app.add_route(_delete, "/bots/<bot>", methods=["DELETE"])
    app.register_middleware(_start_request, "request")
    app.register_middleware(_authenticate, "request")
    app.register_middleware(_log_request, "response")


async def _start_request(request: Request) -> None:
    request.ctx.started = time.perf_counter()
    request.ctx.id = logs.request_id(request.headers.get(logs.REQUEST_ID_HEADER))


async def _log_request(request: Request, answer: HTTPResponse) -> None:
    # Sanic answers some requests (no such route, a body too large) before the middleware runs.
    started = getattr(request.ctx, "started", time.perf_counter())
    request_id = getattr(request.ctx, "id", None) or logs.request_id(None)
    answer.headers[logs.REQUEST_ID_HEADER] = request_id
    logger.info("request %s: %s %s %d (%.0f ms)", request_id, request.method, request.path,
                answer.status, (time.perf_counter() - started) * 1000)


async def _authenticate(request: Request):
    if request.path == "/health":
        return None
    header = request.headers.get("authorization", "")
    given = header[7:] if header.lower().startswith("bearer ") else request.args.get("token", "")
    if not hmac.compare_digest(given.encode(), request.app.ctx.token.encode()):
        return response.json({"error": "unauthorized", "message": "a valid token is required"},
                             status=401)
    return None


async def _health(request: Request):
    bots = request.app.ctx.bots
    return response.json({"status": "ok", "owners_loaded": len(bots.loaded()),
                          "store": store_id(bots.models_dir)})


async def _metrics(request: Request):
    return response.raw(request.app.ctx.metrics.render(), content_type=CONTENT_TYPE)


async def _parse(request: Request, bot: str):
    text = _field(request, "text")
    if len(text) > MAX_TEXT_CHARS:
        raise BadRequest(f"'text' is longer than {MAX_TEXT_CHARS} characters")
    started, outcome = time.perf_counter(), "error"
    try:
        await request.app.ctx.batcher.encoded(text)  # the parse finds its vector cached
        parse = await _in_thread(request, request.app.ctx.bots.parse, bot, text)
        outcome = parse["intent"]["name"]
        return response.json(parse)
    finally:
        request.app.ctx.metrics.asks.labels(outcome).observe(time.perf_counter() - started)


async def _load(request: Request, bot: str):
    name = os.path.basename(_field(request, "model_file"))
    digest = name.removesuffix(MODEL_SUFFIX)
    try:
        model_file_name(digest)
    except ValueError:
        raise BadRequest("'model_file' must name a stored model, <digest>.tar.gz") from None
    loaded = await _in_thread(request, request.app.ctx.bots.load, bot, digest)
    return response.json(_status_body(loaded.digest))


async def _status(request: Request, bot: str):
    loaded = await _in_thread(request, request.app.ctx.bots.live, bot)
    return response.json(_status_body(loaded.digest))


async def _delete(request: Request, bot: str):
    request.app.ctx.bots.unload(bot)
    return response.empty()


def _encode(texts: list[str]) -> None:
    load_encoder().encode(texts)


def _status_body(digest: str) -> dict[str, Any]:
    # "model_file" as Rasa's GET /status names it: rasa_client.BotApi reads the digest from it.
    return {"model_file": model_file_name(digest), "digest": digest}


def _field(request: Request, name: str) -> str:
    try:
        body = request.json
    except SanicException:
        body = None
    value = body.get(name) if isinstance(body, dict) else None
    if not isinstance(value, str):
        raise BadRequest(f"the body must be a JSON object with a string '{name}'")
    return value


async def _in_thread(request: Request, function, *args):
    return await asyncio.get_running_loop().run_in_executor(request.app.ctx.executor,
                                                            function, *args)


def _error_handlers(app: Sanic) -> None:
    """Domain errors → HTTP, in one place; a failure of one owner's model stays theirs."""
    def handler(status: int, code: str):
        async def handle(request: Request, exc: Exception):
            if status >= 500:
                logger.error("bot request %s failed: %s", request.path.split("?")[0], exc)
            return response.json({"error": code, "message": str(exc) or code}, status=status)
        return handle

    app.error_handler.add(BadRequest, handler(400, "bad_request"))
    app.error_handler.add(BotNotFound, handler(404, "bot_not_found"))
    app.error_handler.add(ModelUnreadable, handler(503, "model_unreadable"))


async def _start_sweeper(app: Sanic, loop) -> None:
    async def sweep() -> None:
        while True:
            await asyncio.sleep(_SWEEP_INTERVAL_S)  # a period, not synchronisation
            app.ctx.bots.evict_idle()

    app.ctx.sweeper = loop.create_task(sweep())


async def _stop_sweeper(app: Sanic, _loop) -> None:
    app.ctx.sweeper.cancel()
