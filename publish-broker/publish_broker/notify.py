"""Telling owners in Slack that their bot is live, or why it is not, and what people asked it;
telling askers the answer to their question.

Every message is a small function here, so wording stays consistent. Counts go through
`count` ("1 topic", "2 topics"); any text that came from a user (a question, an answer, a
name) goes through `escape` before it is shown, so it can never ping a channel or forge a
mention.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

logger = logging.getLogger(__name__)


class SlackNotifier:
    """Posts a DM to the owner through chat.postMessage at a configurable Web API base URL."""

    def __init__(self, token: str, api_url: str, timeout: int = 10):
        self.client = WebClient(token=token, base_url=api_url, timeout=timeout) if token else None

    def tell(self, user_id: str, text: str) -> bool:
        """Post `text` to the owner's DM. Returns False (and logs) when Slack refused or failed:
        a notification must never undo a publish that went live."""
        if self.client is None:
            logger.info("no SLACK_BOT_TOKEN: not notifying %s", user_id)
            return False
        try:
            self.client.chat_postMessage(channel=user_id, text=text)
            return True
        except SlackApiError as exc:
            logger.warning("Slack refused to notify %s: %s", user_id, exc.response.get("error"))
        except (SlackClientError, OSError) as exc:
            logger.warning("could not reach Slack to notify %s: %s", user_id, type(exc).__name__)
        return False


def count(number: int, noun: str, plural: str = "") -> str:
    """A count as people write it: "1 topic", "2 topics", "1 phrasing", "1,200 topics"."""
    return f"{number:,} {noun if number == 1 else plural or noun + 's'}"


def escape(text: str) -> str:
    """Slack's escaping of user text in mrkdwn: `<!channel>` cannot ping, `<@U1>` cannot
    mention, `&lt;` stays as typed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def digest_message(questions: list[dict]) -> str:
    """The owner's digest: each question, who asked it, and for a wrong answer what was said."""
    lines = [_digest_line(q) for q in questions]
    return (f":bulb: {count(len(questions), 'question')} your bot could not answer:\n"
            + "\n".join(lines)
            + "\nSay *show my unanswered questions* to answer them.")


def _digest_line(question: dict) -> str:
    line = f"• “{escape(question['question'])}” (asked by <@{question['asker_user_id']}>)"
    if question.get("kind") == "wrong_answer":
        line += f", answered “{escape(question.get('given_answer') or '')}”, marked unhelpful"
    return line


def answer_message(delivery: dict) -> str:
    """What an asker is sent once the owner's answer to their question is live."""
    return (f"<@{delivery['owner_user_id']}> answered your question "
            f"“{escape(delivery['question'])}”: {escape(delivery['answer'])}")


def live_message(topic_count: int, owner_user_id: str) -> str:
    """The bot went live; how to ask it, with the owner's own handle (Slack shows the mention
    as @name; inside code it would show the raw id)."""
    return (f":white_check_mark: Your bot is live with {count(topic_count, 'topic')}. "
            f"Anyone can now ask it by writing to me: ask <@{owner_user_id}> and their question.")


def retired_message() -> str:
    """The owner deleted every topic, so the bot stopped."""
    return "Your bot is retired: you have no topics left, so it no longer answers questions."


def failed_message(reason: str) -> str:
    """Publishing failed; `reason` may quote the owner's topics, so it is escaped."""
    return (f":red_circle: Publishing failed: {escape(reason)} "
            "Your previous version (if any) is still answering.")
