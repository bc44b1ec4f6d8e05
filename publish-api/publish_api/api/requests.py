"""Reading request bodies and path parameters into validated values."""

from __future__ import annotations

import re

from flask import current_app, request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from ..errors import MalformedRequest, TooLarge, UnsupportedMediaType, ValidationFailed
from ..schemas import SLACK_ID_PATTERN

_SLACK_ID = re.compile(SLACK_ID_PATTERN)


def body(model: type[BaseModel]) -> BaseModel:
    """The JSON body as `model`. Raises MalformedRequest (not JSON), ValidationFailed, TooLarge
    (past MAX_CONTENT_LENGTH)."""
    data = _data(current_app.config["MAX_CONTENT_LENGTH"], "the body", None)
    try:
        return model.model_validate_json(data or b"")
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "json_invalid" or (first["type"] == "model_type" and not first["loc"]):
            raise MalformedRequest("the body must be a JSON object") from None
        raise _failed(first) from None


def query(model: type[BaseModel]) -> BaseModel:
    """The query string as `model` (the first value of each name). Raises ValidationFailed."""
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as exc:
        raise _failed(exc.errors()[0]) from None


def _failed(error: dict) -> ValidationFailed:
    field = ".".join(str(part) for part in error["loc"]) or None
    message = f"{field}: {error['msg']}" if field else error["msg"]
    return ValidationFailed(message, field)


def slack_ids(team_id: str, user_id: str) -> tuple[str, str]:
    """Raises ValidationFailed when an id is not a Slack id (upper-case letters and digits)."""
    for name, value in (("team_id", team_id), ("user_id", user_id)):
        # fullmatch: with re.match, the pattern's `$` also matches before a trailing newline.
        if not _SLACK_ID.fullmatch(value):
            raise ValidationFailed(f"{name} must be a Slack id like T012AB3C4", name)
    return team_id, user_id


def upload(max_bytes: int, media_types: tuple[str, ...]) -> tuple[str, bytes]:
    """The body as (media type, bytes), up to `max_bytes` (this route's own limit).

    Raises UnsupportedMediaType (a Content-Type not in `media_types`), TooLarge.
    """
    media_type = request.mimetype
    if media_type not in media_types:
        raise UnsupportedMediaType(
            f"send the file as {' or '.join(media_types)} (Content-Type)", "Content-Type")
    request.max_content_length = max_bytes
    return media_type, _data(max_bytes, "the file", "file")


def _data(max_bytes: int, what: str, field: str | None) -> bytes:
    """The body, refused past `max_bytes` however it is sent. Raises TooLarge.

    With a Content-Length, Werkzeug refuses a longer body before reading it. A chunked body has
    none: Werkzeug then reads it up to the limit and stops there, silently, so a longer one
    would pass for its first `max_bytes` bytes. It is read here from the server's stream (which
    the server ends with the body) one byte past the limit instead.
    """
    try:
        if request.content_length is not None:
            return request.get_data()
    except RequestEntityTooLarge:
        raise TooLarge(f"{what} is larger than {max_bytes} bytes", field) from None
    data = request.environ["wsgi.input"].read(max_bytes + 1)
    if len(data) > max_bytes:
        raise TooLarge(f"{what} is larger than {max_bytes} bytes", field)
    return data
