r"""Slack message text (mrkdwn) as safe HTML for the page.

The text is escaped first; only then are Slack's own marks turned into markup: `<@U…>` mentions
(which escaping has made `&lt;@U…&gt;`), *bold*, _italic_, `code`, ```blocks```, emoji
shortcodes (`:bulb:`, `:+1:`: Slack's names, which the `emoji` package knows as aliases), and
line breaks. So nothing a person typed can become markup. Slack's own escapes (`&amp;`, `&lt;`,
`&gt;`: what was typed as `&`, `<`, `>`) show as those characters.

As in Slack, a mark opens only at the start of the text or after a space or an opening bracket
or quote, and closes only before the end, a space or punctuation: `¯\_(ツ)_/¯` keeps its
underscores, `snake_case_names` theirs.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List

import emoji
from markupsafe import Markup, escape

from .workspace import Message, Workspace

_MENTION = re.compile(r"&lt;@([A-Z0-9]+)&gt;")
_SLACK_ESCAPED = re.compile(r"&amp;(amp|lt|gt);")
_PRE = re.compile(r"```(.+?)```", re.S)
_CODE = re.compile(r"`([^`\n]+)`")
# Where a mark may open and close (escaping has made quotes `&#34;`/`&#39;`: the `;` before).
_OPENS = r"(?:(?<=^)|(?<=[\s(\[{“‘;]))"
_CLOSES = r"(?=$|[\s.,;:!?)\]}”’&])"
_BOLD = re.compile(_OPENS + r"\*([^*\s](?:[^*\n]*[^*\s])?)\*" + _CLOSES, re.M)
_ITALIC = re.compile(_OPENS + r"_([^_\s](?:[^_\n]*[^_\s])?)_" + _CLOSES, re.M)
_EMOJI = re.compile(r":[a-z0-9_+-]+:")


def mrkdwn(ws: Workspace, text: str) -> Markup:
    """`text` (Slack mrkdwn) as HTML, every character of it escaped."""
    html = str(escape(text))
    html = _MENTION.sub(lambda m: f'<span class="mention">@{escape(ws.name_of(m.group(1)))}</span>',
                        html)
    # Slack's escapes, escaped once more above: back to one level, so "&lt;" shows as "<".
    html = _SLACK_ESCAPED.sub(r"&\1;", html)
    html = _PRE.sub(r"<pre>\1</pre>", html)
    html = _CODE.sub(r"<code>\1</code>", html)
    html = _BOLD.sub(r"<b>\1</b>", html)
    html = _ITALIC.sub(r"<i>\1</i>", html)
    html = _EMOJI.sub(lambda m: emoji.emojize(m.group(0), language="alias"), html)
    return Markup(html.replace("\n", "<br>"))


def parts(message: Message) -> List[Dict[str, Any]]:
    """What to show of a message: its sections' texts and its buttons, or its text alone."""
    shown: List[Dict[str, Any]] = []
    for block in message.blocks:
        if block.get("type") == "section":
            shown.append({"text": (block.get("text") or {}).get("text", "")})
        elif block.get("type") == "context":  # e.g. the choice made, once a click is answered
            shown.append({"text": " ".join(str(e.get("text") or "")
                                           for e in block.get("elements") or []
                                           if isinstance(e, dict)), "context": True})
        elif block.get("type") == "actions":
            shown.append({"buttons": [
                {"action_id": e.get("action_id", ""), "block_id": block.get("block_id", ""),
                 "title": (e.get("text") or {}).get("text", "")}
                for e in block.get("elements") or [] if e.get("type") == "button"]})
    return shown or [{"text": message.text}]
