"""Slack Block Kit messages within Slack's limits: at most 50 blocks per message, 3,000
characters per section text, and (Rasa's own rule for buttons) at most 5 buttons.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

from actions import messages

MAX_BLOCKS = 50
MAX_SECTION_CHARS = 3_000
MAX_BUTTONS = 5
# Leaves room in a message for its header, the pending-deletions note, the legend and buttons.
TOPIC_BLOCKS_PER_MESSAGE = MAX_BLOCKS - 4

Message = Dict[str, Any]


def section(text: str) -> Dict[str, Any]:
    """A mrkdwn section; the caller keeps `text` within MAX_SECTION_CHARS."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:MAX_SECTION_CHARS]}}


def buttons(choices: Sequence[Dict[str, str]]) -> Dict[str, Any]:
    """An actions block; its values are Rasa payloads such as `/publish`.

    Raises ValueError for more than MAX_BUTTONS choices.
    """
    if len(choices) > MAX_BUTTONS:
        raise ValueError(f"at most {MAX_BUTTONS} buttons per message, got {len(choices)}")
    return {"type": "actions", "elements": [
        {"type": "button", "action_id": f"choice_{index}",
         "text": {"type": "plain_text", "text": choice["title"][:75]},
         "value": choice["payload"]}
        for index, choice in enumerate(choices)
    ]}


def message(text: str, choices: Optional[Sequence[Dict[str, str]]] = None) -> Message:
    """A message of one section and optional buttons; `text` is also the notification."""
    blocks: List[Dict[str, Any]] = [section(text)]
    if choices:
        blocks.append(buttons(choices))
    return {"text": text[:MAX_SECTION_CHARS], "blocks": blocks}


def topic_list(topics: List[Dict[str, Any]], pending_deletions: int) -> List[Message]:
    """The owner's topics, numbered, with ✅/🔴, as one or more messages within the limits."""
    if not topics:
        return [message(messages.LIST_EMPTY, messages.MAIN_BUTTONS[:1])]
    published = sum(1 for topic in topics if topic.get("state") == "published")
    summary = messages.list_summary(len(topics), published)
    lines = [messages.list_line(number, topic) for number, topic in enumerate(topics, 1)]
    chunks = pack_lines(lines)
    out = []
    for index in range(0, len(chunks), TOPIC_BLOCKS_PER_MESSAGE):
        part = chunks[index:index + TOPIC_BLOCKS_PER_MESSAGE]
        header = summary if index == 0 else messages.list_continued(part[0][0], part[-1][1])
        blocks = [section(header)] + [section(text) for _, _, text in part]
        out.append({"text": header, "blocks": blocks})
    tail = [section(messages.LIST_LEGEND)]
    if pending_deletions:
        tail.insert(0, section(messages.pending_deletions(pending_deletions)))
    out[-1]["blocks"] += tail + [buttons(messages.MAIN_BUTTONS[:3])]
    return out


def pack_lines(lines: List[str]) -> List[tuple]:
    """Groups lines into section texts of at most MAX_SECTION_CHARS: (first, last, text)."""
    chunks: List[tuple] = []
    current: List[str] = []
    first = 1
    for number, line in enumerate(lines, 1):
        if current and len("\n".join(current + [line])) > MAX_SECTION_CHARS:
            chunks.append((first, number - 1, "\n".join(current)))
            current, first = [], number
        current.append(line)
    chunks.append((first, len(lines), "\n".join(current)))
    return chunks
