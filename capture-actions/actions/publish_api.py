"""A small HTTP client for publish-api (docs/publish-api.md).

Sends the bearer token, applies a timeout to every call and retries only idempotent reads
(GET) on connection errors, timeouts and 502/503/504. Every failure is a `PublishApiError`
subclass, one per meaning (publish-api's error code, else its HTTP status), carrying the status
and code, so callers catch the case they handle (`BotNotFound`, `NothingToPublish`...) and tell
a missing user from an unreachable service. Neither the token nor request bodies are logged.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import quote

import requests

logger = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({502, 503, 504})
RETRY_BACKOFF_S = 0.2


class PublishApiError(Exception):
    """publish-api did not do what was asked; `status` and `code` say why."""

    def __init__(self, message: str, status: Optional[int] = None, code: str = "",
                 field: Optional[str] = None,
                 details: Optional[List[Dict[str, Any]]] = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.field = field
        self.details = details or []


class PublishApiUnavailable(PublishApiError):
    """publish-api could not be reached, timed out or failed (5xx)."""


class QueueUnavailable(PublishApiUnavailable):
    """503 `queue_unavailable`: the publish could not be queued (the job failed, nothing is
    left half-queued)."""


class NotFound(PublishApiError):
    """404 of another kind (a route, a job)."""


class UserNotFound(NotFound):
    """404 `user_not_found`: the Slack user never talked to the concierge."""


class BotNotFound(NotFound):
    """404 `bot_not_found`: the owner never published."""


class TopicNotFound(NotFound):
    """404 `topic_not_found`: the topic was deleted (in another conversation, say)."""


class QuestionNotFound(NotFound):
    """404 `question_not_found`: no such question of this owner."""


class Conflict(PublishApiError):
    """409 of another kind."""


class NothingToPublish(Conflict):
    """409 `nothing_to_publish`: no topics and no live version."""


class QuestionClosed(Conflict):
    """409 `question_closed`: the question was answered, attached or dismissed already."""


class Rejected(PublishApiError):
    """400/413/415/422: the request was refused as invalid, too large or of another type
    (`field` names the field)."""


class TopicLimit(Rejected):
    """413 `topic_limit`: the owner has as many topics as publish-api allows."""


class TooLarge(Rejected):
    """413 `too_large`: a body (an import file) larger than publish-api takes."""


class ImportInvalid(Rejected):
    """422 `import_invalid`: a topics file with problems, each in `details`."""


class RateLimited(PublishApiError):
    """429 `rate_limited`: the asker's hourly asks to this owner are used up."""


class Unauthorized(PublishApiError):
    """401: API_TOKEN is wrong; a configuration problem, not the user's."""


# The most the action server reads of a publish-api answer: an export, or any other (a report
# of an import names at most 100 problems: a few tens of KB).
MAX_EXPORT_BYTES = 8 * 1024 * 1024
MAX_ANSWER_BYTES = 1024 * 1024

_ERRORS_BY_CODE = {"queue_unavailable": QueueUnavailable, "user_not_found": UserNotFound,
                   "bot_not_found": BotNotFound, "topic_not_found": TopicNotFound,
                   "question_not_found": QuestionNotFound,
                   "nothing_to_publish": NothingToPublish, "question_closed": QuestionClosed,
                   "topic_limit": TopicLimit, "too_large": TooLarge,
                   "import_invalid": ImportInvalid, "rate_limited": RateLimited}
_ERRORS_BY_STATUS = {401: Unauthorized, 404: NotFound, 409: Conflict, 429: RateLimited,
                     400: Rejected, 413: Rejected, 415: Rejected, 422: Rejected}


