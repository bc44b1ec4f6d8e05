"""Publishing: immutable versions, the job state machine, and handing jobs to the broker.

A job in training or deploying holds a lease (`JOB_LEASE_S`) that every broker transition renews.
A job whose lease expired has lost its worker or its message: the owner's next publish, the
claim of another of their jobs, or the broker's periodic sweep fails it ("timed out") so that it
blocks nothing. A job still `queued` after `QUEUED_RESEND_S` may have lost its message: an
unchanged publish, or the sweep, sends it again (tasks pass ids and claim the job, so a
duplicate message does no harm).

A task whose worker dies (out of memory, a crash) goes back to the queue and is delivered again,
saying so in its `training` transition: a job whose task has been delivered MAX_DELIVERIES times
is failed at the next delivery, so a job that kills every worker it reaches does not block a
worker forever; the broker tells its owner.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
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
from .unanswered import dismissed_texts

logger = logging.getLogger(__name__)

CURRENT_STATES = ("queued", "training", "deploying", "live")
# Jobs whose version the broker may still read: their snapshots are never pruned.
UNFINISHED_STATES = ("queued", "training", "deploying")
UNQUEUED_ERROR = "the publish queue is unreachable; please publish again in a moment"
TIMED_OUT_ERROR = "publishing timed out: the bot builder stopped working on it. Please try again."
MAX_DELIVERIES = 3
CRASHED_ERROR = (f"building your bot stopped the bot builder {MAX_DELIVERIES} times, so it was "
                 "given up. Your previous version (if any) is still answering; if this happens "
                 "again, please tell whoever runs the FAQ assistant.")


@dataclass(frozen=True)
class JobPolicy:
    """How long an active job's lease lasts; after how long a queued job's task is sent again;
    how many published snapshots an owner keeps (see prune_snapshots)."""

    lease: timedelta
    resend_queued_after: timedelta
    keep_versions: int

    @classmethod
    def from_settings(cls, settings) -> JobPolicy:
        return cls(
            lease=timedelta(seconds=settings.JOB_LEASE_S),
            resend_queued_after=timedelta(seconds=settings.QUEUED_RESEND_S),
            keep_versions=settings.KEEP_VERSIONS,
        )


def publish(
    session: Session, owner: User, queue: PublishQueue, policy: JobPolicy
) -> tuple[dict, bool]:
    """Snapshot the owner's topics and dismissed questions and queue a job; returns (job,
    created).

    Expired jobs are failed first. Nothing changed since the current version → that version's job,
    nothing enqueued, unless it has been queued too long (its task is sent again). A task is sent
    only after the commit; older snapshots beyond `policy.keep_versions` are pruned in the same
    transaction. Raises NothingToPublish, QueueUnavailable (the job is then failed).
    """
    lock_owner(session, owner)
    expire_leases(session, owner.id)
    snapshot = [snapshot_entry(t) for t in active_topics(session, owner)]
    dismissed = dismissed_texts(session, owner)
    digest = version_digest(snapshot, dismissed)
    current = _current_job(session, owner)
    if current is not None and current.version.digest == digest:
        if _stale_queued(session, current, policy):
            logger.warning("job %s queued since %s: resending", current.id, current.updated_at)
            return _commit_and_send(session, current, queue), False
        if not _bot_reported_down(session, current):
            session.commit()  # keeps the failures of expired jobs
            return job_view(current), False
    if not snapshot and current is None:
        raise NothingToPublish("add a topic before publishing", "topics")
    job = _new_job(session, owner, snapshot, digest, dismissed)
    prune_snapshots(session, owner.id, policy.keep_versions)
    return _commit_and_send(session, job, queue), True


def _commit_and_send(session: Session, job: Job, queue: PublishQueue) -> dict:
    """Commit, then send the job's task. Raises QueueUnavailable (the job is then failed)."""
    job.updated_at = utcnow()
    on_commit(session, partial(queue.send_publish, job.id))
    session.commit()
    try:
        raise_commit_errors(session)
    except QueueUnavailable:
        _fail_unqueued(session, job.id)
        raise
    return job_view(job)


