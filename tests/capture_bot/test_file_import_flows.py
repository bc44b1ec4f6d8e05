"""A topic file shared in the DM, through Slack's protocol: the real concierge turns the share
into an import, the real action server reads the file through the Slack stand-in's `files.info`
and download URL (bot token only) and imports it into the real publish-api. And the way back:
"export my topics" shares publish-api's export as a file in the DM (Slack's upload flow)."""

from __future__ import annotations

import pytest

from playground.slack_protocol import parse_blocks
from tests.capture_bot.conftest import IMPORT_MAX_BYTES
from tests.capture_bot.servers import SIGNING_SECRET
from tests.capture_bot.test_concierge_flows import Dm
from tests.capture_bot.test_slack_connector import TEAM
from tests.support.slack_api import file_share_event, send_event

pytestmark = pytest.mark.slow

GOOD_CSV = (
    b"question,answer,state,alternative_1\n"
    b"Where is the wifi password?,On the fridge.,published,wifi password?\n"
    b"When is the standup?,At 9:30 in room 2.,,\n"
    b"Who orders lunch?,Sam does & pays <later>.,,\n"
    b"Old question,Gone.,deleted,\n"
)
BAD_CSV = (
    b"question,answer\n"
    b"Where is the printer?,Second floor.\n"
    b"What is the budget?,\n"
)


class FileDm(Dm):
    """A DM in which the user can also share a file."""

    def share(self, name: str, content: bytes, mimetype: str = "text/csv") -> str:
        file = self.slack.add_file(self.user, name, content, mimetype)
        before = len(self.slack.posts(self.channel))
        event = file_share_event(TEAM, self.user, file, channel=self.channel)
        assert send_event(self.webhook, SIGNING_SECRET, event).status_code == 200
        return self._new_replies(before, 1)

    def buttons(self) -> dict:
        """The last reply's buttons: title → payload."""
        blocks = parse_blocks(self.slack.posts(self.channel)[-1].args.get("blocks"))
        return {element["text"]["text"]: element["value"]
                for block in blocks if block.get("type") == "actions"
                for element in block["elements"]}


def topics_of(publish_api, user):
    response = publish_api.call("GET", f"/v1/users/{TEAM}/{user}/topics")
    return response.json()["topics"] if response.status_code == 200 else []


def test_a_shared_csv_is_previewed_then_imported(webhook, slack, publish_api):
    dm = FileDm(webhook, slack, "U0FIONA")
    publish_api.call("PUT", f"/v1/users/{TEAM}/U0FIONA", json={"display_name": "Fiona"})
    publish_api.call("POST", f"/v1/users/{TEAM}/U0FIONA/topics",
                     json={"question": "where is the WIFI password?", "answer": "Ask Sam."})
    preview = dm.share("team <faq> & more.csv", GOOD_CSV)
    assert "2 topics to add, 1 to change, 0 unchanged" in preview
    # It names them (escaped, as all text from people is).
    assert "*To add:* “When is the standup?”, “Who orders lunch?”" in preview
    assert "*To change:* “Where is the wifi password?”" in preview
    assert "team &lt;faq&gt; &amp; more.csv" in preview and "<faq>" not in preview
    buttons = dm.buttons()
    assert set(buttons) == {"Import", "Cancel"}
    assert len(topics_of(publish_api, "U0FIONA")) == 1  # a dry run writes nothing
    done = dm.click(buttons["Import"])
    assert "2 topics added, 1 changed, 0 unchanged" in done and "*publish*" in done
    topics = {t["question"]: t for t in topics_of(publish_api, "U0FIONA")}
    assert set(topics) == {"Where is the wifi password?", "When is the standup?",
                           "Who orders lunch?"}
    assert topics["Where is the wifi password?"]["answer"] == "On the fridge."
    assert topics["Who orders lunch?"]["answer"] == "Sam does & pays <later>."
    downloads = [c for c in slack.calls if c.method == "files.download"]
    assert downloads and all(c.ok and c.token == slack.bot_token for c in downloads)


def test_a_bad_file_names_its_problems_and_imports_nothing(webhook, slack, publish_api):
    dm = FileDm(webhook, slack, "U0GIDEON")
    reply = dm.share("topics.csv", BAD_CSV)
    assert "nothing was imported" in reply and "row 3, answer" in reply
    assert "Import" not in dm.buttons()
    assert topics_of(publish_api, "U0GIDEON") == []


