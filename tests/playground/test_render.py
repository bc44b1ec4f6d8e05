"""What a person types reaches the concierge as Slack's client sends it, and what the concierge
answers shows as Slack shows it: `&`, `<`, `>` escaped on the way in, shown as typed on the way
out, and never markup."""

from __future__ import annotations

from playground.chat import with_mentions
from playground.render import mrkdwn
from playground.slack_protocol import escape
from playground.workspace import Workspace


def _workspace() -> Workspace:
    ws = Workspace(team_id="T0RENDER")
    ws.add_person("Alice")
    return ws


def test_typed_text_is_escaped_as_slacks_client_does_then_mentions_are_made():
    ws = _workspace()
    sent = with_mentions(ws, escape("ask @alice is Q&A <b>today</b>? <!channel>"))
    assert sent == "ask <@UALICE> is Q&amp;A &lt;b&gt;today&lt;/b&gt;? &lt;!channel&gt;"


def test_slacks_escapes_show_as_the_characters_and_never_as_markup():
    ws = _workspace()
    html = str(mrkdwn(ws, "<@UALICE> says: Q&amp;A &lt;b&gt;today&lt;/b&gt; &amp;lt; *done*"))
    assert html == ('<span class="mention">@Alice</span> says: Q&amp;A &lt;b&gt;today&lt;/b&gt;'
                    ' &amp;lt; <b>done</b>')