class PublishApiClient:
    """publish-api's routes as methods; ids are Slack team and user ids."""

    def __init__(self, base_url: str, token: str, timeout_s: float = 5.0,
                 read_retries: int = 2, session: Optional[requests.Session] = None) -> None:
        self._base = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}
        self._timeout = timeout_s
        self._read_retries = read_retries
        self._session = session or requests.Session()

    def upsert_user(self, team_id: str, user_id: str, display_name: str) -> Dict[str, Any]:
        """Creates or renames a user. Raises PublishApiError."""
        return self._call("PUT", _owner(team_id, user_id), {"display_name": display_name})

    def list_topics(self, team_id: str, user_id: str) -> Dict[str, Any]:
        """`{"topics": [...], "pending_deletions": n}`. Raises PublishApiError (UserNotFound)."""
        return self._call("GET", f"{_owner(team_id, user_id)}/topics")

    def create_topic(self, team_id: str, user_id: str, question: str, answer: str,
                     alternatives: Optional[List[str]] = None) -> Dict[str, Any]:
        """Adds a topic. Raises PublishApiError (TopicLimit at the cap)."""
        body: Dict[str, Any] = {"question": question, "answer": answer}
        if alternatives:
            body["alternatives"] = alternatives
        return self._call("POST", f"{_owner(team_id, user_id)}/topics", body)

    def update_topic(self, team_id: str, user_id: str, topic_id: Any,
                     **fields: Any) -> Dict[str, Any]:
        """Changes any of question, answer, alternatives. Raises PublishApiError."""
        return self._call("PATCH", _topic(team_id, user_id, topic_id), fields)

    def add_alternative(self, team_id: str, user_id: str, topic_id: Any,
                        text: str) -> Dict[str, Any]:
        """Adds one alternative phrasing to a topic. Raises PublishApiError."""
        path = f"{_topic(team_id, user_id, topic_id)}/alternatives"
        return self._call("POST", path, {"text": text})

    def delete_topic(self, team_id: str, user_id: str, topic_id: Any) -> None:
        """Deletes one topic. Raises PublishApiError (TopicNotFound if it is gone already)."""
        self._call("DELETE", _topic(team_id, user_id, topic_id))

    def delete_all_topics(self, team_id: str, user_id: str) -> int:
        """Deletes every topic of the owner; returns how many. Raises PublishApiError."""
        return int(self._call("DELETE", f"{_owner(team_id, user_id)}/topics")["deleted"])

    def publish(self, team_id: str, user_id: str) -> Tuple[Dict[str, Any], bool]:
        """Starts a publish: (job, True) when a job was queued, (job, False) when nothing
        changed. Raises PublishApiError (NothingToPublish, QueueUnavailable)."""
        body, status = self._request("POST", f"{_owner(team_id, user_id)}/publish")
        return body["job"], status == 202

    def get_bot(self, team_id: str, user_id: str) -> Dict[str, Any]:
        """The owner's bot. Raises BotNotFound, UserNotFound, PublishApiError."""
        return self._call("GET", f"{_owner(team_id, user_id)}/bot")

    def report_bot_down(self, team_id: str, user_id: str, error: str) -> Dict[str, Any]:
        """Marks the owner's bot unhealthy (their next publish restarts it). Raises
        PublishApiError."""
        body = {"health": "unhealthy", "error": error}
        return self._call("PUT", f"{_owner(team_id, user_id)}/bot/health", body)

    def record_unanswered(self, team_id: str, user_id: str, question: str,
                          asker_team_id: str, asker_user_id: str,
                          **wrong_answer: Any) -> Dict[str, Any]:
        """Records a question the owner's bot could not answer, or (`kind="wrong_answer"`,
        `given_answer`, `topic_id`) one whose answer the asker marked unhelpful. Raises
        PublishApiError (RateLimited: the asker's hourly asks to this owner are used up)."""
        body = {"question": question, "asker_team_id": asker_team_id,
                "asker_user_id": asker_user_id, **wrong_answer}
        return self._call("POST", f"{_owner(team_id, user_id)}/unanswered", body)

    def list_unanswered(self, team_id: str, user_id: str,
                        state: Optional[str] = None) -> List[Dict[str, Any]]:
        """The owner's questions (of one state, e.g. `open`), newest first. Raises
        PublishApiError."""
        query = f"?state={quote(state, safe='')}" if state else ""
        return self._call("GET", f"{_owner(team_id, user_id)}/unanswered{query}")["unanswered"]

    def answer_question(self, team_id: str, user_id: str, question_id: Any,
                        answer: str) -> Dict[str, Any]:
        """Makes a topic of an open question: `{"questions": [...], "topic": {...}}`. Raises
        PublishApiError (QuestionClosed, Rejected naming `question`)."""
        return self._call("POST", f"{_question(team_id, user_id, question_id)}/answer",
                          {"answer": answer})

    def attach_question(self, team_id: str, user_id: str, question_id: Any,
                        topic_id: Any) -> Dict[str, Any]:
        """Adds an open question to a topic as another phrasing. Raises PublishApiError."""
        return self._call("POST", f"{_question(team_id, user_id, question_id)}/attach",
                          {"topic_id": int(topic_id)})

    def dismiss_question(self, team_id: str, user_id: str, question_id: Any) -> Dict[str, Any]:
        """Closes an open question unanswered. Raises PublishApiError."""
        return self._call("POST", f"{_question(team_id, user_id, question_id)}/dismiss")

    def record_ask(self, team_id: str, user_id: str, asker_team_id: str, asker_user_id: str,
                   topic_id: Optional[int] = None) -> Dict[str, Any]:
        """Logs an ask the owner's bot answered (from `topic_id`). Raises PublishApiError."""
        body = {"asker_team_id": asker_team_id, "asker_user_id": asker_user_id,
                "topic_id": topic_id}
        return self._call("POST", f"{_owner(team_id, user_id)}/asks", body)

    def import_topics(self, team_id: str, user_id: str, data: bytes, media_type: str,
                      dry_run: bool) -> Dict[str, Any]:
        """Imports a JSON or CSV topics file in merge mode; returns the report. Raises
        PublishApiError (ImportInvalid with the problems in `details`, TooLarge, Rejected:
        `malformed_request`, status 415)."""
        path = (f"{_owner(team_id, user_id)}/topics/import?mode=merge"
                f"&dry_run={'true' if dry_run else 'false'}")
        return self._request("POST", path, file=(data, media_type))[0]

    def export_topics(self, team_id: str, user_id: str, file_format: str) -> bytes:
        """The owner's topics as a file publish-api's import reads back (`csv` or `json`)."""
        path = f"{_owner(team_id, user_id)}/topics/export?format={quote(file_format)}"
        return self._request("GET", path, raw=True)[0]

    def _call(self, method: str, path: str, body: Optional[Dict[str, Any]] = None) -> Any:
        return self._request(method, path, body)[0]

    def _request(self, method: str, path: str, body: Optional[Dict[str, Any]] = None,
                 file: Optional[Tuple[bytes, str]] = None,
                 raw: bool = False) -> Tuple[Any, int]:
        attempts = 1 + (self._read_retries if method == "GET" else 0)
        for attempt in range(1, attempts + 1):
            try:
                return self._once(method, path, body, file, raw)
            except PublishApiUnavailable as error:
                if attempt == attempts:
                    raise
                logger.info("publish-api %s %s: %s; retry %d", method, path, error, attempt)
                time.sleep(RETRY_BACKOFF_S * attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(self, method: str, path: str, body: Optional[Dict[str, Any]],
              file: Optional[Tuple[bytes, str]] = None, raw: bool = False) -> Tuple[Any, int]:
        headers = self._headers if file is None else {**self._headers, "Content-Type": file[1]}
        try:
            response = self._session.request(method, self._base + path, json=body,
                                             data=file[0] if file else None,
                                             headers=headers, timeout=self._timeout,
                                             stream=True)
            content = _bounded(response, MAX_EXPORT_BYTES if raw else MAX_ANSWER_BYTES)
        except requests.RequestException as error:
            raise PublishApiUnavailable(
                f"publish-api unreachable ({type(error).__name__})") from None
        if response.status_code >= 400:
            raise _error_from(method, path, response, content)
        if raw:  # a file (an export): its bytes as publish-api wrote them
            return content, response.status_code
        if response.status_code == 204 or not content:
            return None, response.status_code
        try:
            return json.loads(content), response.status_code
        except ValueError:
            raise PublishApiUnavailable("publish-api sent a body that is not JSON",
                                        status=response.status_code) from None


def _bounded(response: requests.Response, limit: int) -> bytes:
    """The body, read up to `limit` bytes (what a file makes publish-api answer, an import's
    report, must not make the action server hold more)."""
    content = response.raw.read(limit + 1, decode_content=True)
    if len(content) > limit:
        response.close()  # the rest unread: the connection cannot be used again
        raise PublishApiUnavailable(f"publish-api sent more than {limit} bytes",
                                    status=response.status_code)
    response.raw.release_conn()  # read to its end: the session's next call reuses the connection
    return content


def _error_from(method: str, path: str, response: requests.Response,
                content: bytes) -> PublishApiError:
    try:
        error = (json.loads(content) or {}).get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    status = response.status_code
    code, message = error.get("code", ""), error.get("message", response.reason or "")
    kind = _error_kind(status, code)
    log = logger.warning if status >= 500 or status == 401 else logger.info
    log("publish-api %s %s answered %d %s", method, path, status, code)
    details = error.get("details") if isinstance(error.get("details"), list) else None
    return kind(f"publish-api {status} {code}: {message}", status=status, code=code,
                field=error.get("field"), details=details)


def _error_kind(status: int, code: str) -> type:
    """The error type of publish-api's answer: by its code, else by its status."""
    by_status = PublishApiUnavailable if status >= 500 else _ERRORS_BY_STATUS.get(status)
    by_code = _ERRORS_BY_CODE.get(code)
    if by_code is not None and (by_status is None or issubclass(by_code, by_status)):
        return by_code
    return by_status or PublishApiError


def _owner(team_id: str, user_id: str) -> str:
    return f"/v1/users/{quote(team_id, safe='')}/{quote(user_id, safe='')}"


def _question(team_id: str, user_id: str, question_id: Any) -> str:
    return f"{_owner(team_id, user_id)}/unanswered/{quote(str(question_id), safe='')}"


def _topic(team_id: str, user_id: str, topic_id: Any) -> str:
    return f"{_owner(team_id, user_id)}/topics/{quote(str(topic_id), safe='')}"
