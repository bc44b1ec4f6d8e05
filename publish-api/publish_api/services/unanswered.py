"""Questions an owner's bot could not answer (or answered wrongly), kept so the owner can make
topics of them, and the state each is in: open, then answered (a new topic was made of it),
attached (it became another phrasing of a topic) or dismissed.

Resolving a question resolves every open question of the owner with the same words (asked by
several people): all their askers are told the answer once the topic goes live (deliveries.py).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import QuestionClosed, QuestionLimit, QuestionNotFound, ValidationFailed
from ..models import UnansweredQuestion, User, utcnow
from ..schemas import TopicIn, UnansweredIn
from . import asks, topics
from .owners import MAX_SQL_INT, lock_owner

LIST_LIMIT = 200
TOPIC_QUESTION_MAX = 300
# The most recent dismissed questions a version carries; the broker's trainer reads as many
# (publish_broker.botproject.MAX_DISMISSED): older ones add little and cost training time.
MAX_DISMISSED_IN_VERSION = 500


def record(session: Session, owner: User, data: UnansweredIn, max_open: int,
           per_hour: int) -> tuple[dict, bool]:
    """Record a question (an unanswered one is also an ask in the log); returns (question,
    created). The same person asking the same open question again gets the first one back.

    Raises RateLimited, QuestionLimit (the owner has `max_open` open questions), TopicNotFound.
    """
    lock_owner(session, owner)  # serialises the cap and rate checks of this owner
    asker = asks.Asker(data.asker_team_id, data.asker_user_id)
    asks.check_rate(session, owner, asker, per_hour)
    if data.topic_id is not None:
        asks.owned_topic(session, owner, data.topic_id)
    if data.kind == "not_answered":
        asks.log(session, owner, asker, None, answered=False)
    same = _open_duplicate(session, owner, data)
    if same is not None:
        session.commit()
        return question_view(same), False
    if _open_count(session, owner) >= max_open:
        session.commit()  # the ask stays logged: it happened
        raise QuestionLimit(f"this owner already has {max_open} open questions", "question")
    item = UnansweredQuestion(
        owner_id=owner.id, question=data.question, asker_team_id=data.asker_team_id,
        asker_user_id=data.asker_user_id, kind=data.kind, given_answer=data.given_answer,
        topic_id=data.topic_id)
    session.add(item)
    session.commit()
    return question_view(item), True


def list_for(session: Session, owner: User, state: str | None = None) -> dict:
    """The newest questions first (at most 200), of one state or all."""
    query = select(UnansweredQuestion).where(UnansweredQuestion.owner_id == owner.id)
    if state is not None:
        query = query.where(UnansweredQuestion.state == state)
    query = query.order_by(UnansweredQuestion.id.desc()).limit(LIST_LIMIT)
    return {"unanswered": [question_view(item) for item in session.scalars(query)]}


def answer(session: Session, owner: User, question_id: int, text: str, max_topics: int) -> dict:
    """Make a topic of the question with `text` as its answer; the question (and open ones of
    the same words) become answered. Raises QuestionNotFound, QuestionClosed, ValidationFailed
    (the question is too long to be a topic's), TopicLimit."""
    item = _open_question(session, owner, question_id)
    topic = topics.new_topic(
        session, owner, TopicIn(question=_as_topic_question(item), answer=text), max_topics)
    return _resolve(session, owner, item, "answered", topic)


def attach(session: Session, owner: User, question_id: int, topic_id: int) -> dict:
    """Add the question to topic `topic_id` as another phrasing; it becomes attached. Raises
    QuestionNotFound, QuestionClosed, TopicNotFound, ValidationFailed."""
    item = _open_question(session, owner, question_id)
    topic = topics.append_alternative(session, owner, topic_id, _as_topic_question(item))
    return _resolve(session, owner, item, "attached", topic)


def dismiss(session: Session, owner: User, question_id: int) -> dict:
    """The owner will not answer it. Raises QuestionNotFound, QuestionClosed."""
    return _resolve(session, owner, _open_question(session, owner, question_id), "dismissed")


def dismissed_texts(session: Session, owner: User) -> list[str]:
    """The texts of the owner's dismissed questions for a version: each wording once (the
    latest spelling of words asked in several cases), oldest dismissal first, the last
    `MAX_DISMISSED_IN_VERSION`. Askers' ids are not included."""
    query = (select(UnansweredQuestion.question)
             .where(UnansweredQuestion.owner_id == owner.id,
                    UnansweredQuestion.state == "dismissed")
             .order_by(UnansweredQuestion.resolved_at, UnansweredQuestion.id))
    latest: dict[str, str] = {}
    for text in session.scalars(query):
        latest.pop(text.casefold(), None)  # moves a wording to its latest dismissal
        latest[text.casefold()] = text
    return list(latest.values())[-MAX_DISMISSED_IN_VERSION:]


def question_view(item: UnansweredQuestion) -> dict:
    return {
        "id": item.id,
        "question": item.question,
        "asker_team_id": item.asker_team_id,
        "asker_user_id": item.asker_user_id,
        "created_at": item.created_at,
        "state": item.state,
        "kind": item.kind,
        "given_answer": item.given_answer,
        "topic_id": item.topic_id,
        "resolved_at": item.resolved_at,
    }


def _resolve(session: Session, owner: User, item: UnansweredQuestion, state: str,
             topic=None) -> dict:
    same_words = select(UnansweredQuestion).where(
        UnansweredQuestion.owner_id == owner.id, UnansweredQuestion.state == "open",
        func.lower(UnansweredQuestion.question) == item.question.lower())
    closed = {item.id: item, **{q.id: q for q in session.scalars(same_words)}}
    for question in closed.values():
        question.state, question.resolved_at = state, utcnow()
        question.topic_id = topic.id if topic is not None else question.topic_id
    session.commit()
    live = topics.live_snapshot(session, owner)
    return {"questions": [question_view(q) for q in sorted(closed.values(), key=_newest)],
            "topic": topics.topic_view(topic, live) if topic is not None else None}


def _newest(item: UnansweredQuestion) -> int:
    return -item.id


def _open_question(session: Session, owner: User, question_id: int) -> UnansweredQuestion:
    lock_owner(session, owner)  # one resolution at a time: a double click closes it once
    item = None
    if question_id <= MAX_SQL_INT:
        item = session.scalars(
            select(UnansweredQuestion)
            .where(UnansweredQuestion.owner_id == owner.id, UnansweredQuestion.id == question_id)
            .execution_options(populate_existing=True)
        ).first()
    if item is None:
        raise QuestionNotFound(f"no question {question_id} for this user", "question_id")
    if item.state != "open":
        raise QuestionClosed(f"question {question_id} is {item.state} already", "state")
    return item


def _as_topic_question(item: UnansweredQuestion) -> str:
    if len(item.question) > TOPIC_QUESTION_MAX:
        raise ValidationFailed(
            f"the question is longer than a topic's question may be ({TOPIC_QUESTION_MAX} "
            "characters); add a shorter topic yourself", "question")
    return item.question


def _open_duplicate(session: Session, owner: User,
                    data: UnansweredIn) -> UnansweredQuestion | None:
    return session.scalars(select(UnansweredQuestion).where(
        UnansweredQuestion.owner_id == owner.id, UnansweredQuestion.state == "open",
        UnansweredQuestion.asker_team_id == data.asker_team_id,
        UnansweredQuestion.asker_user_id == data.asker_user_id,
        UnansweredQuestion.kind == data.kind,
        UnansweredQuestion.question == data.question)).first()


def _open_count(session: Session, owner: User) -> int:
    return session.scalar(select(func.count()).where(
        UnansweredQuestion.owner_id == owner.id, UnansweredQuestion.state == "open"))
