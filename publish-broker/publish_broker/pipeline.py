"""What a publish job does, step by step: the task in tasks.py is only its Celery wrapper.

Every step re-reads state from publish-api and is safe to repeat, so a redelivered task (its
worker died) finishes the job: a model whose digest is already live is not retrained or
redeployed. Each transition names the task (its Celery id) as the job's lease holder: the same
task, redelivered, takes its job over at once; another task (a re-sent message) only once the
lease expired, and a task whose job was taken over is told so (JobClosed) and stops.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from . import notify, questions
from .api_client import PublishApiClient
from .errors import (
    ApiUnavailable,
    BrokerError,
    DeployError,
    JobClosed,
    OwnerBusy,
    PublishFailed,
    RuntimeUnavailable,
)
from .notify import SlackNotifier
from .runtime.base import BotKey, BotRuntime, Deployment
from .training import Trainer

logger = logging.getLogger(__name__)

FINAL_STATES = ("live", "failed", "superseded")
# What Celery retries (tasks.py): the job is not over, so what a publish showed stays.
RETRIED = (ApiUnavailable, RuntimeUnavailable, OwnerBusy)
UNEXPECTED_FAILURE = "something went wrong on our side while building your bot. Please try again."

Step = Callable[..., dict]  # moves this task's job on: step(state, **fields)


@dataclass
class Publisher:
    """The broker's collaborators; built once per worker process (see worker.py)."""

    api: PublishApiClient
    trainer: Trainer
    runtime: BotRuntime
    notifier: SlackNotifier
    work_dir: Path

    def run(self, job_id: int, claim: str | None = None, redelivered: bool = False) -> str:
        """Take job `job_id` from queued to live (or failed) as task `claim`; returns the state.
        `redelivered`: the queue delivered the task again after its worker was lost (publish-api
        counts it, and fails a job that lost too many workers instead of handing it over).

        Raises JobClosed (nothing to do), OwnerBusy and ApiUnavailable (retry later), ApiRejected
        (publish-api refused a request: a bug, never worth retrying).
        """
        job = self.api.job(job_id)
        if job["state"] in FINAL_STATES:
            logger.info("job %s is already %s", job_id, job["state"])
            if job["state"] == "live":  # a redelivered task: answers may still be owed
                questions.deliver_answers(self.api, self.notifier, job_id)
            return job["state"]
        step = partial(self._step, job_id, claim)
        taken = step("training", **({"redelivered": True} if redelivered else {}))
        if taken["state"] == "failed":  # it lost too many workers: publish-api gave it up
            self.notifier.tell(taken["user_id"], notify.failed_message(taken["error"]))
            return "failed"
        version = self.api.version(job["version_id"])
        try:
            self._build_and_deploy(step, job_id, version)
        except PublishFailed as exc:
            return self.fail(job, exc.message_for_owner, claim)
        return "live"

    def fail(self, job: dict, reason: str, claim: str | None = None) -> str:
        """See `fail_job`."""
        return fail_job(self.api, self.notifier, job, reason, claim)

    def _step(self, job_id: int, claim: str | None, state: str, **fields) -> dict:
        # One line per step of a job, with its id: the worker's log tells each job's story.
        logger.info("job %s: %s", job_id, state)
        return self.api.transition(job_id, state, claim=claim, **fields)

    def _build_and_deploy(self, step: Step, job_id: int, version: dict) -> None:
        key = BotKey(version["team_id"], version["user_id"])
        if not version["topics"]:
            return self._retire(step, key)
        digest = self.trainer.digest(version)
        deployment, stored = self.runtime.status(key), self.runtime.stored_model(key, digest)
        if deployment is not None and deployment.model_digest == digest and stored is not None:
            logger.info("job %s: model %s is already live, not retrained", job_id, digest[:12])
            step("deploying")
        elif stored is not None:
            # Its bot or pool was lost (a restart, a dead host): the stored model is the same.
            logger.info("job %s: redeploying stored model %s, not retrained", job_id, digest[:12])
            step("deploying")
            deployment = self.runtime.deploy(key, stored, digest)
        else:
            deployment = self._train_and_deploy(step, job_id, key, version, deployment)
        step("live", endpoint=deployment.endpoint, model_digest=deployment.model_digest)
        self.notifier.tell(key.user_id, notify.live_message(len(version["topics"]), key.user_id))
        questions.deliver_answers(self.api, self.notifier, job_id)

    def _train_and_deploy(self, step: Step, job_id: int, key: BotKey, version: dict,
                          live: Deployment | None):
        out_dir = Path(tempfile.mkdtemp(prefix=f"job{job_id}-", dir=self.work_dir))
        try:
            preview = self._preview(job_id, key, version, out_dir) if live else None
            try:
                model = self.trainer.train(version, out_dir)
                step("deploying")
                return self.runtime.deploy(key, model.path, model.digest)
            except (JobClosed, *RETRIED):
                raise  # the job goes on, later or in another task, towards the same model
            except Exception:
                if preview is not None:  # there is a live bot: it answers again
                    self._withdraw(job_id, key, preview, live)
                raise
        finally:
            shutil.rmtree(out_dir, ignore_errors=True)

    def _preview(self, job_id: int, key: BotKey, version: dict, out_dir: Path) -> str | None:
        """A live pool bot answers with the fitted matcher at once, ~0.15 s before Rasa has
        packaged it (the same fit: see Trainer.preview); returns the digest it answers with.

        Only for a republish: askers find a bot through the endpoint its job records as live,
        so until a first publish is live nobody could ask the preview anything. Best effort:
        if the pool cannot take it (it died, say), the deploy after Rasa's training will.
        """
        if not self.runtime.answers_from_matcher:
            return None
        model = self.trainer.preview(version, out_dir)
        try:
            self.runtime.preview(key, model.path, model.digest)
        except (DeployError, RuntimeUnavailable) as exc:
            logger.warning("job %s: could not answer early (%s); deploying after training",
                           job_id, exc)
            return None
        logger.info("job %s: the bot answers with model %s, Rasa packages it", job_id,
                    model.digest[:12])
        return model.digest

    def _withdraw(self, job_id: int, key: BotKey, digest: str, live: Deployment) -> None:
        # The job fails: what answered before it answers again (best effort: the job's own
        # error is the one to report).
        try:
            self.runtime.withdraw(key, digest, live)
        except BrokerError as exc:
            logger.error("job %s: could not withdraw model %s (%s)", job_id, digest[:12], exc)

    def _retire(self, step: Step, key: BotKey) -> None:
        # Every topic was deleted: the published state is "no bot", so stop the old one.
        step("deploying")
        self.runtime.stop(key)
        step("live", endpoint=None, model_digest=None)
        self.notifier.tell(key.user_id, notify.retired_message())


def fail_job(api: PublishApiClient, notifier: SlackNotifier, job: dict, reason: str,
             claim: str | None = None) -> str:
    """Record the failure and tell the owner; the live version keeps answering.

    Raises JobClosed (already final or taken over), ApiUnavailable, ApiRejected.
    """
    logger.warning("job %s failed: %s", job["id"], reason)
    api.transition(job["id"], "failed", claim=claim, error=reason)
    notifier.tell(job["user_id"], notify.failed_message(reason))
    return "failed"
