"""Fixtures: the real action executor (rasa-sdk) over the `actions` package, pointed at a real
publish-api subprocess on Postgres and RabbitMQ (tests/support/services.py)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, Dict, List, Optional

import pytest
import yaml
from rasa_sdk.executor import ActionExecutor

from actions import shared
from tests.capture_bot.servers import ACTIONS_TOKEN, BOT_DIR, free_port

DOMAIN = yaml.safe_load((BOT_DIR / "domain.yml").read_text())


@pytest.fixture(scope="session")
def executor():
    executor = ActionExecutor()
    executor.register_package("actions")
    return executor


@pytest.fixture
def api_env(monkeypatch):
    """Points the actions at `url` (call it) and forgets cached settings afterwards."""
    def point_at(url: str, token: str = "unused-token", **extra: str) -> None:
        monkeypatch.setenv("PUBLISH_API_URL", url)
        monkeypatch.setenv("API_TOKEN", token)
        monkeypatch.setenv("BOT_AUTH_TOKEN", "test-bot-token")
        monkeypatch.setenv("ACTIONS_TOKEN", ACTIONS_TOKEN)
        for name, value in extra.items():
            monkeypatch.setenv(name, value)
        shared.reset()

    yield point_at
    shared.reset()


def new_team() -> str:
    """A fresh Slack team id, so tests never see each other's users."""
    return "T" + uuid.uuid4().hex[:9].upper()


def tracker(text: str = "", team: Optional[str] = "T0TEST", user: str = "U0ALICE",
            slots: Optional[Dict[str, Any]] = None, set_now: Optional[Dict[str, Any]] = None,
            active_loop: Optional[str] = None, display_name: str = "Alice") -> Dict[str, Any]:
    """A tracker as Rasa sends it; `set_now` are slots filled by the latest message."""
    metadata = {"team_id": team, "user_id": user, "display_name": display_name} if team else {}
    latest = {"text": text, "intent": {"name": "", "confidence": 1.0}, "entities": [],
              "metadata": metadata}
    events: List[Dict[str, Any]] = [{"event": "user", "text": text, "parse_data": latest,
                                     "metadata": metadata}]
    events += [{"event": "slot", "name": k, "value": v} for k, v in (set_now or {}).items()]
    return {"sender_id": f"{team}:{user}_D0DM" if team else "web-visitor",
            "slots": {**(slots or {}), **(set_now or {})}, "latest_message": latest,
            "events": events, "paused": False, "followup_action": None,
            "active_loop": {"name": active_loop} if active_loop else {},
            "latest_action_name": "action_listen"}


def run(executor: ActionExecutor, name: str, state: Dict[str, Any]) -> Dict[str, Any]:
    """Runs one action as the action server would: {"events": [...], "responses": [...]}."""
    call = {"next_action": name, "sender_id": state["sender_id"], "tracker": state,
            "domain": DOMAIN, "version": "3.6.21"}
    return asyncio.run(executor.run(call))


def said(result: Dict[str, Any]) -> str:
    """Everything the action said, as one string (texts and block texts)."""
    parts = []
    for response in result["responses"]:
        parts.append(response.get("text") or "")
        custom = response.get("custom") or {}
        blocks = custom.get("blocks") or []
        parts += [(b.get("text") or {}).get("text", "") for b in blocks]
        parts.append("" if blocks else custom.get("text", ""))
    return "\n".join(p for p in parts if p)


def slots_set(result: Dict[str, Any]) -> Dict[str, Any]:
    """The slot events of a result, as a dict."""
    return {e["name"]: e["value"] for e in result["events"] if e.get("event") == "slot"}


@pytest.fixture(scope="session")
def publish_api(tmp_path_factory):
    from tests.support.services import start_publish_api

    taken = set(range(5400, 5420))  # leave the low ports to the concierge tests
    api = start_publish_api(free_port(taken), tmp_path_factory.mktemp("publish-api-logs"))
    yield api
    api.stop()
