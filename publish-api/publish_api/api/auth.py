"""Bearer-token authentication for every route but the public ones."""

from __future__ import annotations

import hmac

from flask import Flask, current_app, request

from ..errors import Unauthorized

PUBLIC_ENDPOINTS = {"meta.health", "meta.openapi"}


def init_app(app: Flask) -> None:
    app.before_request(require_token)


def require_token() -> None:
    """Raises Unauthorized unless the request carries `Authorization: Bearer <API_TOKEN>`."""
    if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None:
        return
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    expected = current_app.config["SETTINGS"].API_TOKEN
    # Constant-time comparison, so response timing says nothing about the token.
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), expected.encode()):
        raise Unauthorized("missing or wrong bearer token")
