"""What the side panel shows of each person, read from publish-api: their topics (✅/🔴), their
bot's state and their asks per day (the ask log: `GET .../asks/daily?days=N`); and the viewer's
topics as a file, exported and imported through publish-api's routes.

A person publish-api does not know yet simply has nothing to show; publish-api being down is
an error the panel shows (OwnersError).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import requests

logger = logging.getLogger(__name__)
CHART_DAYS = 7


class OwnersError(RuntimeError):
    """publish-api could not be read; the message says why, for the page."""


@dataclass
class OwnerView:
    """One person's topics, bot and asks per day (None: publish-api has no ask log); `known`
    is False for someone publish-api has never seen as an owner (never taught the concierge)."""

    known: bool = True
    topics: List[Dict[str, Any]] = field(default_factory=list)
    bot: Optional[Dict[str, Any]] = None
    days: Optional[List[Dict[str, Any]]] = None


class Owners:
    """publish-api's owner routes, read with the playground's token."""

    def __init__(self, url: str, token: str, timeout: float):
        self._url = url.rstrip("/")
        self._session = requests.Session()
        self._session.headers["Authorization"] = f"Bearer {token}"
        self._timeout = timeout

    def view(self, team_id: str, user_id: str) -> OwnerView:
        """The person's topics, bot and asks per day. Raises OwnersError."""
        base = f"/v1/users/{team_id}/{user_id}"
        topics = self._get(base + "/topics")
        if topics is None:  # not an owner in publish-api yet: never taught the concierge
            return OwnerView(known=False)
        asks = self._get(base + "/asks/daily", {"days": CHART_DAYS})
        return OwnerView(True, topics.get("topics") or [], self._get(base + "/bot"),
                         asks.get("days") if asks is not None else None)

    def export(self, team_id: str, user_id: str, file_format: str) -> requests.Response:
        """publish-api's export of the person's topics (`json` or `csv`). Raises OwnersError."""
        answer = self._call("GET", f"/v1/users/{team_id}/{user_id}/topics/export",
                            params={"format": file_format})
        if answer.status_code != 200:
            raise OwnersError(_problem(answer))
        return answer

    def import_file(self, team_id: str, user_id: str, data: bytes, file_name: str,
                    dry_run: bool) -> Dict[str, Any]:
        """publish-api's report of importing a topic file (merge mode): what was, or would be,
        added and changed, and the problems by row. Raises OwnersError when the file cannot be
        read or publish-api refuses it."""
        content_type = "application/json" if file_name.lower().endswith(".json") else "text/csv"
        answer = self._call("POST", f"/v1/users/{team_id}/{user_id}/topics/import",
                            params={"dry_run": str(dry_run).lower()}, data=data,
                            headers={"Content-Type": content_type})
        if answer.status_code == 422 and (answer.json().get("error") or {}).get("details"):
            report = {"dry_run": dry_run, "errors": answer.json()["error"]["details"]}
            return {**report, "added": [], "changed": [], "unchanged": []}
        if answer.status_code != 200:
            raise OwnersError(_problem(answer))
        return answer.json()

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            return self._session.request(method, self._url + path, timeout=self._timeout,
                                         **kwargs)
        except requests.RequestException as exc:
            raise OwnersError(f"publish-api is not reachable ({type(exc).__name__}).") from None

    def _get(self, path: str, params: Optional[dict] = None) -> Optional[Dict[str, Any]]:
        """The JSON at `path`, or None when publish-api answers 404. Raises OwnersError."""
        answer = self._call("GET", path, params=params)
        if answer.status_code == 404:
            return None
        if answer.status_code != 200:
            logger.warning("publish-api answered %s to GET %s", answer.status_code, path)
            raise OwnersError(f"publish-api answered HTTP {answer.status_code}.")
        return answer.json()


def _problem(answer: requests.Response) -> str:
    """publish-api's own words for a refusal, or its HTTP status."""
    try:
        message = (answer.json().get("error") or {}).get("message")
    except ValueError:
        message = None
    return message or f"publish-api answered HTTP {answer.status_code}."