def expire_leases(session: Session, owner_id: int, keep: int | None = None) -> list[Job]:
    """Fail the owner's active jobs (but `keep`) whose lease expired: their worker is gone.
    Returns the jobs it failed."""
    active = select(Job).where(Job.owner_id == owner_id, Job.state.in_(ACTIVE_STATES))
    expired = [job for job in session.scalars(active).all()
               if job.id != keep and _lease_expired(job)]
    for job in expired:
        logger.warning("job %s: lease expired in %s; failing it", job.id, job.state)
        _fail(session, job, TIMED_OUT_ERROR)
    return expired


def sweep(session: Session, queue: PublishQueue, policy: JobPolicy) -> dict:
    """What the owners' next publishes would do, for owners who do not publish again: fail
    the jobs whose lease expired (their worker, or its message, is gone) and send again the
    tasks of jobs queued too long. Idempotent; the broker runs it periodically.

    Returns {"failed": [job views, to tell their owners], "resent": [job ids]}.
    """
    failed, resent = [], []
    busy = select(Job.owner_id).where(Job.state.in_(ACTIVE_STATES)).distinct()
    for owner_id in session.scalars(busy).all():
        # Under the owner's lock, as their publishes and claims expire leases.
        lock_owner(session, session.get(User, owner_id))
        failed += [job_view(job) for job in expire_leases(session, owner_id)]
        session.commit()
    queued_before = utcnow() - policy.resend_queued_after
    stale = select(Job.id).where(Job.state == "queued", Job.updated_at < queued_before)
    for job_id in session.scalars(stale).all():
        job = _job(session, job_id, lock=True)
        if not _stale_queued(session, job, policy):
            session.commit()
            continue
        logger.warning("job %s queued since %s: resending", job.id, job.updated_at)
        try:
            _commit_and_send(session, job, queue)
        except QueueUnavailable:
            failed.append(job_view(_job(session, job_id)))
            break  # the queue is down: the next sweep tries the others
        resent.append(job.id)
    return {"failed": failed, "resent": resent}


def _lease_expired(job: Job) -> bool:
    # No lease on an active job: stuck since before leases existed.
    return job.lease_expires_at is None or _aware(job.lease_expires_at) <= utcnow()


def _stale_queued(session: Session, job: Job, policy: JobPolicy) -> bool:
    if job.state != "queued" or utcnow() - _aware(job.updated_at) <= policy.resend_queued_after:
        return False
    # While another job of the owner holds its lease, this one is waiting its turn, not lost.
    return _other_active_job(session, job) is None


def _other_active_job(session: Session, job: Job) -> int | None:
    return session.scalars(
        select(Job.id).where(
            Job.owner_id == job.owner_id, Job.id != job.id, Job.state.in_(ACTIVE_STATES)
        )
    ).first()


def _aware(moment: datetime) -> datetime:
    # SQLite hands timestamps back without their zone; they are UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def version_digest(snapshot: list[dict], dismissed: list[str]) -> str:
    """The digest of a version's content: topics and dismissed questions. Without dismissed
    questions it is the topics' digest alone, as before they were snapshotted (so an owner who
    dismissed nothing gets no new version)."""
    if not dismissed:
        return content_digest(snapshot)
    return content_digest({"topics": snapshot, "dismissed_questions": dismissed})


def content_digest(snapshot: list[dict] | dict) -> str:
    """sha256 of the canonical JSON of a snapshot: equal content, equal digest."""
    canonical = json.dumps(snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def get_job(session: Session, job_id: int) -> dict:
    """Raises NotFound."""
    return job_view(_job(session, job_id))


def get_job_row(session: Session, job_id: int) -> Job:
    """The job itself, its version and owner loaded. Raises NotFound."""
    return _job(session, job_id)


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
        "dismissed_questions": version.dismissed_questions or [],
    }


