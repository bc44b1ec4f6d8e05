"""Bearer-token authentication for every route but the public ones, with one token per client.

API_TOKEN is the admin token: every route. BROKER_API_TOKEN, ACTIONS_API_TOKEN and
PLAYGROUND_API_TOKEN, when set, reach only the routes that client calls
(publish-broker/publish_broker/api_client.py, capture-actions/actions/publish_api.py and
playground/playground/owners.py): a leaked action-server token cannot set a bot's endpoint or
move a job on, a leaked broker token cannot read or change anyone's topics, and the playground's
token reads and writes nothing but through a topic file's import. Of an import, both take only
the merge: replacing an owner's topics (deleting those absent from the file) is the admin's.
PLAYGROUND_API_TOKEN is the playground's (`make run`'s local workspace).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from flask import Flask, current_app, g, request

from ..errors import Forbidden, Unauthorized
from ..settings import Settings

PUBLIC_ENDPOINTS = {"meta.health", "meta.openapi"}

# The broker reads a job and the version it builds, and moves the job on (the last move sets
# the bot's endpoint); it sweeps jobs whose worker is gone; it claims owners' question digests
# and the answers owed to askers.
BROKER_ENDPOINTS = frozenset({
    "jobs.get_job", "jobs.transition", "jobs.get_version", "jobs.sweep",
    "owners.claim_digest", "jobs.list_deliveries", "jobs.mark_delivered",
})

# The concierge's actions work on the sender's own data, start a publish, find a bot to ask
# and report it down; never a job route, so never a bot's endpoint.
# Import too: a file the sender shared in their DM is imported into their own topics (merge,
# validated, all or nothing), no more than the topic routes above already allow them; and
# export, which reads no more than their topic list does.
ACTIONS_ENDPOINTS = frozenset({
    "owners.put_user", "owners.list_topics", "owners.create_topic", "owners.update_topic",
    "owners.add_alternative", "owners.delete_topic", "owners.delete_all_topics",
    "owners.publish", "owners.get_bot", "owners.put_bot_health",
    "owners.record_unanswered", "owners.list_unanswered", "owners.answer_question",
    "owners.attach_question", "owners.dismiss_question", "owners.record_ask",
    "owners.daily_asks", "owners.import_topics", "owners.export_topics",
})

# The local workspace of `make run` shows each person's topics, bot and asks per day, and its
# page exports and imports the viewer's topics as a file (the only way it writes).
PLAYGROUND_ENDPOINTS = frozenset({"owners.list_topics", "owners.get_bot", "owners.daily_asks",
                                  "owners.export_topics", "owners.import_topics"})


@dataclass(frozen=True)
class Client:
    """Who holds a token, and the endpoints it may call (None: every one)."""

    name: str
    token: str
    endpoints: frozenset[str] | None = None


def init_app(app: Flask) -> None:
    app.before_request(require_token)


def clients(settings: Settings) -> list[Client]:
    """The configured tokens: the admin's always, the broker's and the actions' when set."""
    scoped = [Client("broker", settings.BROKER_API_TOKEN or "", BROKER_ENDPOINTS),
              Client("action server", settings.ACTIONS_API_TOKEN or "", ACTIONS_ENDPOINTS),
              Client("playground", settings.PLAYGROUND_API_TOKEN or "", PLAYGROUND_ENDPOINTS)]
    return [Client("admin", settings.API_TOKEN)] + [c for c in scoped if c.token]


def require_token() -> None:
    """Lets the request through when its bearer token may call this route.

    Raises:
        Unauthorized: no token, or not one of ours.
        Forbidden: a client's token on a route outside that client's scope.
    """
    if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None:
        return
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    client = _holder(given) if scheme.lower() == "bearer" else None
    if client is None:
        raise Unauthorized("missing or wrong bearer token")
    if client.endpoints is not None and request.endpoint not in client.endpoints:
        raise Forbidden(f"the {client.name} token may not call {request.method} "
                        f"{request.url_rule.rule}; this route needs another client's token")
    g.client = client


def require_admin(what: str, field: str) -> None:
    """Raises Forbidden unless the request came with the admin token: `what` is only theirs."""
    client = g.get("client")
    if client is None or client.endpoints is not None:
        name = client.name if client else "this"
        raise Forbidden(f"the {name} token may not {what}: only the admin token may", field)


def _holder(given: str) -> Client | None:
    found = None
    # Constant-time comparisons, each of them: response timing says nothing about any token.
    for client in clients(current_app.config["SETTINGS"]):
        if hmac.compare_digest(given.encode(), client.token.encode()):
            found = client
    return found
