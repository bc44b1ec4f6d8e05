"""The action server's Slack file client against the Slack stand-in: the sharer's own file
only, Slack's host only, never more than its cap, with the bot token; and an upload shared in
the user's DM."""

from __future__ import annotations

import pytest

from actions.slack_files import (
    FileTooLarge,
    FileUnavailable,
    SlackFiles,
    UnsupportedFile,
    UploadFailed,
)
from tests.support.slack_api import SlackApi

TOKEN = "xoxb-test-files"
CSV = b"question,answer\nWhere?,Here.\n"


@pytest.fixture
def slack():
    with SlackApi(bot_token=TOKEN) as server:
        yield server


def files(slack, token=TOKEN, max_bytes=1_000, api_url=None):
    return SlackFiles(api_url or slack.url, token, max_bytes, timeout_s=5)


def downloads(slack):
    return [call for call in slack.calls if call.method == "files.download"]


def test_the_sharers_file_is_downloaded_with_the_bot_token(slack):
    file_id = slack.add_file("U0A", "topics.csv", CSV)["id"]
    shared = files(slack).download(file_id, "U0A")
    assert (shared.name, shared.media_type, shared.data) == ("topics.csv", "text/csv", CSV)
    assert [call.token for call in downloads(slack)] == [TOKEN]


def test_someone_elses_file_is_refused_before_its_download(slack):
    file_id = slack.add_file("U0A", "topics.csv", CSV)["id"]
    with pytest.raises(FileUnavailable):
        files(slack).download(file_id, "U0B")
    assert downloads(slack) == []


def test_a_wrong_token_or_an_unknown_file_is_unavailable(slack):
    file_id = slack.add_file("U0A", "topics.csv", CSV)["id"]
    with pytest.raises(FileUnavailable, match="invalid_auth"):
        files(slack, token="xoxb-wrong").download(file_id, "U0A")
    with pytest.raises(FileUnavailable, match="file_not_found"):
        files(slack).download("F0NOPE", "U0A")


def test_a_url_off_the_web_api_host_is_never_sent_the_token(slack):
    file_id = slack.add_file("U0A", "topics.csv", CSV)["id"]
    # files.info through "localhost": the file's URL names 127.0.0.1, another host.
    other = slack.url.replace("127.0.0.1", "localhost")
    with pytest.raises(FileUnavailable, match="host"):
        files(slack, api_url=other).download(file_id, "U0A")
    assert downloads(slack) == []


def test_a_file_bigger_than_declared_stops_at_the_cap(slack):
    slack.add_file("U0A", "topics.csv", b"x" * 5_000)
    slack.files["F00000001"].reported_size = 10
    with pytest.raises(FileTooLarge):
        files(slack, max_bytes=1_000).download("F00000001", "U0A")


def test_neither_csv_nor_json_is_unsupported(slack):
    file_id = slack.add_file("U0A", "notes.pdf", b"%PDF", mimetype="application/pdf")["id"]
    with pytest.raises(UnsupportedFile):
        files(slack).download(file_id, "U0A")
    assert downloads(slack) == []


def test_an_upload_is_shared_in_the_users_dm_and_the_upload_url_gets_no_token(slack):
    file_id = files(slack).upload_to_dm("U0A", "topics.csv", CSV, "Your 1 topic")
    [shared] = slack.shared_files()
    assert (shared.file_id, shared.channel, shared.name) == (file_id, "D0A", "topics.csv")
    assert shared.content == CSV and shared.title == "Your 1 topic"
    methods = [call.method for call in slack.calls]
    assert methods == ["conversations.open", "files.getUploadURLExternal", "upload",
                       "files.completeUploadExternal"]
    [upload] = [call for call in slack.calls if call.method == "upload"]
    assert upload.ok and upload.token is None


def test_a_refused_upload_shares_nothing(slack):
    with pytest.raises(UploadFailed, match="invalid_auth"):
        files(slack, token="xoxb-wrong-token").upload_to_dm("U0A", "topics.csv", CSV, "t")
    assert slack.shared_files() == []