def transition(session: Session, job_id: int, change: TransitionIn, policy: JobPolicy) -> dict:
    """Move a job to its next state (the broker's only way to write state); renews its lease; a
    job going live prunes the snapshots it made unnecessary (see prune_snapshots).

    Raises NotFound, InvalidTransition (from a final or wrong state, or by a task whose job was
    taken over), OwnerBusy (another job of the owner, or another task, holds a live lease).
    """
    lock_owner(session, _job(session, job_id).owner)
    job = _job(session, job_id, lock=True)
    if job.state in FINAL_STATES:
        raise InvalidTransition(f"job {job.id} is already {job.state}", "state")
    _check_holder(job, change)
    _STEPS[change.state](session, job, change)
    _renew_lease(job, policy)
    job.updated_at = utcnow()
    if job.state == "live":
        prune_snapshots(session, job.owner_id, policy.keep_versions)
    session.commit()
    return job_view(job)


def _check_holder(job: Job, change: TransitionIn) -> None:
    # A task whose job another task took over (its lease had expired) must stop, not race it.
    foreign = change.claim and job.lease_holder and change.claim != job.lease_holder
    if change.state != "training" and foreign:
        raise InvalidTransition(f"job {job.id} was taken over by another task", "claim")


def _renew_lease(job: Job, policy: JobPolicy) -> None:
    if job.state in ACTIVE_STATES:
        job.lease_expires_at = utcnow() + policy.lease
    else:
        job.lease_expires_at, job.lease_holder = None, None


def _to_training(session: Session, job: Job, change: TransitionIn) -> None:
    # A redelivered task (same claim) takes over a job whose worker died; so does any task once
    # the job's lease expired. Another task with the lease still live waits (owner_busy).
    expire_leases(session, job.owner_id, keep=job.id)
    busy = _other_active_job(session, job)
    if busy is not None:
        raise OwnerBusy(f"job {busy} of the same owner is in progress", "state")
    held = job.state in ACTIVE_STATES and not _lease_expired(job)
    if held and job.lease_holder != change.claim:
        raise OwnerBusy(f"job {job.id} is being worked on by another task", "state")
    if job.deliveries == 0 or change.redelivered:
        job.deliveries += 1
    if job.deliveries > MAX_DELIVERIES:
        logger.warning("job %s: delivered %d times, each worker lost; failing it", job.id,
                       job.deliveries)
        _fail(session, job, CRASHED_ERROR)
        return
    job.state, job.lease_holder = "training", change.claim
    job.started_at = job.started_at or utcnow()


def _to_deploying(_session: Session, job: Job, _change: TransitionIn) -> None:
    _require(job, ("training", "deploying"), "deploying")
    job.state = "deploying"


def _to_live(session: Session, job: Job, change: TransitionIn) -> None:
    _require(job, ("deploying",), "live")
    # The previous live job no longer answers: it must not read `live` any more.
    session.execute(
        update(Job)
        .where(Job.owner_id == job.owner_id, Job.state == "live", Job.id != job.id)
        .values(state="superseded", updated_at=utcnow())
    )
    bot = _bot(session, job.owner_id)
    bot.live_job_id, bot.endpoint, bot.model_digest = job.id, change.endpoint, change.model_digest
    bot.health, bot.last_error, bot.updated_at = "healthy", None, utcnow()
    job.state, job.error, job.finished_at = "live", None, utcnow()


def _to_failed(session: Session, job: Job, change: TransitionIn) -> None:
    _fail(session, job, change.error)


def _fail(session: Session, job: Job, reason: str) -> None:
    """Fail the job; the bot's live version is untouched, its last error records why."""
    bot = _bot(session, job.owner_id)
    bot.last_error, bot.updated_at = reason, utcnow()
    job.state, job.error, job.finished_at, job.updated_at = "failed", reason, utcnow(), utcnow()
    job.lease_expires_at, job.lease_holder = None, None


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


def _new_job(session: Session, owner: User, snapshot: list[dict], digest: str,
             dismissed: list[str] | None = None) -> Job:
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
    version = Version(owner_id=owner.id, digest=digest, topics=snapshot,
                      dismissed_questions=dismissed or None, topic_count=len(snapshot))
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
        .values(topics=null(), dismissed_questions=null())
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
        "lease_expires_at": job.lease_expires_at,
        "deliveries": job.deliveries,
    }
