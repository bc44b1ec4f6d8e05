"""The one place where errors become HTTP responses: always JSON, never a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from ..errors import ApiError

logger = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)


def error_response(
    status: int, code: str, message: str, field: str | None = None, details: list | None = None
):
    body = {"error": {"code": code, "message": message, "field": field}}
    if details is not None:
        body["error"]["details"] = details
    return jsonify(body), status


def _api_error(exc: ApiError):
    body, status = error_response(exc.status, exc.code, exc.message, exc.field, exc.details)
    body.headers.update(exc.headers)
    return body, status


def _http_error(exc: HTTPException):
    code = (exc.name or "error").lower().replace(" ", "_")
    response = error_response(exc.code or 500, code, exc.description or exc.name)
    if exc.code == 405 and exc.valid_methods:
        response[0].headers["Allow"] = ", ".join(exc.valid_methods)
    return response


def _unexpected(exc: Exception):
    logger.exception("unexpected error: %s", type(exc).__name__)
    return error_response(500, "internal_error", "something went wrong on our side")
