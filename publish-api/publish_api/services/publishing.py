"""Publishing: immutable versions, the job state machine, and handing jobs to the broker."""

from __future__ import annotations

import hashlib
import json
from functools import partial

from sqlalchemy import null, select, update
from sqlalchemy.orm import Session

from ..db import on_commit, raise_commit_errors
from ..errors import (
    InvalidTransition,
    NotFound,
    NothingToPublish,
    OwnerBusy,
    QueueUnavailable,
    VersionPruned,
)
from ..models import ACTIVE_STATES, FINAL_STATES, Bot, Job, User, Version, utcnow
from ..queue import PublishQueue
from ..schemas import TransitionIn
from .owners import MAX_SQL_INT, lock_owner
from .topics import active_topics, snapshot_entry

CURRENT_STATES = ("queued", "training", "deploying", "live")
# Jobs whose version the broker may still read: their snapshots are never pruned.
UNFINISHED_STATES = ("queued", "training", "deploying")
UNQUEUED_ERROR = "the publish queue is unreachable; please publish again in a moment"


def publish(
    session: Session, owner: User, queue: PublishQueue, keep_versions: int
) -> tuple[dict, bool]:
    """Snapshot the owner's topics and queue a job; returns (job, created).

    Nothing changed since the current version → that version's job, nothing enqueued. The task is
    sent only after the commit; older snapshots beyond `keep_versions` are pruned in the same
    transaction. Raises NothingToPublish, QueueUnavailable (the job is then failed).
    """
    lock_owner(session, owner)
    snapshot = [snapshot_entry(t) for t in active_topics(session, owner)]
    digest = content_digest(snapshot)
    current = _current_job(session, owner)
    unchanged = current is not None and current.version.digest == digest
    if unchanged and not _bot_reported_down(session, current):
        return job_view(current), False
    if not snapshot and current is None:
        raise NothingToPublish("add a topic before publishing", "topics")
    job = _new_job(session, owner, snapshot, digest)
    prune_snapshots(session, owner.id, keep_versions)
    on_commit(session, partial(queue.send_publish, job.id))
    session.commit()
    try:
        raise_commit_errors(session)
    except QueueUnavailable:
        _fail_unqueued(session, job.id)
        raise
    return job_view(job), True


