"""Export and import of an owner's topics (the file formats are in topic_files.py).

Import matches each row to a current topic by its question (ignoring case and runs of spaces):
no match is `added`, a match with other content is `changed` (it takes the file's question,
answer and alternatives), an equal one `unchanged`. Rows whose state is `deleted` are `skipped`:
they describe what the live bot answers until the next publish, not a topic to have. Topics
absent from the file are kept (mode `merge`, the default), or deleted (mode `replace`; deleted
as DELETE does it: the live bot answers them until the next publish).

All of it happens in one transaction under the owner's lock, after every row was validated and
the cap checked: a file with any problem changes nothing. A dry run reports the same without
writing. A report names the first MAX_REPORTED_PROBLEMS problems and counts them all
(`error_count`): what a file makes publish-api answer stays small, whatever the file holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import ImportInvalid
from ..models import Topic, User, utcnow
from ..schemas import ImportQuery, TopicRecord
from .owners import lock_owner
from .topic_files import Problem, TopicFile
from .topics import active_topics, live_snapshot, snapshot_entry, unique

MAX_REPORTED_PROBLEMS = 100


@dataclass
class Plan:
    """What an import does: (row, topic, record) per outcome; `deleted` topics have no row."""

    added: list[tuple[int, Topic | None, TopicRecord]] = field(default_factory=list)
    changed: list[tuple[int, Topic, TopicRecord]] = field(default_factory=list)
    unchanged: list[tuple[int, Topic, TopicRecord]] = field(default_factory=list)
    skipped: list[tuple[int, None, TopicRecord]] = field(default_factory=list)
    deleted: list[Topic] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def export_topics(session: Session, owner: User) -> list[dict]:
    """The owner's current topics, then those deleted but still live, each with its state."""
    live = live_snapshot(session, owner)
    records = [_record(topic, _state(topic, live)) for topic in active_topics(session, owner)]
    deleted = select(Topic).where(
        Topic.owner_id == owner.id, Topic.deleted_at.is_not(None), Topic.id.in_(list(live) or [-1])
    )
    records += [_record(topic, "deleted") for topic in session.scalars(deleted.order_by(Topic.id))]
    return records


def import_topics(
    session: Session, owner: User, file: TopicFile, options: ImportQuery, max_topics: int
) -> dict:
    """Apply `file` to the owner's topics (or, on a dry run, only report what it would do).

    Raises ImportInvalid (nothing changed) when a row is invalid, a question appears twice or the
    owner would pass `max_topics` topics; a dry run reports these problems instead.
    """
    lock_owner(session, owner)
    plan = _plan(active_topics(session, owner), file, options.mode, max_topics)
    if options.dry_run:
        session.rollback()
        return _report(plan, options)
    if plan.problems:
        session.rollback()
        raise ImportInvalid(_summary(plan.problems), "file", _reported(plan.problems))
    _apply(session, owner, plan)
    session.commit()
    return _report(plan, options)


def _plan(current: list[Topic], file: TopicFile, mode: str, max_topics: int) -> Plan:
    plan, by_key, seen = Plan(problems=list(file.problems)), {}, {}
    for topic in reversed(current):  # the oldest topic wins when two share a question
        by_key[_key(topic.question)] = topic
    for row, record in file.rows:
        if record.state == "deleted":
            plan.skipped.append((row, None, record))
            continue
        key = _key(record.question)
        if key in seen:
            plan.problems.append(Problem(row, "question", f"the same question as row {seen[key]}"))
            continue
        seen[key] = row
        topic = by_key.get(key)
        outcome = plan.added if topic is None else (
            plan.unchanged if _same(topic, record) else plan.changed)
        outcome.append((row, topic, record))
    if mode == "replace":
        matched = {topic.id for _row, topic, _record in plan.changed + plan.unchanged}
        plan.deleted = [topic for topic in current if topic.id not in matched]
    _check_cap(plan, file, len(current), max_topics)
    plan.problems.sort(key=lambda p: (p.row is None, p.row or 0))  # in file order; stable
    return plan


def _check_cap(plan: Plan, file: TopicFile, current: int, max_topics: int) -> None:
    # A file with more rows than the cap was refused whole by its reader (topic_files).
    after = current + len(plan.added) - len(plan.deleted)
    if file.row_count <= max_topics and after > max_topics:
        plan.problems.append(Problem(None, "topics", (
            f"an owner can have at most {max_topics} topics: the file has {file.row_count} "
            f"rows, and the owner would have {after} topics after this import")))


def _apply(session: Session, owner: User, plan: Plan) -> None:
    now = utcnow()
    for index, (row, _none, record) in enumerate(plan.added):
        topic = Topic(owner_id=owner.id, question=record.question, answer=record.answer,
                      alternatives=unique(record.alternatives))
        session.add(topic)
        plan.added[index] = (row, topic, record)
    for _row, topic, record in plan.changed:
        topic.question, topic.answer = record.question, record.answer
        topic.alternatives, topic.updated_at = unique(record.alternatives), now
    for topic in plan.deleted:
        topic.deleted_at = now
    session.flush()  # gives the added topics their ids, for the report


def _report(plan: Plan, options: ImportQuery) -> dict:
    def items(entries):
        return [{"row": row, "id": topic.id if topic else None, "question": record.question}
                for row, topic, record in entries]

    return {
        "dry_run": options.dry_run,
        "mode": options.mode,
        "added": items(plan.added),
        "changed": items(plan.changed),
        "unchanged": items(plan.unchanged),
        "deleted": [{"row": None, "id": t.id, "question": t.question} for t in plan.deleted],
        "skipped": items(plan.skipped),
        "errors": _reported(plan.problems),
        "error_count": len(plan.problems),
    }


def _reported(problems: list[Problem]) -> list[dict]:
    return [problem.view() for problem in problems[:MAX_REPORTED_PROBLEMS]]


def _summary(problems: list[Problem]) -> str:
    first = problems[0]
    where = f"row {first.row}" if first.row is not None else "the file"
    more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
    return f"nothing was imported: {where}: {first.message}{more}"


def _same(topic: Topic, record: TopicRecord) -> bool:
    return (topic.question, topic.answer, list(topic.alternatives)) == (
        record.question, record.answer, unique(record.alternatives))


def _key(question: str) -> str:
    return " ".join(question.split()).casefold()


def _state(topic: Topic, live: dict[int, dict]) -> str:
    if topic.id not in live:
        return "unpublished"
    return "published" if live[topic.id] == snapshot_entry(topic) else "changed"


def _record(topic: Topic, state: str) -> dict:
    return {"question": topic.question, "answer": topic.answer,
            "alternatives": list(topic.alternatives), "state": state}
