"""Public routes: health (for compose healthchecks) and the OpenAPI document."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from ..db import get_session
from ..openapi import openapi_document

bp = Blueprint("meta", __name__)


@bp.get("/health")
def health():
    database = "ok" if _database_ok() else "unreachable"
    # Cached for HEALTH_CACHE_S: a stalled queue would otherwise hold every call for its timeout.
    queue = "ok" if current_app.extensions["queue_health"]() else "unreachable"
    ok = database == queue == "ok"
    body = {"status": "ok" if ok else "degraded", "database": database, "queue": queue}
    return jsonify(body), 200 if ok else 503


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())


def _database_ok() -> bool:
    try:
        get_session().execute(text("SELECT 1"))
        return True
    except Exception:  # any failure means "unreachable" to a health check
        return False
