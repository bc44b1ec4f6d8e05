"""Topics: an owner's questions and answers, and whether the live bot already knows them."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..errors import TopicLimit, TopicNotFound, ValidationFailed
from ..models import Bot, Topic, User, utcnow
from ..schemas import TopicIn, TopicPatch
from . import asks
from .owners import MAX_SQL_INT, lock_owner

MAX_ALTERNATIVES = 20


def list_topics(session: Session, owner: User, limit: int, cursor: int | None = None) -> dict:
    """A page of the owner's current topics, oldest first, each marked published or pending.

    At most `limit` topics after the topic id `cursor`; `next_cursor` is None on the last page.
    """
    live = live_snapshot(session, owner)
    query = _active(owner).order_by(Topic.id).limit(limit + 1)
    if cursor is not None:
        query = query.where(Topic.id > cursor)
    topics = session.scalars(query).all()
    more = len(topics) > limit
    topics = topics[:limit]
    deleted = session.scalar(
        select(func.count()).where(
            Topic.owner_id == owner.id,
            Topic.deleted_at.is_not(None),
            Topic.id.in_(list(live) or [-1]),
        )
    )
    asked = asks.asked_this_week(session, owner, [t.id for t in topics])
    return {
        "topics": [{**topic_view(t, live), "asked_this_week": asked.get(t.id, 0)}
                   for t in topics],
        "pending_deletions": deleted,
        "next_cursor": str(topics[-1].id) if more else None,
    }


def create_topic(session: Session, owner: User, data: TopicIn, max_topics: int) -> dict:
    """Add a topic. The owner row is locked so concurrent creates cannot pass the cap.

    Raises TopicLimit when the owner already has `max_topics` topics.
    """
    topic = new_topic(session, owner, data, max_topics)
    session.commit()
    return topic_view(topic, live_snapshot(session, owner))


def new_topic(session: Session, owner: User, data: TopicIn, max_topics: int) -> Topic:
    """create_topic without the commit: the caller commits. Raises TopicLimit."""
    lock_owner(session, owner)
    count = session.scalar(select(func.count()).select_from(_active(owner).subquery()))
    if count >= max_topics:
        raise TopicLimit(f"an owner can have at most {max_topics} topics", "question")
    topic = Topic(
        owner_id=owner.id,
        question=data.question,
        answer=data.answer,
        alternatives=unique(data.alternatives),
    )
    session.add(topic)
    session.flush()
    return topic


def get_topic(session: Session, owner: User, topic_id: int) -> dict:
    """One topic. Raises TopicNotFound."""
    return topic_view(_locked(session, owner, topic_id, lock=False), live_snapshot(session, owner))


def update_topic(session: Session, owner: User, topic_id: int, patch: TopicPatch) -> dict:
    """Change the given fields only, under a row lock, so concurrent edits of others survive."""
    topic = _locked(session, owner, topic_id)
    for name in patch.model_fields_set:
        value = getattr(patch, name)
        setattr(topic, name, unique(value) if name == "alternatives" else value)
    topic.updated_at = utcnow()
    session.commit()
    return topic_view(topic, live_snapshot(session, owner))


def add_alternative(session: Session, owner: User, topic_id: int, text: str) -> dict:
    """Append one alternative phrasing. Raises ValidationFailed past 20 alternatives."""
    topic = append_alternative(session, owner, topic_id, text)
    session.commit()
    return topic_view(topic, live_snapshot(session, owner))


def append_alternative(session: Session, owner: User, topic_id: int, text: str) -> Topic:
    """add_alternative without the commit: the caller commits. Raises TopicNotFound,
    ValidationFailed."""
    topic = _locked(session, owner, topic_id)
    if text not in topic.alternatives:
        if len(topic.alternatives) >= MAX_ALTERNATIVES:
            raise ValidationFailed(f"a topic has at most {MAX_ALTERNATIVES} alternatives", "text")
        topic.alternatives = [*topic.alternatives, text]
        topic.updated_at = utcnow()
    return topic


def delete_topic(session: Session, owner: User, topic_id: int) -> None:
    """Record the deletion; the live bot keeps answering the topic until the next publish."""
    topic = _locked(session, owner, topic_id)
    topic.deleted_at = utcnow()
    session.commit()


def delete_all(session: Session, owner: User) -> int:
    """Record the deletion of every current topic; returns how many."""
    result = session.execute(
        update(Topic)
        .where(Topic.owner_id == owner.id, Topic.deleted_at.is_(None))
        .values(deleted_at=utcnow())
    )
    session.commit()
    return result.rowcount


def active_topics(session: Session, owner: User) -> list[Topic]:
    return list(session.scalars(_active(owner).order_by(Topic.id)))


def snapshot_entry(topic: Topic) -> dict:
    """What a published version stores of a topic (and what 'published' is compared against)."""
    return {
        "id": topic.id,
        "question": topic.question,
        "alternatives": list(topic.alternatives),
        "answer": topic.answer,
    }


def live_snapshot(session: Session, owner: User) -> dict[int, dict]:
    """The topics the owner's live bot answers, by id ({} when nothing is live)."""
    bot = session.scalars(select(Bot).where(Bot.owner_id == owner.id)).first()
    if bot is None or bot.live_job is None:
        return {}
    return {entry["id"]: entry for entry in bot.live_job.version.topics}


def topic_view(topic: Topic, live: dict[int, dict]) -> dict:
    published = live.get(topic.id) == snapshot_entry(topic)
    return {
        **snapshot_entry(topic),
        "state": "published" if published else "pending",
        "live": topic.id in live,
        "created_at": topic.created_at,
        "updated_at": topic.updated_at,
    }


def _active(owner: User):
    return select(Topic).where(Topic.owner_id == owner.id, Topic.deleted_at.is_(None))


def _locked(session: Session, owner: User, topic_id: int, lock: bool = True) -> Topic:
    if topic_id > MAX_SQL_INT:
        raise TopicNotFound(f"no topic {topic_id}", "topic_id")
    query = _active(owner).where(Topic.id == topic_id)
    if lock:  # re-read under the lock: another request may just have changed the row
        query = query.with_for_update().execution_options(populate_existing=True)
    topic = session.scalars(query).first()
    if topic is None:
        raise TopicNotFound(f"no topic {topic_id} for this user", "topic_id")
    return topic


def unique(values: list[str]) -> list[str]:
    """The values without repeats, in their first order."""
    return list(dict.fromkeys(values))
