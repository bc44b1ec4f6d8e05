"""Request and response shapes: requests are validated with these, /openapi.json built from them."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

SLACK_ID_PATTERN = r"^[A-Z0-9]{1,32}$"
# C0 controls but tab, newline and carriage return; DEL; C1 controls. NUL in particular: SQLite
# stores it, PostgreSQL refuses it, so it must never reach the database.
CONTROL_CHARACTERS = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f"
_CONTROL = re.compile(f"[{CONTROL_CHARACTERS}]")


def _no_control_characters(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


# Characters that show nothing or turn the text around it (Trojan Source): zero-width space, word
# joiner, byte order mark, the bidirectional marks, embeddings, overrides and isolates. Stripped:
# pasted text brings them along unseen, and a question that reads one way and is stored another
# misleads whoever reads it. Zero-width (non-)joiners stay: emoji sequences and scripts need them.
_INVISIBLE = re.compile("[\u200b\u2060\ufeff\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")
# Tag characters, but where they spell a subdivision flag (black flag, tags, cancel tag).
_TAGS = re.compile("(\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f)|[\U000e0000-\U000e007f]")


def _without_invisible_characters(value):
    if not isinstance(value, str):
        return value  # the type check that follows names the problem
    return _TAGS.sub(lambda match: match.group(1) or "", _INVISIBLE.sub("", value))


def text(**constraints):
    """Free text a client sends: invisible and direction-changing characters stripped, then
    `constraints` (StringConstraints; an empty result is refused as empty), then no control
    characters, checked with a clear message and described in /openapi.json."""
    return Annotated[
        str,
        StringConstraints(**constraints),
        BeforeValidator(_without_invisible_characters),  # wraps the constraints: runs first
        AfterValidator(_no_control_characters),
        Field(json_schema_extra={"pattern": f"^[^{CONTROL_CHARACTERS}]*$"}),
    ]


# Printable ASCII, no spaces: the bot address the broker reports.
ENDPOINT_PATTERN = r"^https?://[!-~]+$"
SlackId = Annotated[str, StringConstraints(pattern=SLACK_ID_PATTERN)]
Question = text(strip_whitespace=True, min_length=1, max_length=300)
Answer = text(strip_whitespace=True, min_length=1, max_length=3000)
DisplayName = text(strip_whitespace=True, min_length=1, max_length=200)
ErrorText = text(max_length=2000)
AskedQuestion = text(strip_whitespace=True, min_length=1, max_length=3000)
ModelDigest = text(min_length=1, max_length=128)
Alternatives = Annotated[list[Question], Field(max_length=20)]
JobState = Literal["queued", "training", "deploying", "live", "failed", "superseded"]


class Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class UserIn(Strict):
    display_name: DisplayName


class TopicIn(Strict):
    question: Question
    answer: Answer
    alternatives: Alternatives = []


class TopicPatch(Strict):
    question: Question | None = None
    answer: Answer | None = None
    alternatives: Alternatives | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> TopicPatch:
        if not self.model_fields_set:
            raise ValueError("give at least one of question, answer, alternatives")
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class TopicPage(BaseModel):
    """Query of a topic list. Not strict: query values are strings. Other names are ignored."""

    limit: int | None = Field(default=None, ge=1)
    # Opaque to clients: the next_cursor of the previous page (the last topic id it held).
    cursor: int | None = Field(default=None, ge=1, le=2**31 - 1)


# What publish-api knows of a topic in an export: the live bot answers it as it is (published),
# answers an older form of it (changed), does not know it yet (unpublished), or still answers it
# though it was deleted (deleted: until the next publish goes live).
ExportState = Literal["published", "changed", "unpublished", "deleted"]


class TopicRecord(Strict):
    """A topic in an export or import file: validated as a created topic is."""

    question: Question
    answer: Answer
    alternatives: Alternatives = []
    # Ignored on import but for `deleted`: such rows are skipped (they describe the live bot).
    state: ExportState | None = None


class ExportQuery(BaseModel):
    format: Literal["json", "csv"] = "json"


class ImportQuery(BaseModel):
    """Not strict: query values are strings ("true", "false")."""

    mode: Literal["merge", "replace"] = "merge"
    dry_run: bool = False


class AlternativeIn(Strict):
    text: Question


class TransitionIn(Strict):
    state: Literal["training", "deploying", "live", "failed"]
    error: ErrorText | None = None
    endpoint: (
        Annotated[str, StringConstraints(pattern=ENDPOINT_PATTERN, max_length=500)] | None
    ) = None
    model_digest: ModelDigest | None = None
    # The broker task's id: the job's lease holder (a different task may not take it over).
    claim: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    # With `training`: the queue delivered this task again after its worker was lost.
    redelivered: bool = False

    @model_validator(mode="after")
    def _fields_of_state(self) -> TransitionIn:
        if self.state == "live" and not {"endpoint", "model_digest"} <= self.model_fields_set:
            raise ValueError("a live transition needs endpoint and model_digest")
        if self.state == "live" and (self.endpoint is None) != (self.model_digest is None):
            # Both null: the owner deleted every topic and the bot was stopped (retired).
            raise ValueError("endpoint and model_digest are both set, or both null (retired)")
        if self.state == "failed" and not self.error:
            raise ValueError("a failed transition needs error")
        return self


class BotHealthIn(Strict):
    health: Literal["healthy", "unhealthy"]
    error: ErrorText | None = None


RowId = Annotated[int, Field(ge=1, le=2**31 - 1)]
QuestionState = Literal["open", "answered", "attached", "dismissed"]
QuestionKind = Literal["not_answered", "wrong_answer"]


class UnansweredIn(Strict):
    """A question the bot did not answer, or (kind wrong_answer, with what the bot answered and
    the topic it answered from) one whose answer the asker marked unhelpful."""

    question: AskedQuestion
    asker_team_id: SlackId
    asker_user_id: SlackId
    kind: QuestionKind = "not_answered"
    given_answer: Answer | None = None
    topic_id: RowId | None = None

    @model_validator(mode="after")
    def _answer_of_kind(self) -> UnansweredIn:
        if (self.kind == "wrong_answer") != (self.given_answer is not None):
            raise ValueError("given_answer goes with kind wrong_answer, and only with it")
        return self


class UnansweredQuery(BaseModel):
    """Query of the question list: one state, or every state when absent."""

    state: QuestionState | None = None


class AnswerIn(Strict):
    answer: Answer


class AttachIn(Strict):
    topic_id: RowId


class AskIn(Strict):
    """An ask the bot answered, from `topic_id` (null when the bot's topic is not known)."""

    asker_team_id: SlackId
    asker_user_id: SlackId
    topic_id: RowId | None = None


class DailyQuery(BaseModel):
    days: int = Field(default=14, ge=1, le=90)


# Responses (documentation of what the API returns; also checked by the schemathesis test).
class UserOut(BaseModel):
    team_id: str
    user_id: str
    display_name: str
    created_at: datetime


class TopicOut(BaseModel):
    id: int
    question: str
    alternatives: list[str]
    answer: str
    state: Literal["published", "pending"]
    live: bool = Field(description="whether the live bot answers this topic, in this form or "
                       "an older one")
    created_at: datetime
    updated_at: datetime


class TopicsFile(BaseModel):
    """An export, and an import's JSON body (each row is validated on its own, see TopicRecord)."""

    topics: list[TopicRecord]


class TopicsFileIn(TopicsFile):
    """An import's JSON body: the shape of an export."""


class ImportItem(BaseModel):
    row: int | None
    id: int | None
    question: str


class ImportProblem(BaseModel):
    row: int | None
    field: str | None
    message: str


class ImportReport(BaseModel):
    dry_run: bool
    mode: Literal["merge", "replace"]
    added: list[ImportItem]
    changed: list[ImportItem]
    unchanged: list[ImportItem]
    deleted: list[ImportItem]
    skipped: list[ImportItem]
    errors: list[ImportProblem] = Field(description="the first 100 problems, in file order")
    error_count: int = Field(description="how many problems the file has in all")


class Deleted(BaseModel):
    deleted: int


class JobOut(BaseModel):
    id: int
    version_id: int
    team_id: str
    user_id: str
    state: JobState
    error: str | None
    digest: str
    topic_count: int
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    lease_expires_at: datetime | None
    deliveries: int = Field(description="how many times the broker was handed the job's task")


class SweepOut(BaseModel):
    failed: list[JobOut]
    resent: list[int]


class JobEnvelope(BaseModel):
    job: JobOut


class SnapshotTopic(BaseModel):
    id: int
    question: str
    alternatives: list[str]
    answer: str


class VersionOut(BaseModel):
    id: int
    digest: str
    team_id: str
    user_id: str
    created_at: datetime
    topics: list[SnapshotTopic]
    # Questions the owner dismissed (oldest first): the bot is trained to refuse them.
    dismissed_questions: list[str] = []


class BotOut(BaseModel):
    team_id: str
    user_id: str
    display_name: str
    live_version_id: int | None
    live_job_id: int | None
    endpoint: str | None
    model_digest: str | None
    health: str
    last_error: str | None
    updated_at: datetime


class TopicListItem(TopicOut):
    # Asks the bot answered from this topic in the last 7 days (the ask log).
    asked_this_week: int


class TopicList(BaseModel):
    topics: list[TopicListItem]
    pending_deletions: int
    next_cursor: str | None


class UnansweredOut(BaseModel):
    id: int
    question: str
    asker_team_id: str
    asker_user_id: str
    created_at: datetime
    state: QuestionState
    kind: QuestionKind
    given_answer: str | None
    topic_id: int | None
    resolved_at: datetime | None


class UnansweredList(BaseModel):
    unanswered: list[UnansweredOut]


class ResolvedOut(BaseModel):
    """The questions a resolution closed (the one named, and open ones of the same words) and
    the topic they went to (null for a dismissal)."""

    questions: list[UnansweredOut]
    topic: TopicOut | None


class AskOut(BaseModel):
    id: int
    answered: bool
    topic_id: int | None
    created_at: datetime


class DayCount(BaseModel):
    date: str
    answered: int
    unanswered: int


class DailyAsks(BaseModel):
    days: list[DayCount]


class DigestOut(BaseModel):
    """Questions claimed for the owner's digest, or none and when to try again."""

    questions: list[UnansweredOut]
    retry_after: float | None


class DeliveryOut(BaseModel):
    id: int
    question: str
    answer: str
    asker_team_id: str
    asker_user_id: str
    owner_user_id: str
    owner_display_name: str


class DeliveryList(BaseModel):
    deliveries: list[DeliveryOut]


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    database: Literal["ok", "unreachable"]
    queue: Literal["ok", "unreachable"]


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None
    # An import's problems, row by row (code import_invalid).
    details: list[ImportProblem] | None = None


class ErrorOut(BaseModel):
    error: ErrorDetail
