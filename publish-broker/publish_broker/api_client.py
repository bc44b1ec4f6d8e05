"""The broker's client for publish-api: read jobs and versions, write job transitions."""

from __future__ import annotations

import logging

import requests

from .errors import BrokerError

logger = logging.getLogger(__name__)


class ApiUnavailable(BrokerError):
    """publish-api could not be reached or failed (transient: retry later)."""


class JobClosed(BrokerError):
    """The job is final or superseded: this task has nothing more to do."""


class OwnerBusy(BrokerError):
    """Another job of the same owner is running: try again shortly."""


class PublishApiClient:
    def __init__(self, base_url: str, token: str, timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def job(self, job_id: int) -> dict:
        return self._call("GET", f"/v1/jobs/{job_id}")

    def version(self, version_id: int) -> dict:
        return self._call("GET", f"/v1/versions/{version_id}")

    def transition(self, job_id: int, state: str, **fields) -> dict:
        """Move the job on. Raises JobClosed, OwnerBusy, ApiUnavailable."""
        return self._call("POST", f"/v1/jobs/{job_id}/transitions", {"state": state, **fields})

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
            raise JobClosed(f"publish-api rejected {method} {path}: {response.text[:300]}")
        return response.json()
