"""Celery tasks: thin wrappers (ids in, retries, logging); the work is in pipeline.py.

Retries are Celery's own. Transient errors (publish-api or the Docker engine unreachable) and
owner_busy (another job of the owner, or another task, holds the lease) are retried with
exponential backoff and full jitter, capped at RETRY_BACKOFF_MAX_S, up to TASK_MAX_RETRIES times:
with the defaults ~17 minutes on average, longer than a job's lease in publish-api (JOB_LEASE_S,
10 minutes), after which a stuck job stops blocking its owner. Once retries are used up, at the
soft time limit, or on any unexpected error, `PublishTask.on_failure` fails the job in plain
words. A request publish-api refuses (an unexpected 4xx) is a bug no retry mends: the message is
rejected without requeueing, so RabbitMQ dead-letters it (or drops it without a policy).
"""

from __future__ import annotations

import logging

from celery import Task
from celery.exceptions import Reject, SoftTimeLimitExceeded

from . import notify
from .celery_app import app
from .errors import (
    ApiRejected,
    ApiUnavailable,
    BrokerError,
    JobClosed,
    OwnerBusy,
    RuntimeUnavailable,
)
from .pipeline import UNEXPECTED_FAILURE
from .questions import send_digest
from .worker import publisher, settings

logger = logging.getLogger(__name__)

TRANSIENT = (ApiUnavailable, RuntimeUnavailable, OwnerBusy)
RETRY_BACKOFF_MAX_S = 60
GAVE_UP = "publishing timed out waiting for another service. Please try again."
TOO_LONG = "building your bot took too long, so it was stopped. Please try again."


class PublishTask(Task):
    """Fails the job when the task fails (retries used up, time limit, a bug): never silently."""

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        if isinstance(exc, TRANSIENT):
            reason = GAVE_UP
        elif isinstance(exc, SoftTimeLimitExceeded):
            reason = TOO_LONG
        else:
            logger.error("job %s failed unexpectedly", args[0], exc_info=exc)
            reason = UNEXPECTED_FAILURE
        _fail(args[0], reason, task_id)


@app.task(name="publish_broker.publish", bind=True, base=PublishTask, acks_late=True,
          autoretry_for=TRANSIENT, retry_backoff=True, retry_backoff_max=RETRY_BACKOFF_MAX_S,
          retry_jitter=True, max_retries=settings().TASK_MAX_RETRIES)
def publish(self, job_id: int) -> str:
    """Build and deploy the bot of publish job `job_id` (idempotent; safe to redeliver).

    Raises the TRANSIENT errors (Celery retries them) and Reject (publish-api refused a request).
    """
    try:
        return publisher().run(job_id, claim=self.request.id)
    except JobClosed as exc:
        logger.info("job %s: nothing to do (%s)", job_id, exc)
        return "closed"
    except ApiRejected as exc:
        logger.error("job %s: %s; rejecting the message", job_id, exc)
        _fail(job_id, UNEXPECTED_FAILURE, self.request.id)
        raise Reject(str(exc), requeue=False) from exc


def _fail(job_id: int, reason: str, claim: str | None) -> None:
    """Fail the job and tell its owner, if publish-api lets us (best effort: this is the end)."""
    try:
        publisher().fail(publisher().api.job(job_id), reason, claim)
    except BrokerError as exc:
        logger.error("job %s: could not record its failure (%s)", job_id, exc)


@app.task(name="publish_broker.sweep", autoretry_for=(ApiUnavailable,), retry_backoff=True,
          retry_jitter=True, max_retries=3)
def sweep() -> dict:
    """Run by beat: fail the jobs whose worker is gone and tell their owners; publish-api sends
    lost queued jobs again. Idempotent: a failed job is listed by one sweep only.

    Raises ApiUnavailable (retried a few times; the next sweep comes anyway).
    """
    swept = publisher().api.sweep()
    for job in swept["failed"]:
        publisher().notifier.tell(job["user_id"], notify.failed_message(job["error"]))
    return {"failed": len(swept["failed"]), "resent": len(swept["resent"])}


@app.task(name="publish_broker.question_digest", bind=True, acks_late=True,
          autoretry_for=(ApiUnavailable,), retry_backoff=True,
          retry_backoff_max=RETRY_BACKOFF_MAX_S, retry_jitter=True,
          max_retries=settings().TASK_MAX_RETRIES)
def question_digest(self, team_id: str, user_id: str) -> str:
    """DM the owner the questions their bot could not answer (idempotent: publish-api hands each
    question to one digest). Before the owner's period is over, Celery runs it again when it is.

    Raises ApiUnavailable (retried), Retry, Reject (publish-api refused: e.g. no such owner).
    """
    try:
        wait = send_digest(publisher().api, publisher().notifier, team_id, user_id)
    except ApiRejected as exc:
        logger.error("digest of %s/%s: %s; rejecting the message", team_id, user_id, exc)
        raise Reject(str(exc), requeue=False) from exc
    if wait is not None:
        raise self.retry(countdown=wait)
    return "sent"
