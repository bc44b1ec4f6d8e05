"""The Slack Web API stand-in of tests/support/slack_api.py as a server of its own, for the
Docker Compose stack test: it runs as a container on the stack's network (the concierge and the
broker reach it by name) and serves `GET /_test/calls`, the recorded calls as JSON, to the test.

Settings: SLACK_BOT_TOKEN (required), SLACK_TEAM_ID, SLACK_USERS ("U1:alice,U2:bob"), PORT.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from http.server import ThreadingHTTPServer

from tests.support.slack_api import SlackApi, _handler_for

logger = logging.getLogger(__name__)
CALLS_PATH = "/_test/calls"


def build_server(api: SlackApi, port: int) -> ThreadingHTTPServer:
    """The stand-in's HTTP server on all interfaces (inside its container)."""

    class Handler(_handler_for(api)):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if self.path != CALLS_PATH:
                return super().do_GET()
            calls = [dataclasses.asdict(call) for call in list(api.calls)]
            self._reply(200, {"ok": True, "calls": calls})

    return ThreadingHTTPServer(("0.0.0.0", port), Handler)


def main() -> None:
    """Serves until killed. Raises KeyError if SLACK_BOT_TOKEN is not set."""
    api = SlackApi(bot_token=os.environ["SLACK_BOT_TOKEN"],
                   team_id=os.environ.get("SLACK_TEAM_ID", "T0TEST"))
    for user in filter(None, os.environ.get("SLACK_USERS", "").split(",")):
        user_id, _, name = user.partition(":")
        api.add_user(user_id, name, name.capitalize())
    server = build_server(api, int(os.environ.get("PORT", "8080")))
    logging.basicConfig(level=logging.INFO)
    logger.info("Slack stand-in on port %d", server.server_address[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
