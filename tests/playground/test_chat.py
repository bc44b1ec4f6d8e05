"""A click becomes the `block_actions` payload Slack sends for exactly that button: a list whose
rows repeat the same action ids (the unanswered list: choice_0, choice_1, choice_2 in each row)
names the clicked row's block and value, not the first row's."""

from __future__ import annotations

import pytest

from playground.chat import interaction
from playground.slack_protocol import with_ids
from playground.workspace import Workspace, WorkspaceError


def _row(question_id: int) -> dict:
    return {"type": "actions", "elements": [
        {"type": "button", "action_id": f"choice_{index}", "text": {"type": "plain_text",
                                                                     "text": title},
         "value": f'/{intent}{{"question_id": "{question_id}"}}'}
        for index, (title, intent) in enumerate((("Answer it", "answer_question"),
                                                 ("Dismiss", "dismiss_question")))]}


def test_a_click_on_the_fourth_row_sends_the_fourth_rows_block_and_value():
    ws = Workspace(team_id="T0CHAT")
    alice = ws.add_person("Alice")
    blocks = with_ids([_row(n) for n in (11, 12, 13, 14)])
    message = ws.post(alice.dm, ws.bot_user_id, "Your unanswered questions", blocks)

    payload = interaction(ws, alice, alice.dm, message.ts, blocks[3]["block_id"], "choice_1")

    [action] = payload["actions"]
    assert (action["block_id"], action["action_id"], action["value"]) == (
        blocks[3]["block_id"], "choice_1", '/dismiss_question{"question_id": "14"}')
    assert action["text"]["text"] == "Dismiss"
    assert payload["message"]["ts"] == message.ts and payload["user"]["id"] == alice.user_id


def test_a_button_not_in_the_named_block_is_refused():
    ws = Workspace(team_id="T0CHAT")
    alice = ws.add_person("Alice")
    blocks = with_ids([_row(1), _row(2)])
    message = ws.post(alice.dm, ws.bot_user_id, "Two rows", blocks)
    with pytest.raises(WorkspaceError, match="not on this message"):
        interaction(ws, alice, alice.dm, message.ts, "another-block", "choice_0")
