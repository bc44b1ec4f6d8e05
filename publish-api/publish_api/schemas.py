"""Request and response shapes: requests are validated with these, /openapi.json built from them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

SLACK_ID_PATTERN = r"^[A-Z0-9]{1,32}$"

SlackId = Annotated[str, StringConstraints(pattern=SLACK_ID_PATTERN)]
Question = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Answer = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=3000)]
Alternatives = Annotated[list[Question], Field(max_length=20)]
JobState = Literal["queued", "training", "deploying", "live", "failed", "superseded"]


class Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class UserIn(Strict):
    display_name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
    ]


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


class AlternativeIn(Strict):
    text: Question


class TransitionIn(Strict):
    state: Literal["training", "deploying", "live", "failed"]
    error: Annotated[str, StringConstraints(max_length=2000)] | None = None
    endpoint: (
        Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=500)] | None
    ) = None
    model_digest: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    # The broker task's id: the job's lease holder (a different task may not take it over).
    claim: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None

    @model_validator(mode="after")
    def _fields_of_state(self) -> TransitionIn:
        if self.state == "live" and not (self.model_digest and "endpoint" in self.model_fields_set):
            raise ValueError("a live transition needs endpoint and model_digest")
        if self.state == "failed" and not self.error:
            raise ValueError("a failed transition needs error")
        return self


class BotHealthIn(Strict):
    health: Literal["healthy", "unhealthy"]
    error: Annotated[str, StringConstraints(max_length=2000)] | None = None


class UnansweredIn(Strict):
    question: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=3000)
    ]
    asker_team_id: SlackId
    asker_user_id: SlackId


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
    created_at: datetime
    updated_at: datetime


class TopicList(BaseModel):
    topics: list[TopicOut]
    pending_deletions: int


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


class UnansweredOut(BaseModel):
    id: int
    question: str
    asker_team_id: str
    asker_user_id: str
    created_at: datetime


class UnansweredList(BaseModel):
    unanswered: list[UnansweredOut]


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    database: Literal["ok", "unreachable"]
    broker: Literal["ok", "unreachable"]


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorOut(BaseModel):
    error: ErrorDetail
