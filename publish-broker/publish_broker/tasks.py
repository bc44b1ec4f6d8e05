"""Celery tasks: thin wrappers (ids in, retries, logging); the work is in pipeline.py.

Retries are Celery's own. Transient errors (publish-api or the Docker engine unreachable) and
owner_busy (another job of the owner, or another task, holds the lease) are retried with
exponential backoff and full jitter, capped at RETRY_BACKOFF_MAX_S, up to TASK_MAX_RETRIES times
(celery_app.py sets it from the settings): with the defaults ~17 minutes on average, longer than a
job's lease in publish-api (JOB_LEASE_S, 10 minutes), after which a stuck job stops blocking its
owner. Once retries are used up, at the soft time limit, or on any unexpected error,
`PublishTask.on_failure` fails the job in plain words; at the hard time limit the child running
the task is killed, and `PublishRequest.on_timeout`, in the worker's main process, fails it. A
request publish-api refuses (an unexpected 4xx) is a bug no retry mends: the message is rejected
without requeueing, so RabbitMQ dead-letters it (or drops it without a policy).

The tasks are `shared_task`s: they bind to the app that make_celery.py builds.
"""

from __future__ import annotations

import logging
import os
import signal

from celery import Task, shared_task
from celery.exceptions import Reject, SoftTimeLimitExceeded
from celery.worker.request import Request

from . import notify
from .api_client import PublishApiClient
from .errors import (
    ApiRejected,
    ApiUnavailable,
    BrokerError,
    JobClosed,
)
from .notify import SlackNotifier
from .pipeline import RETRIED, UNEXPECTED_FAILURE, fail_job
from .questions import send_digest
from .worker import publisher, settings

logger = logging.getLogger(__name__)

RETRY_BACKOFF_MAX_S = 60
GAVE_UP = "publishing timed out waiting for another service. Please try again."
TOO_LONG = "building your bot took too long, so it was stopped. Please try again."


class PublishRequest(Request):
    """A publish task's request, in the worker's main process, which outlives the child that a
    hard time limit kills: that child cannot fail its job, so the request does."""

    def on_timeout(self, soft: bool, timeout: float) -> None:
        super().on_timeout(soft, timeout)
        if soft:
            return  # the task itself gets SoftTimeLimitExceeded and fails its job
        if self.worker_pid:
            # Celery kills the child after this returns: first, so that it cannot move the job
            # on (to live, say) once the job is failed.
            os.kill(self.worker_pid, signal.SIGKILL)
        _fail_from_main_process(self.args[0], TOO_LONG, self.id)


class PublishTask(Task):
    """Fails the job when the task fails (retries used up, time limit, a bug): never silently."""

    Request = PublishRequest

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        if isinstance(exc, RETRIED):
            reason = GAVE_UP
        elif _timed_out(exc):
            reason = TOO_LONG
        else:
            logger.error("job %s failed unexpectedly", args[0], exc_info=exc)
            reason = UNEXPECTED_FAILURE
        _fail(args[0], reason, task_id)


def _timed_out(exc: BaseException | None) -> bool:
    # Rasa wraps what interrupts its training (GraphComponentException from SoftTimeLimitExceeded).
    while exc is not None:
        if isinstance(exc, SoftTimeLimitExceeded):
            return True
        exc = exc.__cause__
    return False


@shared_task(name="publish_broker.publish", bind=True, base=PublishTask, acks_late=True,
             autoretry_for=RETRIED, retry_backoff=True, retry_backoff_max=RETRY_BACKOFF_MAX_S,
             retry_jitter=True)
def publish(self, job_id: int) -> str:
    """Build and deploy the bot of publish job `job_id` (idempotent; safe to redeliver).

    Raises the RETRIED errors (Celery retries them) and Reject (publish-api refused a request).
    """
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    try:
        return publisher().run(job_id, claim=self.request.id, redelivered=redelivered)
    except JobClosed as exc:
        logger.info("job %s: nothing to do (%s)", job_id, exc)
        return "closed"
    except ApiRejected as exc:
        logger.error("job %s: %s; rejecting the message", job_id, exc)
        _fail(job_id, UNEXPECTED_FAILURE, self.request.id)
        raise Reject(str(exc), requeue=False) from exc


def _fail(job_id: int, reason: str, claim: str | None, api: PublishApiClient | None = None,
          notifier: SlackNotifier | None = None) -> None:
    """Fail the job and tell its owner, if publish-api lets us (best effort: this is the end),
    through `api` and `notifier` (default: this child's publisher's)."""
    api, notifier = api or publisher().api, notifier or publisher().notifier
    try:
        fail_job(api, notifier, api.job(job_id), reason, claim)
    except BrokerError as exc:
        logger.error("job %s: could not record its failure (%s)", job_id, exc)


def _fail_from_main_process(job_id: int, reason: str, claim: str) -> None:
    # With clients of its own: the main process shares no connection with the children it forks.
    config = settings()
    api = PublishApiClient(config.PUBLISH_API_URL, config.API_TOKEN, config.HTTP_TIMEOUT_S)
    notifier = SlackNotifier(config.SLACK_BOT_TOKEN, config.SLACK_API_URL)
    with api.session:
        _fail(job_id, reason, claim, api, notifier)


@shared_task(name="publish_broker.sweep", autoretry_for=(ApiUnavailable,), retry_backoff=True,
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


@shared_task(name="publish_broker.question_digest", bind=True, acks_late=True,
             autoretry_for=(ApiUnavailable,), retry_backoff=True,
             retry_backoff_max=RETRY_BACKOFF_MAX_S, retry_jitter=True)
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
