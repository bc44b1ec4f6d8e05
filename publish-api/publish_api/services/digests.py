"""The owner's digest of new questions: at most one Slack DM per period, naming each question
and who asked it.

Each recorded question enqueues the broker's digest task (queue.py) to run once the delay has
passed and the owner's period allows; the task claims here, atomically, every question no digest
named yet. A task that comes too early (another digest went out meanwhile) is told when to try
again (`retry_after`); one that finds nothing left (an earlier task took it) has nothing to send.
So every question is named once, however many tasks run, and in whatever order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import UnansweredQuestion, User, utcnow
from .owners import lock_owner
from .unanswered import question_view


@dataclass(frozen=True)
class DigestPolicy:
    """How long after a question its digest waits, and the least time between two digests."""

    delay: timedelta
    period: timedelta

    @classmethod
    def from_settings(cls, settings) -> DigestPolicy:
        return cls(delay=timedelta(seconds=settings.QUESTION_DIGEST_DELAY_S),
                   period=timedelta(seconds=settings.QUESTION_DIGEST_PERIOD_S))


def countdown(session: Session, owner: User, policy: DigestPolicy) -> float:
    """Seconds from now until a digest for the owner may go out (at least the delay)."""
    wait = policy.delay
    last = _last_digest(session, owner)
    if last is not None:
        wait = max(wait, last + policy.period - utcnow())
    return wait.total_seconds()


def announce(session: Session, owner: User, queue, policy: DigestPolicy) -> bool:
    """Enqueue the owner's digest task for when it may run (see countdown); False when the queue
    is unreachable (logged by the queue; the question stays pending)."""
    return queue.send_question_digest(owner.team_id, owner.slack_user_id,
                                      countdown(session, owner, policy))


def claim(session: Session, owner: User, policy: DigestPolicy) -> dict:
    """The questions for a digest now, marked as named (oldest first), or none and the seconds
    until the next digest may go out (None when nothing waits)."""
    lock_owner(session, owner)  # two tasks claiming at once: one gets the questions
    pending = list(session.scalars(
        select(UnansweredQuestion)
        .where(UnansweredQuestion.owner_id == owner.id, UnansweredQuestion.state == "open",
               UnansweredQuestion.owner_notified_at.is_(None))
        .order_by(UnansweredQuestion.id)
        .execution_options(populate_existing=True)))
    last = _last_digest(session, owner)
    if pending and last is not None and utcnow() < last + policy.period:
        session.commit()
        return {"questions": [], "retry_after": (last + policy.period - utcnow()).total_seconds()}
    now = utcnow()
    for item in pending:
        item.owner_notified_at = now
    session.commit()
    return {"questions": [question_view(item) for item in pending], "retry_after": None}


def _last_digest(session: Session, owner: User) -> datetime | None:
    last = session.scalar(select(func.max(UnansweredQuestion.owner_notified_at)).where(
        UnansweredQuestion.owner_id == owner.id))
    return last if last is None or last.tzinfo else last.replace(tzinfo=timezone.utc)
