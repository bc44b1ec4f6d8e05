"""The publish queue: Celery (client side only) over QUEUE_URL (RabbitMQ, or kombu's SQLite
transport)."""

from __future__ import annotations

import logging
import uuid

from celery import Celery
from kombu.exceptions import KombuError, OperationalError

from .errors import QueueUnavailable

logger = logging.getLogger(__name__)

PUBLISH_TASK = "publish_broker.publish"
DIGEST_TASK = "publish_broker.question_digest"


def confirmed_publishing(queue_url: str) -> dict:
    """Transport options making each publish wait for RabbitMQ's ack (publisher confirms).

    A message the queue refuses or drops on the way then raises instead of vanishing. Only
    RabbitMQ has confirms; kombu's SQLite transport hands its options to SQLAlchemy's
    create_engine, which refuses unknown ones (and stores the message before returning anyway).
    """
    return {"confirm_publish": True} if queue_url.startswith(("amqp", "pyamqp")) else {}


class PublishQueue:
    """Sends publish tasks; the broker (publish-broker) consumes them from `queue_name`."""

    def __init__(self, queue_url: str, queue_name: str, timeout_s: float):
        self.queue_name = queue_name
        self.timeout_s = timeout_s
        self.celery = Celery("publish_api", broker=queue_url, set_as_current=False)
        self.celery.conf.update(
            task_serializer="json",
            broker_connection_timeout=timeout_s,
            broker_connection_retry_on_startup=False,
            task_default_queue=queue_name,
            broker_transport_options=confirmed_publishing(queue_url),
        )

    def send_publish(self, job_id: int) -> None:
        """Enqueue the publish task for `job_id`. Raises QueueUnavailable."""
        try:
            self.celery.send_task(
                PUBLISH_TASK,
                args=[job_id],
                # The broker's log names each task by its id: this one then names its job.
                task_id=f"job-{job_id}-{uuid.uuid4().hex}",
                queue=self.queue_name,
                retry=True,
                retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
                confirm_timeout=self.timeout_s,
            )
        except Exception as exc:  # whatever the queue says, the job must not look queued
            logger.error("could not enqueue job %s: %s", job_id, type(exc).__name__)
            raise QueueUnavailable(
                "the publish queue is unreachable; please publish again in a moment"
            ) from None
        logger.info("queued publish job %s", job_id)

    def send_question_digest(self, team_id: str, user_id: str, countdown_s: float) -> bool:
        """Enqueue the owner's question digest to run in `countdown_s` seconds; False (logged)
        when the queue is unreachable: the question stays recorded, and the owner's next
        question's digest names it too."""
        try:
            self.celery.send_task(
                DIGEST_TASK, args=[team_id, user_id], countdown=max(0.0, countdown_s),
                queue=self.queue_name, retry=True,
                retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
                confirm_timeout=self.timeout_s)
        except Exception as exc:  # a digest must never cost the question it announces
            logger.warning("could not enqueue the digest of %s/%s: %s", team_id, user_id,
                           type(exc).__name__)
            return False
        return True

    def ping(self) -> bool:
        """Whether the queue accepts a connection within the timeout."""
        try:
            with self.celery.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=self.timeout_s)
            return True
        except (OperationalError, KombuError, OSError):
            return False
