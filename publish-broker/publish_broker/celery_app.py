"""The Celery application of the broker: `celery -A publish_broker.celery_app worker`."""

from __future__ import annotations

from celery import Celery
from celery.signals import worker_process_init
from kombu import Queue

from .worker import settings, warm_up


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
    )
    return app


app = make_celery()


@worker_process_init.connect
def _warm(**_kwargs) -> None:
    warm_up()
