"""publish-api: the REST API that owns users, topics, publish versions, jobs and bots."""

from __future__ import annotations

import logging
from datetime import datetime

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from . import api, db, logs
from .health import CachedCheck
from .queue import PublishQueue
from .services.digests import DigestPolicy
from .services.publishing import JobPolicy
from .settings import load_settings

MAX_BODY_BYTES = 256 * 1024
logger = logging.getLogger(__name__)


class JSONProvider(DefaultJSONProvider):
    """ISO 8601 timestamps (Flask's default is the HTTP date format)."""

    @staticmethod
    def default(o):
        if isinstance(o, datetime):
            return o.isoformat()
        return DefaultJSONProvider.default(o)


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: settings from the environment, `test_config` overriding them.

    Raises SettingsError naming any missing or invalid variable.
    """
    settings = load_settings(test_config)
    app = Flask(__name__)
    app.json = JSONProvider(app)
    app.config.update(SETTINGS=settings, MAX_CONTENT_LENGTH=MAX_BODY_BYTES)
    logs.configure(settings.LOG_LEVEL)
    for notice in settings.deprecation_notices():
        logger.warning(notice)
    db.init_app(app, settings.DATABASE_URL)
    queue = PublishQueue(settings.QUEUE_URL, settings.PUBLISH_QUEUE, settings.QUEUE_TIMEOUT_S)
    app.extensions["publish_queue"] = queue
    app.extensions["queue_health"] = CachedCheck(queue.ping, settings.HEALTH_CACHE_S)
    app.extensions["job_policy"] = JobPolicy.from_settings(settings)
    app.extensions["digest_policy"] = DigestPolicy.from_settings(settings)
    logs.init_app(app)
    api.init_app(app)
    return app
