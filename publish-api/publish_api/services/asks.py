"""The ask log: one row per question put to an owner's bot, answered or not.

It feeds the per-asker rate limit (no one floods an owner), the owner's "asked this week" per
topic, and the daily counts (GET .../asks/daily). Answered asks keep no question text: only the
topic that answered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import RateLimited, TopicNotFound
from ..models import Ask, Topic, UnansweredQuestion, User, utcnow
from ..schemas import AskIn
from .owners import lock_owner

RATE_WINDOW = timedelta(hours=1)
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Asker:
    team_id: str
    user_id: str


def record_answered(session: Session, owner: User, data: AskIn, per_hour: int) -> dict:
    """Log an ask the bot answered (from `data.topic_id`, one of the owner's topics, if known).

    Raises RateLimited (the asker's hourly asks to this owner are used up), TopicNotFound.
    """
    # Serialises this owner's rate checks with their writes (as unanswered.record does): two
    # asks at once would otherwise both count the same past hour and both pass the last place.
    lock_owner(session, owner)
    asker = Asker(data.asker_team_id, data.asker_user_id)
    check_rate(session, owner, asker, per_hour)
    if data.topic_id is not None:
        owned_topic(session, owner, data.topic_id)
    ask = log(session, owner, asker, data.topic_id)
    session.commit()
    return ask_view(ask)


def owned_topic(session: Session, owner: User, topic_id: int) -> Topic:
    """The owner's topic `topic_id`, deleted or not (a live bot may still answer from a deleted
    one). Raises TopicNotFound."""
    topic = session.get(Topic, topic_id)
    if topic is None or topic.owner_id != owner.id:
        raise TopicNotFound(f"no topic {topic_id} for this user", "topic_id")
    return topic


def log(session: Session, owner: User, asker: Asker, topic_id: int | None,
        answered: bool = True) -> Ask:
    """Add an ask to the session (the caller commits)."""
    ask = Ask(owner_id=owner.id, asker_team_id=asker.team_id, asker_user_id=asker.user_id,
              answered=answered, topic_id=topic_id)
    session.add(ask)
    session.flush()
    return ask


def check_rate(session: Session, owner: User, asker: Asker, per_hour: int) -> None:
    """Raises RateLimited when `asker` put `per_hour` asks or reports to `owner` in the last
    hour (asks of any kind, and answers marked wrong, which reach the owner too)."""
    since = utcnow() - RATE_WINDOW
    asks = select(Ask.created_at).where(
        Ask.owner_id == owner.id, Ask.asker_team_id == asker.team_id,
        Ask.asker_user_id == asker.user_id, Ask.created_at > since)
    reports = select(UnansweredQuestion.created_at).where(
        UnansweredQuestion.owner_id == owner.id, UnansweredQuestion.kind == "wrong_answer",
        UnansweredQuestion.asker_team_id == asker.team_id,
        UnansweredQuestion.asker_user_id == asker.user_id,
        UnansweredQuestion.created_at > since)
    recent = sorted(_aware(t) for t in [*session.scalars(asks), *session.scalars(reports)])
    if len(recent) >= per_hour:
        # Free again once the oldest ask that counts leaves the window.
        wait = recent[len(recent) - per_hour] + RATE_WINDOW - utcnow()
        raise RateLimited(
            f"this person asked {per_hour} questions of this owner in the last hour; "
            "try again later", max(1, math.ceil(wait.total_seconds())))


def daily(session: Session, owner: User, days: int) -> dict:
    """Asks per UTC day, answered and unanswered, for the `days` days ending today, oldest
    first, days without asks included."""
    today = utcnow().date()
    first = today - timedelta(days=days - 1)
    day = _day(session)
    rows = session.execute(
        select(day, Ask.answered, func.count())
        .where(Ask.owner_id == owner.id, Ask.created_at >= _midnight(first))
        .group_by(day, Ask.answered)
    )
    counts: dict[tuple[str, bool], int] = {(d, bool(a)): n for d, a, n in rows}
    dates = [(first + timedelta(days=i)).isoformat() for i in range(days)]
    return {"days": [
        {"date": d, "answered": counts.get((d, True), 0), "unanswered": counts.get((d, False), 0)}
        for d in dates
    ]}


def asked_this_week(session: Session, owner: User, topic_ids: list[int]) -> dict[int, int]:
    """Answered asks per topic over the last 7 days, for `topic_ids` (absent: none)."""
    if not topic_ids:
        return {}
    rows = session.execute(
        select(Ask.topic_id, func.count())
        .where(Ask.owner_id == owner.id, Ask.topic_id.in_(topic_ids),
               Ask.created_at > utcnow() - WEEK)
        .group_by(Ask.topic_id)
    )
    return dict(rows.all())


def ask_view(ask: Ask) -> dict:
    return {"id": ask.id, "answered": ask.answered, "topic_id": ask.topic_id,
            "created_at": ask.created_at}


def _day(session: Session):
    """The UTC date of an ask as YYYY-MM-DD, in the database's own dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", Ask.created_at), "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d", Ask.created_at)  # SQLite keeps UTC timestamps as text


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


def _aware(moment: datetime) -> datetime:
    # SQLite hands timestamps back without their zone; they are UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