def test_a_file_too_big_is_refused_before_its_download(webhook, slack, publish_api):
    dm = FileDm(webhook, slack, "U0HANNA")
    reply = dm.share("huge.csv", b"question,answer\n" + b"x" * IMPORT_MAX_BYTES)
    assert "too big to import" in reply and "Nothing was imported" in reply
    assert not [c for c in slack.calls if c.method == "files.download"]
    assert topics_of(publish_api, "U0HANNA") == []


def test_neither_csv_nor_json_is_refused(webhook, slack, publish_api):
    dm = FileDm(webhook, slack, "U0IVAN")
    reply = dm.share("notes.pdf", b"%PDF-1.4", mimetype="application/pdf")
    assert "neither" in reply and "notes.pdf" in reply


def test_someone_elses_file_cannot_be_imported_and_cancel_imports_nothing(webhook, slack,
                                                                           publish_api):
    owner = FileDm(webhook, slack, "U0JUDY")
    assert "3 topics to add" in owner.share("judy.csv", GOOD_CSV)
    payload = owner.buttons()["Import"]
    thief = FileDm(webhook, slack, "U0KARL")
    assert "only files you shared yourself" in thief.click(payload)
    assert topics_of(publish_api, "U0KARL") == []
    assert "cancelled" in owner.click(owner.buttons()["Cancel"])
    assert topics_of(publish_api, "U0JUDY") == []



def test_a_file_shared_while_adding_a_topic_leaves_the_form_for_the_import(webhook, slack,
                                                                          publish_api):
    dm = FileDm(webhook, slack, "U0LIAM")
    assert "What is the question" in dm.say("add a new topic")
    before = len(slack.posts(dm.channel))
    dm.share("topics.csv", GOOD_CSV)

    def previewed(_calls):
        return any("3 topics to add" in (post.args.get("text") or "")
                   for post in slack.posts(dm.channel)[before:])

    slack.wait_for(previewed)
    assert "Import" in dm.buttons()
    assert topics_of(publish_api, "U0LIAM") == []


def exported_file(slack, user, count_before):
    """The file the concierge shared in `user`'s DM after `count_before` others."""
    dm_channel = "D" + user[1:]
    slack.wait_for(lambda _: len(slack.shared_files(dm_channel)) > count_before)
    return slack.shared_files(dm_channel)[-1]


def test_export_shares_the_topics_as_a_file_that_imports_back_unchanged(webhook, slack,
                                                                        publish_api):
    dm = FileDm(webhook, slack, "U0MONA")
    publish_api.call("PUT", f"/v1/users/{TEAM}/U0MONA", json={"display_name": "Mona"})
    assert "no topics to export" in dm.say("export my topics")
    assert slack.shared_files("D0MONA") == []
    for question, answer in (("Where is the wifi password?", "On the <fridge> & door."),
                             ("When is the standup?", "At 9:30.")):
        publish_api.call("POST", f"/v1/users/{TEAM}/U0MONA/topics",
                         json={"question": question, "answer": answer})
    reply = dm.say("export my topics")
    assert "Here are your 2 topics as a CSV file" in reply
    csv_file = exported_file(slack, "U0MONA", 0)
    expected = publish_api.call("GET", f"/v1/users/{TEAM}/U0MONA/topics/export?format=csv")
    assert (csv_file.name, csv_file.content) == ("topics.csv", expected.content)
    assert "On the <fridge> & door." in csv_file.content.decode()

    assert "as a JSON file" in dm.say("export my topics as json")
    json_file = exported_file(slack, "U0MONA", 1)
    assert json_file.name == "topics.json" and b'"When is the standup?"' in json_file.content

    assert "0 topics to add, 0 to change, 2 unchanged" in dm.share(csv_file.name,
                                                                   csv_file.content)


def test_export_while_adding_a_topic_goes_back_to_the_question(webhook, slack, publish_api):
    dm = FileDm(webhook, slack, "U0NOAH")
    publish_api.call("PUT", f"/v1/users/{TEAM}/U0NOAH", json={"display_name": "Noah"})
    publish_api.call("POST", f"/v1/users/{TEAM}/U0NOAH/topics",
                     json={"question": "Who orders lunch?", "answer": "Sam."})
    assert "What is the question" in dm.say("add a new topic")
    reply = dm.say("export my topics", replies=3)
    assert "Here is your topic as a CSV file" in reply and "What is the question" in reply
    assert exported_file(slack, "U0NOAH", 0).name == "topics.csv"
