"""The database tables of publish-api (SQLAlchemy 2 declarative models)."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: DateTime(timezone=True)}


class Workspace(Base):
    __tablename__ = "workspaces"
    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("workspace_id", "slack_user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"))
    slack_user_id: Mapped[str] = mapped_column(String(32))
    display_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    workspace: Mapped[Workspace] = relationship(lazy="joined")

    @property
    def team_id(self) -> str:
        return self.workspace.team_id


class Topic(Base):
    __tablename__ = "topics"
    __table_args__ = (Index("ix_topics_owner_active", "owner_id", "deleted_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    question: Mapped[str] = mapped_column(String(300))
    alternatives: Mapped[list] = mapped_column(JSON, default=list)
    answer: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Deletion is recorded, not applied: the live bot keeps the topic until the next publish.
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class Version(Base):
    """An immutable snapshot of an owner's topics at publish time."""

    __tablename__ = "versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    digest: Mapped[str] = mapped_column(String(64))
    topic_count: Mapped[int] = mapped_column(default=0)
    # The snapshot can be megabytes: loaded only when read (job views need none of it), and
    # NULL once pruned (services/publishing.py keeps the live, in-progress and recent ones).
    topics: Mapped[list | None] = mapped_column(JSON(none_as_null=True), deferred=True)
    # The questions the owner had dismissed (texts, oldest first): the bot learns to refuse
    # them. NULL when there were none, for versions published before, and once pruned.
    dismissed_questions: Mapped[list | None] = mapped_column(
        JSON(none_as_null=True), deferred=True, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_owner_state", "owner_id", "state"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"))
    state: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    # While training or deploying: until when the job counts as worked on, and by which task.
    # Each broker transition renews it; past it, a publish or another task may take the job back.
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    lease_holder: Mapped[str | None] = mapped_column(String(64), default=None)
    # How many times the broker was handed the job's task: once, and once more each time the
    # queue delivered it again after its worker was lost (publishing.MAX_DELIVERIES).
    deliveries: Mapped[int] = mapped_column(default=0, server_default="0")
    version: Mapped[Version] = relationship(lazy="joined")
    owner: Mapped[User] = relationship(lazy="joined")


class Bot(Base):
    __tablename__ = "bots"
    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    live_job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"), default=None)
    endpoint: Mapped[str | None] = mapped_column(String(500), default=None)
    model_digest: Mapped[str | None] = mapped_column(String(128), default=None)
    health: Mapped[str] = mapped_column(String(16), default="unknown")
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    owner: Mapped[User] = relationship(lazy="joined")
    live_job: Mapped[Job | None] = relationship(lazy="joined")


class UnansweredQuestion(Base):
    """A question an owner's bot did not answer, or answered wrongly (the asker said so)."""

    __tablename__ = "unanswered_questions"
    __table_args__ = (Index("ix_unanswered_owner_state", "owner_id", "state"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    asker_team_id: Mapped[str] = mapped_column(String(32))
    asker_user_id: Mapped[str] = mapped_column(String(32))
    question: Mapped[str] = mapped_column(String(3000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # open, then answered (a topic was made of it), attached (added to a topic) or dismissed.
    state: Mapped[str] = mapped_column(String(16), default="open")
    # not_answered, or wrong_answer: the bot answered `given_answer` and the asker said 👎.
    kind: Mapped[str] = mapped_column(String(16), default="not_answered")
    given_answer: Mapped[str | None] = mapped_column(Text, default=None)
    # The topic it became or joined (answered, attached); for a wrong answer, before that, the
    # topic that answered.
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id"), default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    # When the owner's digest named it, and when the asker was sent the answer (once each).
    owner_notified_at: Mapped[datetime | None] = mapped_column(default=None)
    asker_notified_at: Mapped[datetime | None] = mapped_column(default=None)


class Ask(Base):
    """One question put to an owner's bot: the ask log (counts per day, per topic)."""

    __tablename__ = "asks"
    __table_args__ = (
        Index("ix_asks_owner_created", "owner_id", "created_at"),
        Index("ix_asks_asker_created", "asker_team_id", "asker_user_id", "created_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    asker_team_id: Mapped[str] = mapped_column(String(32))
    asker_user_id: Mapped[str] = mapped_column(String(32))
    answered: Mapped[bool] = mapped_column(Boolean)
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


FINAL_STATES = ("live", "failed", "superseded")
ACTIVE_STATES = ("training", "deploying")
