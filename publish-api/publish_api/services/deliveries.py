"""Answers owed to askers: once a topic made from (or joined by) their question is live, each
asker is told the answer in a DM, once.

The broker reads the deliveries of a job that went live, sends each, then marks it delivered.
Marking after sending means a worker that dies in between sends that one again on redelivery:
a rare duplicate DM rather than an answer never sent.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import QuestionNotFound
from ..models import UnansweredQuestion, utcnow
from .owners import MAX_SQL_INT
from .publishing import get_job_row

RESOLVED = ("answered", "attached")


def due(session: Session, job_id: int) -> dict:
    """The answers the live job `job_id` owes its owner's askers (none unless the job is the
    live one). Raises NotFound (no such job)."""
    job = get_job_row(session, job_id)
    if job.state != "live" or job.version.topics is None:
        return {"deliveries": []}
    snapshot = {entry["id"]: entry for entry in job.version.topics}
    owed = session.scalars(
        select(UnansweredQuestion)
        .where(UnansweredQuestion.owner_id == job.owner_id,
               UnansweredQuestion.state.in_(RESOLVED),
               UnansweredQuestion.asker_notified_at.is_(None),
               UnansweredQuestion.topic_id.in_(list(snapshot) or [-1]))
        .order_by(UnansweredQuestion.id))
    return {"deliveries": [
        {"id": item.id, "question": item.question, "answer": snapshot[item.topic_id]["answer"],
         "asker_team_id": item.asker_team_id, "asker_user_id": item.asker_user_id,
         "owner_user_id": job.owner.slack_user_id, "owner_display_name": job.owner.display_name}
        for item in owed
    ]}


def mark_delivered(session: Session, job_id: int, question_id: int) -> None:
    """Record that the asker of `question_id` was told (idempotent). Raises NotFound,
    QuestionNotFound (not a question of the job's owner)."""
    job = get_job_row(session, job_id)
    item = session.get(UnansweredQuestion, question_id) if question_id <= MAX_SQL_INT else None
    if item is None or item.owner_id != job.owner_id:
        raise QuestionNotFound(f"no question {question_id} for the owner of job {job_id}",
                               "question_id")
    if item.asker_notified_at is None:
        item.asker_notified_at = utcnow()
    session.commit()
