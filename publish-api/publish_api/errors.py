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

    @property
    def headers(self) -> dict[str, str]:
        """HTTP headers the response carries (Retry-After, for instance)."""
        return {}


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


class QuestionNotFound(NotFound):
    code = "question_not_found"


class BotNotFound(NotFound):
    """The owner never published (no job of theirs went live or failed)."""

    code = "bot_not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class NothingToPublish(Conflict):
    code = "nothing_to_publish"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class OwnerBusy(Conflict):
    code = "owner_busy"


class QuestionClosed(Conflict):
    """The question was answered, attached or dismissed already."""

    code = "question_closed"


class Gone(ApiError):
    status, code = 410, "gone"


class VersionPruned(Gone):
    code = "version_pruned"


class TooLarge(ApiError):
    status, code = 413, "too_large"


class TopicLimit(TooLarge):
    code = "topic_limit"


class QuestionLimit(TooLarge):
    """The owner has MAX_OPEN_QUESTIONS_PER_OWNER open questions: no more until some close."""

    code = "question_limit"


class ValidationFailed(ApiError):
    status, code = 422, "validation_error"


class ImportInvalid(ValidationFailed):
    """An import file with problems; `details` names each row and field. Nothing was changed."""

    code = "import_invalid"


class UnsupportedMediaType(ApiError):
    status, code = 415, "unsupported_media_type"


class RateLimited(ApiError):
    """One asker put ASKS_PER_ASKER_PER_HOUR asks to one owner within the last hour."""

    status, code = 429, "rate_limited"

    def __init__(self, message: str, retry_after_s: int):
        super().__init__(message, "asker_user_id")
        self.retry_after_s = retry_after_s

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}


class QueueUnavailable(ApiError):
    status, code = 503, "queue_unavailable"
