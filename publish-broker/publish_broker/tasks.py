"""Celery tasks: thin wrappers (ids in, retries, logging); the work is in pipeline.py."""

from __future__ import annotations

import logging

from celery.exceptions import MaxRetriesExceededError

from .api_client import ApiUnavailable, JobClosed, OwnerBusy
from .celery_app import app
from .errors import RuntimeUnavailable
from .pipeline import UNEXPECTED_FAILURE
from .worker import publisher

logger = logging.getLogger(__name__)

OWNER_BUSY_RETRY_S = 2
MAX_RETRIES = 30


@app.task(name="publish_broker.publish", bind=True, acks_late=True, max_retries=MAX_RETRIES)
def publish(self, job_id: int) -> str:
    """Build and deploy the bot of publish job `job_id` (idempotent; safe to redeliver)."""
    try:
        return publisher().run(job_id)
    except JobClosed as exc:
        logger.info("job %s: nothing to do (%s)", job_id, exc)
        return "closed"
    except OwnerBusy:
        # Jobs of one owner run one at a time, in order: wait for the running one.
        return _retry_or_fail(self, job_id, countdown=OWNER_BUSY_RETRY_S)
    except (ApiUnavailable, RuntimeUnavailable) as exc:
        logger.warning("job %s: %s; retrying", job_id, exc)
        return _retry_or_fail(self, job_id, countdown=min(60, 2**self.request.retries))
    except Exception:
        logger.exception("job %s failed unexpectedly", job_id)
        return _fail(job_id, UNEXPECTED_FAILURE)


def _retry_or_fail(task, job_id: int, countdown: float) -> str:
    """Schedule a retry (raises celery's Retry); once retries are used up, fail the job."""
    try:
        raise task.retry(countdown=countdown)
    except MaxRetriesExceededError:
        return _fail(job_id, "publishing timed out waiting for another service. Please try again.")


def _fail(job_id: int, reason: str) -> str:
    try:
        job = publisher().api.job(job_id)
        return publisher().fail(job, reason)
    except (ApiUnavailable, JobClosed):
        logger.exception("job %s: could not record its failure", job_id)
        return "failed"
