"""The broker's part of the learning loop: the owner's digest of new questions, and the answers
owed to askers once a topic made from their question is live. publish-api keeps the state (which
question was named, which asker told; docs/publish-api.md); these steps only read it, send, and
record, so each is safe to repeat.

Why a Celery task with a countdown, enqueued by publish-api when a question is recorded: the
broker already runs a worker with Celery's retries and the owner's Slack notifier, and a
countdown gives batching without a scheduler process (no celery beat to run and keep alive). The
digest waits QUESTION_DIGEST_DELAY_S so questions asked together come together; a task that
comes before the owner's period is over is retried by Celery when it ends. publish-api claims the
questions under the owner's lock, so however many tasks run, each question is named once.
"""

from __future__ import annotations

import logging

from . import notify
from .api_client import PublishApiClient
from .notify import SlackNotifier

logger = logging.getLogger(__name__)


def send_digest(api: PublishApiClient, notifier: SlackNotifier, team_id: str,
                user_id: str) -> float | None:
    """DM the owner the questions no digest named yet; returns the seconds to wait when the
    owner's period is not over (None otherwise). A Slack failure is logged: the questions stay
    listed under "show my unanswered questions". Raises ApiUnavailable, ApiRejected."""
    claimed = api.claim_digest(team_id, user_id)
    if claimed["questions"]:
        notifier.tell(user_id, notify.digest_message(claimed["questions"]))
        logger.info("told %s/%s of %d questions", team_id, user_id, len(claimed["questions"]))
    return claimed["retry_after"]


def deliver_answers(api: PublishApiClient, notifier: SlackNotifier, job_id: int) -> int:
    """DM each asker whose question live job `job_id` now answers; returns how many were told.

    Marked after sending, so an answer is not lost to a crash (at worst sent twice); an asker
    Slack would not reach is tried again the next time a version with the topic goes live.
    Raises ApiUnavailable, ApiRejected.
    """
    told = 0
    for delivery in api.deliveries(job_id):
        if notifier.tell(delivery["asker_user_id"], notify.answer_message(delivery)):
            api.mark_delivered(job_id, delivery["id"])
            told += 1
    if told:
        logger.info("job %s: told %d askers their answer", job_id, told)
    return told
