"""Questions an owner's bot could not answer, kept so the owner can add topics for them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import UnansweredQuestion, User
from ..schemas import UnansweredIn

LIST_LIMIT = 200


def record(session: Session, owner: User, data: UnansweredIn) -> dict:
    item = UnansweredQuestion(
        owner_id=owner.id,
        question=data.question,
        asker_team_id=data.asker_team_id,
        asker_user_id=data.asker_user_id,
    )
    session.add(item)
    session.commit()
    return _view(item)


def list_for(session: Session, owner: User) -> dict:
    """The newest questions first (at most 200)."""
    query = (
        select(UnansweredQuestion)
        .where(UnansweredQuestion.owner_id == owner.id)
        .order_by(UnansweredQuestion.id.desc())
        .limit(LIST_LIMIT)
    )
    return {"unanswered": [_view(item) for item in session.scalars(query)]}


def _view(item: UnansweredQuestion) -> dict:
    return {
        "id": item.id,
        "question": item.question,
        "asker_team_id": item.asker_team_id,
        "asker_user_id": item.asker_user_id,
        "created_at": item.created_at,
    }
