"""The playground's Flask app: the Web API stand-in (`/api/`) and the page."""

from __future__ import annotations

import secrets

from flask import Flask, jsonify

from . import guard, logs, pages, web_api
from .concierge import Concierge
from .owners import Owners
from .settings import Settings, load_settings
from .workspace import MAX_UPLOAD_BYTES, Workspace


def create_app(settings: Settings | None = None) -> Flask:
    """Builds the app from `settings` (default: the environment). Raises SettingsError."""
    settings = settings or load_settings()
    logs.configure()
    app = Flask(__name__)
    app.config["SETTINGS"] = settings
    # The largest body anyone sends: an upload of the concierge's (an export), or a topic file
    # imported from the page; past it, 413 before the body is read.
    app.config["MAX_CONTENT_LENGTH"] = MAX_UPLOAD_BYTES + 64 * 1024
    # The page's forms carry this; a request from another site's page cannot (guard.py).
    app.config["PAGE_TOKEN"] = secrets.token_urlsafe(32)
    app.extensions["workspace"] = _workspace(settings)
    app.extensions["concierge"] = Concierge(settings.CONCIERGE_URL, settings.SLACK_SIGNING_SECRET,
                                            settings.HTTP_TIMEOUT_S)
    app.extensions["owners"] = Owners(settings.PUBLISH_API_URL, settings.PLAYGROUND_API_TOKEN,
                                      settings.HTTP_TIMEOUT_S)
    logs.init_app(app)
    guard.init_app(app)
    app.register_blueprint(web_api.bp)
    app.register_blueprint(pages.bp)
    app.add_url_rule("/health", "health", lambda: jsonify({"status": "ok"}))
    return app


def _workspace(settings: Settings) -> Workspace:
    workspace = Workspace(team_id=settings.PLAYGROUND_TEAM_ID)
    for name in settings.people():
        workspace.add_person(name)
    return workspace
