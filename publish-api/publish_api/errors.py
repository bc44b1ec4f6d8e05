"""Domain errors of publish-api. The API layer maps them to HTTP in one place (api/errors.py)."""

from __future__ import annotations


class ApiError(Exception):
    """Root of every error a client is told about: a status, a code, a message, maybe a field."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, field: str | None = None, details: list[dict] | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details


class MalformedRequest(ApiError):
    status, code = 400, "malformed_request"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFound(ApiError):
    status, code = 404, "not_found"


class UserNotFound(NotFound):
    code = "user_not_found"


class TopicNotFound(NotFound):
    code = "topic_not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class NothingToPublish(Conflict):
    code = "nothing_to_publish"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class OwnerBusy(Conflict):
    code = "owner_busy"


class Gone(ApiError):
    status, code = 410, "gone"


class VersionPruned(Gone):
    code = "version_pruned"


class TooLarge(ApiError):
    status, code = 413, "too_large"


class TopicLimit(TooLarge):
    code = "topic_limit"


class ValidationFailed(ApiError):
    status, code = 422, "validation_error"


class ImportInvalid(ValidationFailed):
    """An import file with problems; `details` names each row and field. Nothing was changed."""

    code = "import_invalid"


class UnsupportedMediaType(ApiError):
    status, code = 415, "unsupported_media_type"


class QueueUnavailable(ApiError):
    status, code = 503, "queue_unavailable"
