"""The broker's Celery application, built by `create_app`; make_celery.py is the worker's entry
point (`celery -A publish_broker.make_celery worker`).

The worker is Celery's prefork pool with one child. The main process takes messages, answers
`inspect ping`, runs beat's sweep and enforces the time limits; the child runs one task at a time
(training is CPU-bound) and is the only process that imports Rasa and TensorFlow, so a task over
its hard limit is killed with its child and a fresh child takes the next task. Each child warms up
before its first task (`worker_process_init`), so no publish pays Rasa's imports. A child that
cannot warm up ends the whole worker with the reason in the log: respawning it would fail again.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from functools import partial

from celery import Celery, platforms
from celery.signals import worker_init, worker_process_init
from celery.worker import WorkController
from kombu import Queue

from . import logs
from .errors import PublishFailed
from .settings import Settings
from .worker import settings, warm_up

logger = logging.getLogger(__name__)

# The main process waits a little longer than WARM_UP_TIMEOUT_S for a child before killing it, so
# that the child's own deadline, which names the problem, comes first.
_MAIN_PROCESS_GRACE_S = 30
# What a child sends the main process when it cannot warm up. Celery leaves SIGUSR2 alone unless
# CELERY_RDBSIG asks for its remote debugger.
CHILD_CANNOT_START = signal.SIGUSR2


def create_app(config: Settings | None = None) -> Celery:
    """The broker's Celery app, configured from `config` (default: the environment's settings).

    Raises SettingsError (naming the variable) when the environment's settings are invalid.
    """
    config = config or settings()
    logs.drop_deprecation_notices()
    logs.one_line_records()
    app = Celery("publish_broker", broker=config.QUEUE_URL, include=["publish_broker.tasks"])
    app.conf.update(
        task_serializer="json", accept_content=["json"], result_backend=None,
        task_ignore_result=True,
        task_queues=[Queue(config.PUBLISH_QUEUE, routing_key=config.PUBLISH_QUEUE)],
        task_default_queue=config.PUBLISH_QUEUE,
        # Ack after the work, one message at a time: a worker killed mid-task gives its job back.
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        worker_log_format=logs.WORKER_LOG_FORMAT, worker_task_log_format=logs.TASK_LOG_FORMAT,
        # A pool of child processes is what lets Celery enforce time limits (the solo pool
        # cannot interrupt a task); one child, as training is CPU-bound: scale with workers.
        worker_pool="prefork", worker_concurrency=1,
        worker_proc_alive_timeout=config.WARM_UP_TIMEOUT_S + _MAIN_PROCESS_GRACE_S,
        # Below publish-api's job lease, so a hung task ends before another may take its job.
        task_soft_time_limit=config.TASK_SOFT_TIME_LIMIT_S,
        task_time_limit=config.TASK_TIME_LIMIT_S,
        task_annotations={name: {"max_retries": config.TASK_MAX_RETRIES}
                          for name in ("publish_broker.publish", "publish_broker.question_digest")},
        broker_transport_options=_confirmed_publishing(config.QUEUE_URL),
        # `worker --beat` runs the sweep: a job whose worker was killed (its message lost on the
        # SQLite transport) is failed and its owner told, without waiting for their next
        # publish. Kept in memory: an interval needs no schedule file, and a second beat (two
        # workers with --beat) only sweeps twice, which changes nothing.
        beat_scheduler="celery.beat:Scheduler",
        beat_schedule={"sweep-jobs": {
            "task": "publish_broker.sweep", "schedule": config.SWEEP_INTERVAL_S,
            "options": {"expires": config.SWEEP_INTERVAL_S}}},
    )
    return app


def _confirmed_publishing(queue_url: str) -> dict:
    # Retries re-publish the task: wait for RabbitMQ's ack so none is dropped unnoticed. Only
    # RabbitMQ has confirms; kombu's SQLite transport passes its options to create_engine.
    return {"confirm_publish": True} if queue_url.startswith(("amqp", "pyamqp")) else {}


@worker_process_init.connect
def _warm(**_kwargs) -> None:
    # Celery only logs a failing signal handler, and replaces a child that exits: a worker that
    # cannot train (no WordNet, a broken install, the bots' pool not starting) would then take
    # jobs and fail each one, or restart its child forever. End the whole worker instead.
    # The deadline is a watchdog thread, not an exception raised into the warm-up (SIGALRM):
    # such an exception lands wherever the warm-up is, and a library's `except Exception`
    # (an import guard, logging's emit, an event loop callback) swallows it, so the warm-up went
    # on and the worker started regardless.
    timeout = settings().WARM_UP_TIMEOUT_S
    watchdog = threading.Timer(timeout, _cannot_start, args=(
        f"warming up took longer than WARM_UP_TIMEOUT_S ({timeout:g} s)",))
    watchdog.daemon = True
    watchdog.start()
    try:
        warm_up()
    except Exception as exc:
        _cannot_start(_reason(exc))
    finally:
        watchdog.cancel()
    with _ending:
        if _ended:  # the watchdog fired as the warm-up finished: the worker is ending already
            _wait_for_the_end()
        logger.info("publish-broker worker is warm")


_ending = threading.Lock()
_ended: list[str] = []  # the reason the worker ends, once one path has said it


def _cannot_start(reason: str) -> None:
    with _ending:
        if _ended:
            return
        _ended.append(reason)
        logger.critical("publish-broker cannot start: %s", reason)
    _end_worker()


def _end_worker() -> None:
    # Were this child to exit, the main process would fork another at once; it is terminated
    # with the worker instead (and should that not come, it exits and another child tries).
    os.kill(os.getppid(), CHILD_CANNOT_START)
    _wait_for_the_end()


def _wait_for_the_end() -> None:
    time.sleep(60)
    os._exit(3)


@worker_init.connect
def _watch_children(sender: WorkController, **_kwargs) -> None:
    platforms.signals[CHILD_CANNOT_START.name] = partial(_child_cannot_start, sender)


def _child_cannot_start(worker: WorkController, *_signal) -> None:
    # Celery's cold shutdown (as on SIGQUIT) terminates the pool, children included, and does not
    # replace them; but it exits with the worker's exit code, which would say success.
    worker.exitcode = 1
    os.kill(os.getpid(), signal.SIGQUIT)


def _reason(exc: Exception) -> str:
    if isinstance(exc, PublishFailed):
        return f"{exc.message_for_owner} ({type(exc.__cause__).__name__}: {exc.__cause__})"
    return f"{type(exc).__name__}: {exc}"
