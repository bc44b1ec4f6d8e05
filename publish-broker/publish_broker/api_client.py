"""The broker's client for publish-api: read jobs and versions, write job transitions."""

from __future__ import annotations

import logging

import requests

from .errors import ApiRejected, ApiUnavailable, JobClosed, OwnerBusy

logger = logging.getLogger(__name__)


class PublishApiClient:
    def __init__(self, base_url: str, token: str, timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def job(self, job_id: int) -> dict:
        """Raises ApiUnavailable, ApiRejected, JobClosed."""
        return self._call("GET", f"/v1/jobs/{job_id}")

    def version(self, version_id: int) -> dict:
        """Raises ApiUnavailable, ApiRejected, JobClosed."""
        return self._call("GET", f"/v1/versions/{version_id}")

    def transition(self, job_id: int, state: str, claim: str | None = None, **fields) -> dict:
        """Move the job on, as the task `claim` (the job's lease holder; renews the lease).

        Raises JobClosed, OwnerBusy, ApiUnavailable, ApiRejected.
        """
        body = {"state": state, **fields, **({"claim": claim} if claim else {})}
        return self._call("POST", f"/v1/jobs/{job_id}/transitions", body)

    def sweep(self) -> dict:
        """Fail the jobs whose lease expired, send stale queued ones again: {"failed": [jobs],
        "resent": [ids]}. Raises ApiUnavailable, ApiRejected."""
        return self._call("POST", "/v1/jobs/sweep")

    def claim_digest(self, team_id: str, user_id: str) -> dict:
        """The owner's questions no digest named yet, now marked named, or `retry_after`
        seconds to wait. Raises ApiUnavailable, ApiRejected."""
        return self._call("POST", f"/v1/users/{team_id}/{user_id}/unanswered/digest")

    def deliveries(self, job_id: int) -> list[dict]:
        """The answers live job `job_id` owes to askers. Raises ApiUnavailable, ApiRejected."""
        return self._call("GET", f"/v1/jobs/{job_id}/deliveries")["deliveries"]

    def mark_delivered(self, job_id: int, question_id: int) -> None:
        """Record that the asker of `question_id` was told (idempotent). Raises ApiUnavailable,
        ApiRejected."""
        self._call("POST", f"/v1/jobs/{job_id}/deliveries/{question_id}")

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        try:
            response = self.session.request(method, self.base_url + path, json=body,
                                            timeout=self.timeout)
        except requests.RequestException as exc:
            raise ApiUnavailable(f"publish-api unreachable: {type(exc).__name__}") from None
        if response.status_code == 409:
            error = response.json().get("error", {})
            if error.get("code") == "owner_busy":
                raise OwnerBusy(error.get("message", "owner busy"))
            raise JobClosed(error.get("message", "job closed"))
        if response.status_code >= 500 or response.status_code == 429:
            raise ApiUnavailable(f"publish-api answered {response.status_code} to {method} {path}")
        if response.status_code >= 400:
            # A 4xx other than 409 is a bug on our side: not worth retrying.
            raise ApiRejected(f"publish-api rejected {method} {path}: {response.text[:300]}")
        return response.json() if response.content else {}