def content_digest(snapshot: list[dict]) -> str:
    """sha256 of the canonical JSON of a snapshot: equal content, equal digest."""
    canonical = json.dumps(snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def get_job(session: Session, job_id: int) -> dict:
    """Raises NotFound."""
    return job_view(_job(session, job_id))


def get_version(session: Session, version_id: int) -> dict:
    """A version with its snapshot. Raises NotFound, VersionPruned (its snapshot was pruned)."""
    version = session.get(Version, version_id) if version_id <= MAX_SQL_INT else None
    if version is None:
        raise NotFound(f"no version {version_id}", "version_id")
    if version.topics is None:
        raise VersionPruned(f"version {version_id} is old; its snapshot was pruned", "version_id")
    owner = session.get(User, version.owner_id)
    return {
        "id": version.id,
        "digest": version.digest,
        "team_id": owner.team_id,
        "user_id": owner.slack_user_id,
        "created_at": version.created_at,
        "topics": version.topics,
    }


def transition(session: Session, job_id: int, change: TransitionIn, keep_versions: int) -> dict:
    """Move a job to its next state (the broker's only way to write state); a job going live
    prunes the snapshots it made unnecessary (see prune_snapshots).

    Raises NotFound, InvalidTransition (from a final or wrong state), OwnerBusy (another job of
    the owner is being trained or deployed).
    """
    lock_owner(session, _job(session, job_id).owner)
    job = _job(session, job_id, lock=True)
    if job.state in FINAL_STATES:
        raise InvalidTransition(f"job {job.id} is already {job.state}", "state")
    _STEPS[change.state](session, job, change)
    job.updated_at = utcnow()
    if job.state == "live":
        prune_snapshots(session, job.owner_id, keep_versions)
    session.commit()
    return job_view(job)


def _to_training(session: Session, job: Job, _change: TransitionIn) -> None:
    # A redelivered task may take over a job already training or deploying (its worker died).
    busy = session.scalars(
        select(Job.id).where(
            Job.owner_id == job.owner_id, Job.id != job.id, Job.state.in_(ACTIVE_STATES)
        )
    ).first()
    if busy is not None:
        raise OwnerBusy(f"job {busy} of the same owner is in progress", "state")
    job.state = "training"
    job.started_at = job.started_at or utcnow()


def _to_deploying(_session: Session, job: Job, _change: TransitionIn) -> None:
    _require(job, ("training", "deploying"), "deploying")
    job.state = "deploying"


def _to_live(session: Session, job: Job, change: TransitionIn) -> None:
    _require(job, ("deploying",), "live")
    bot = _bot(session, job.owner_id)
    bot.live_job_id, bot.endpoint, bot.model_digest = job.id, change.endpoint, change.model_digest
    bot.health, bot.last_error, bot.updated_at = "healthy", None, utcnow()
    job.state, job.error, job.finished_at = "live", None, utcnow()


def _to_failed(session: Session, job: Job, change: TransitionIn) -> None:
    bot = _bot(session, job.owner_id)
    bot.last_error, bot.updated_at = change.error, utcnow()
    job.state, job.error, job.finished_at = "failed", change.error, utcnow()


_STEPS = {
    "training": _to_training,
    "deploying": _to_deploying,
    "live": _to_live,
    "failed": _to_failed,
}


def _require(job: Job, sources: tuple[str, ...], target: str) -> None:
    if job.state not in sources:
        raise InvalidTransition(f"job {job.id} cannot go from {job.state} to {target}", "state")


def _bot(session: Session, owner_id: int) -> Bot:
    bot = session.scalars(select(Bot).where(Bot.owner_id == owner_id)).first()
    if bot is None:
        bot = Bot(owner_id=owner_id)
        session.add(bot)
    return bot


def _job(session: Session, job_id: int, lock: bool = False) -> Job:
    query = select(Job).where(Job.id == job_id)
    if lock:
        query = query.with_for_update(of=Job).execution_options(populate_existing=True)
    job = session.scalars(query).first() if job_id <= MAX_SQL_INT else None
    if job is None:
        raise NotFound(f"no job {job_id}", "job_id")
    return job


def _current_job(session: Session, owner: User) -> Job | None:
    """The newest job that is live or on its way to be: what a publish is compared against."""
    query = (
        select(Job)
        .where(Job.owner_id == owner.id, Job.state.in_(CURRENT_STATES))
        .order_by(Job.id.desc())
        .limit(1)
    )
    return session.scalars(query).first()


def _bot_reported_down(session: Session, job: Job) -> bool:
    """Whether `job` is live but its bot was reported down: publishing it again restarts it."""
    if job.state != "live":
        return False
    bot = session.scalars(select(Bot).where(Bot.owner_id == job.owner_id)).first()
    return bot is not None and bot.live_job_id == job.id and bot.health == "unhealthy"


def _new_job(session: Session, owner: User, snapshot: list[dict], digest: str) -> Job:
    # A newer publish supersedes older ones still waiting: the owner wants the latest content.
    session.execute(
        update(Job)
        .where(Job.owner_id == owner.id, Job.state == "queued")
        .values(
            state="superseded",
            error="superseded by a newer publish",
            finished_at=utcnow(),
            updated_at=utcnow(),
        )
    )
    version = Version(owner_id=owner.id, digest=digest, topics=snapshot, topic_count=len(snapshot))
    job = Job(owner=owner, version=version, state="queued")
    session.add(job)
    session.flush()
    return job


def prune_snapshots(session: Session, owner_id: int, keep: int) -> int:
    """Drop the snapshots of the owner's old versions; returns how many.

    Kept: the `keep` newest, the live one, and any an unfinished job refers to (the broker reads
    it while it trains). The version rows stay, small, for the jobs that name them. Callers hold
    the owner lock, so no job can claim a version while it is being pruned.
    """
    newest = select(Version.id).where(Version.owner_id == owner_id)
    newest = newest.order_by(Version.id.desc()).limit(keep)
    unfinished = select(Job.version_id).where(
        Job.owner_id == owner_id, Job.state.in_(UNFINISHED_STATES)
    )
    live = select(Job.version_id).join(Bot, Bot.live_job_id == Job.id)
    live = live.where(Bot.owner_id == owner_id)
    kept = set(session.scalars(newest)) | set(session.scalars(unfinished))
    kept |= set(session.scalars(live))
    result = session.execute(
        update(Version)
        .where(Version.owner_id == owner_id, Version.topics.is_not(None), Version.id.not_in(kept))
        .values(topics=null())
    )
    return result.rowcount


def _fail_unqueued(session: Session, job_id: int) -> None:
    session.execute(
        update(Job)
        .where(Job.id == job_id)
        .values(state="failed", error=UNQUEUED_ERROR, finished_at=utcnow(), updated_at=utcnow())
    )
    session.commit()


def job_view(job: Job) -> dict:
    return {
        "id": job.id,
        "version_id": job.version_id,
        "team_id": job.owner.team_id,
        "user_id": job.owner.slack_user_id,
        "state": job.state,
        "error": job.error,
        "digest": job.version.digest,
        "topic_count": job.version.topic_count,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }
