"""The Celery application of the broker: `celery -A publish_broker.celery_app worker`."""

from __future__ import annotations

import logging
import os

from celery import Celery
from celery.signals import worker_process_init
from kombu import Queue

from .errors import PublishFailed
from .worker import settings, warm_up

logger = logging.getLogger(__name__)


def make_celery() -> Celery:
    config = settings()
    app = Celery("publish_broker", broker=config.BROKER_URL, include=["publish_broker.tasks"])
    app.conf.update(
        task_serializer="json", accept_content=["json"], result_backend=None,
        task_ignore_result=True,
        task_queues=[Queue(config.PUBLISH_QUEUE, routing_key=config.PUBLISH_QUEUE)],
        task_default_queue=config.PUBLISH_QUEUE,
        # Ack after the work, one message at a time: a worker killed mid-task gives its job back.
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        # Below publish-api's job lease, so a hung task ends before another may take its job.
        # Enforced by the prefork pool; the solo pool (make run, compose) cannot interrupt a task.
        task_soft_time_limit=config.TASK_SOFT_TIME_LIMIT_S,
        task_time_limit=config.TASK_TIME_LIMIT_S,
        broker_transport_options=_confirmed_publishing(config.BROKER_URL),
        # `worker -B` runs the sweep: a job whose worker was killed (its message lost on the
        # SQLite transport) is failed and its owner told, without waiting for their next
        # publish. Kept in memory: an interval needs no schedule file, and a second beat (two
        # workers with -B) only sweeps twice, which changes nothing.
        beat_scheduler="celery.beat:Scheduler",
        beat_schedule={"sweep-jobs": {
            "task": "publish_broker.sweep", "schedule": config.SWEEP_INTERVAL_S,
            "options": {"expires": config.SWEEP_INTERVAL_S}}},
    )
    return app


def _confirmed_publishing(broker_url: str) -> dict:
    # Retries re-publish the task: wait for RabbitMQ's ack so none is dropped unnoticed. Only
    # RabbitMQ has confirms; kombu's SQLite transport passes its options to create_engine.
    return {"confirm_publish": True} if broker_url.startswith(("amqp", "pyamqp")) else {}


app = make_celery()


@worker_process_init.connect
def _warm(**_kwargs) -> None:
    # Celery only logs a failing signal handler: a worker that cannot train (bad settings, no
    # WordNet, a broken install) would then take jobs and fail each one. Refuse to start instead.
    try:
        warm_up()
    except Exception as exc:
        logger.critical("publish-broker cannot start: %s", _reason(exc))
        os._exit(3)


def _reason(exc: Exception) -> str:
    if isinstance(exc, PublishFailed):
        return f"{exc.message_for_owner} ({type(exc.__cause__).__name__}: {exc.__cause__})"
    return f"{type(exc).__name__}: {exc}"
