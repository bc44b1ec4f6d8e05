"""Everything the actions say to people, in one place so wording stays consistent and tests can
assert on it. Texts are Slack mrkdwn; anything a user typed goes through `escape` first.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

# Slack's limit for the text of a section block; previews stay well below it.
PREVIEW_CHARS = 1_200

MAIN_BUTTONS: List[Dict[str, str]] = [
    {"title": "Add a new topic", "payload": "/add_topic"},
    {"title": "Show my topics", "payload": "/show_topics"},
    {"title": "Publish all topics", "payload": "/publish"},
    {"title": "What can you do?", "payload": "/help"},
    {"title": "Unanswered questions", "payload": "/show_unanswered"},
]
CANCEL_BUTTON: Dict[str, str] = {"title": "Cancel", "payload": "/cancel"}
# Candidate topics offered as buttons: at most 5 buttons, one of them Cancel.
CHOICE_BUTTONS = 4
CHOICES_LISTED = 10
YES_NO_BUTTONS: List[Dict[str, str]] = [
    {"title": "Yes", "payload": "/affirm"},
    {"title": "No", "payload": "/deny"},
]

PUBLISHED = "✅"
PENDING = "🔴"


def escape(text: str) -> str:
    """Escapes the three characters Slack's mrkdwn treats as markup (`&`, `<`, `>`)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def count(number: int, noun: str, plural: str = "") -> str:
    """A count as people write it: "1 topic", "2 topics", "1 phrasing", "1,200 topics"."""
    return f"{number:,} {noun if number == 1 else plural or noun + 's'}"


def preview(text: str, limit: int = PREVIEW_CHARS) -> str:
    """`text` shortened to `limit` characters with an ellipsis, escaped for mrkdwn."""
    text = " ".join(text.split())
    return escape(text if len(text) <= limit else text[: limit - 1].rstrip() + "…")


# --- failures -----------------------------------------------------------------------------
SERVICE_DOWN = ("Sorry, I can't reach my topic store right now. Nothing was changed; "
                "please try again in a minute.")
UNEXPECTED = "Sorry, something went wrong on my side. Nothing was changed; please try again."
NOT_FROM_SLACK = "Sorry, I can only do that for a Slack user (I could not tell who you are)."
TOPIC_GONE = "That topic does not exist any more. Say \"show my topics\" to see the current list."
NO_TOPICS = "You have no topics yet."


def rejected(field: str | None, detail: str) -> str:
    """publish-api refused a value (too long, too many topics...)."""
    if field:
        return f"Sorry, I couldn't save that: the {field.replace('_', ' ')} was not accepted."
    return f"Sorry, I couldn't save that ({escape(detail)})."


TOPIC_LIMIT = "You have reached the limit of 500 topics. Delete some before adding new ones."

# --- adding and editing topics ------------------------------------------------------------
QUESTION_TOO_LONG = "That question is too long: at most 300 characters, please. Try again?"
ANSWER_TOO_LONG = "That answer is too long: at most 3,000 characters, please. Try again?"
ALTERNATIVE_TOO_LONG = "That phrasing is too long: at most 300 characters, please. Try again?"
EMPTY_TEXT = "I need some text here. Try again, or say \"cancel\"."
BUTTON_IN_FORM = "Please type the text (or say \"cancel\" to stop)."


def confirm_topic(question: str, answer: str) -> str:
    """Asks whether to save the topic just collected."""
    return f"Save this topic?\n*Q:* {preview(question, 300)}\n*A:* {preview(answer)}"


def ask_new_answer(question: str, current: str = "") -> str:
    """Asks for the new answer of the chosen topic, showing the answer it has now."""
    now = f"Its answer now:\n>{preview(current, 3000)}\n" if current.strip() else ""
    return (f"What is the new answer to this question?\n*{preview(question, 300)}*\n{now}"
            "Type the new one (up to 3,000 characters).")


def ask_alternative(question: str) -> str:
    """Asks for another way to ask the chosen topic."""
    return (f"How else might people ask this question?\n*{preview(question, 300)}*\n"
            "Type another phrasing (up to 300 characters).")


def confirm_delete(question: str) -> str:
    """Asks before deleting the chosen topic."""
    return f"Delete this topic?\n*{preview(question, 300)}*"


DELETE_BUTTONS: List[Dict[str, str]] = [
    {"title": "Yes, delete it", "payload": "/affirm"},
    {"title": "No", "payload": "/deny"},
]


def topic_saved(question: str) -> str:
    """The topic is stored; offers another."""
    return (f"Saved “{preview(question, 300)}” {PENDING} (publish to make it live). "
            "Add another topic?")


def answer_updated(question: str) -> str:
    """An answer was changed."""
    return f"Updated the answer to “{preview(question, 300)}” {PENDING}. Publish to make it live."


def alternative_added(question: str, alternative: str) -> str:
    """An alternative phrasing was added."""
    return (f"Added “{preview(alternative, 300)}” as another way to ask "
            f"“{preview(question, 300)}” {PENDING}. Publish to make it live.")


def topic_deleted(question: str, live: bool = True) -> str:
    """One topic was deleted; `live`: the live bot answers it (until the next publish)."""
    if not live:
        return f"Deleted “{preview(question, 300)}”."
    return (f"Deleted “{preview(question, 300)}”. Your live bot keeps answering it until "
            "you publish again.")


def all_deleted(number: int) -> str:
    """Every topic was deleted."""
    if number == 0:
        return "You had no topics; nothing was deleted."
    return (f"Deleted {count(number, 'topic')}. Your live bot keeps answering them until you "
            "publish again.")


def no_topic_matches(reference: str) -> str:
    """A topic reference (number or words) matched nothing."""
    return (f"I couldn't find a topic matching “{preview(reference, 100)}”. Reply with its "
            "number from \"show my topics\", or say \"cancel\".")


def several_topics_match(reference: str, topics: List[Dict[str, Any]]) -> str:
    """A topic reference matched more than one topic; the buttons (or numbers) choose."""
    lines = "\n".join(f"*{t['number']}.* {preview(t.get('question', ''), 150)}"
                      for t in topics[:CHOICES_LISTED])
    more = f"\n…and {len(topics) - CHOICES_LISTED} more." if len(topics) > CHOICES_LISTED else ""
    return (f"{count(len(topics), 'topic')} match “{preview(reference, 100)}”. Which one? "
            f"(Or reply with its number.)\n{lines}{more}")


def topic_choices(topics: List[Dict[str, Any]]) -> List[Dict[str, str]]:
    """One button per candidate topic (as many as fit next to Cancel)."""
    return [{"title": f"{t['number']}. {' '.join(str(t.get('question', '')).split())}",
             "payload": f'/choose_topic{{"topic_number": "{t["number"]}"}}'}
            for t in topics[:CHOICE_BUTTONS]] + [CANCEL_BUTTON]


WHICH_TOPIC = ("Which topic? Reply with its number from \"show my topics\", or a few words of "
               "its question.")
WHICH_TOPIC_BUTTONS = [{"title": "Show my topics", "payload": "/show_topics"}, CANCEL_BUTTON]

# --- a request in the middle of a form ------------------------------------------------------
FORM_ACTIVITIES = {
    "topic_form": "adding a topic",
    "delete_topic_form": "deleting a topic",
    "edit_answer_form": "editing an answer",
    "alternative_form": "adding another way to ask a question",
    "answer_question_form": "answering a question",
    "attach_question_form": "adding a question to a topic",
}


def _activity(form: str) -> str:
    return FORM_ACTIVITIES.get(form, "what we were doing")


def form_resumed(form: str) -> str:
    """A request was answered in the middle of a form, which goes on."""
    return f"Back to {_activity(form)} (say \"cancel\" to stop):"


def form_abandoned(form: str) -> str:
    """A request in the middle of a form ended it."""
    return f"OK, I stopped {_activity(form)}; nothing was saved."


# --- listing --------------------------------------------------------------------------------
LIST_EMPTY = "You have no topics yet. Add one?"
LIST_LEGEND = f"{PUBLISHED} published · {PENDING} pending (changed since the last publish)"


def list_summary(total: int, published: int) -> str:
    """First line of the topic list (also the notification text)."""
    pending = total - published
    return (f"You have {count(total, 'topic')}: {published} {PUBLISHED} published, "
            f"{pending} {PENDING} pending.")


def list_line(number: int, topic: Dict[str, Any]) -> str:
    """One topic in the list: state, number, question, count of alternatives."""
    icon = PUBLISHED if topic.get("state") == "published" else PENDING
    alternatives = len(topic.get("alternatives") or [])
    extra = f" _(+{count(alternatives, 'phrasing')})_" if alternatives else ""
    asked = asked_this_week(int(topic.get("asked_this_week") or 0))
    return f"{icon} *{number}.* {preview(topic.get('question', ''), 300)}{extra}{asked}"


def pending_deletions(number: int) -> str:
    """Deleted topics the live bot still answers."""
    return (f"🗑️ {count(number, 'deleted topic')} still answered by your live bot until the "
            "next publish.")


def list_continued(first: int, last: int) -> str:
    """Header of a continuation message for long lists."""
    return f"Your topics, continued ({first}–{last}):"


# --- publishing -----------------------------------------------------------------------------
def publishing_started(topic_count: Optional[int]) -> str:
    """A publish job was queued (`topic_count`: how many topics it publishes, if known)."""
    what = f" ({count(topic_count, 'topic')})" if topic_count is not None else ""
    return (f"Publishing started{what}. I'll tell you here when your bot is live, or why it "
            "failed.")


ALREADY_PUBLISHING = ("Nothing changed since the publish that is already under way; I'll tell "
                      "you here when your bot is live.")
NOTHING_CHANGED = "Nothing changed since your last publish: your bot is already up to date."
NOTHING_TO_PUBLISH = "You have no topics to publish yet. Add one first?"
PUBLISH_QUEUE_DOWN = ("Sorry, publishing could not start: the publish queue is unreachable. "
                      "Your live bot is unchanged; please try again in a few minutes.")

# --- ask @user --------------------------------------------------------------------------------
ASK_HOW = "To ask someone's bot, mention them: `ask @someone your question`."


def ask_needs_question(owner: str) -> str:
    """`ask @user` without a question."""
    return f"What would you like to ask {owner}? Try: `ask {owner} your question`."


def owner_says(owner: str, answer: str) -> str:
    """The owner's bot answered (`owner` is a mention or an escaped name)."""
    return f"{owner} says: {escape(answer)}"


def _noted(owner: str, noted: bool) -> str:
    return f" I've noted your question for {owner}." if noted else ""


def no_bot(owner: str, noted: bool) -> str:
    """The owner never published a bot."""
    return (f"{owner} hasn't published a FAQ bot yet, so I can't answer for them."
            f"{_noted(owner, noted)}")


def unknown_owner(owner: str) -> str:
    """The owner never used the concierge (nothing to record it against)."""
    return f"{owner} hasn't set up a FAQ bot yet, so I can't answer for them."


def bot_down(owner: str, noted: bool) -> str:
    """The owner's bot did not answer in time."""
    return (f"{owner}'s bot isn't responding right now.{_noted(owner, noted)} "
            "Please try again later, or ask them directly.")


def bot_does_not_know(owner: str, noted: bool) -> str:
    """The owner's bot answered with its fallback."""
    return f"{owner}'s bot doesn't know that one yet.{_noted(owner, noted)}"


# --- the learning loop: unanswered questions, feedback on answers (issue 11) ------------------
UNANSWERED_BUTTON = MAIN_BUTTONS[4]
NO_OPEN_QUESTIONS = ("No open questions: nobody asked your bot anything it could not answer "
                     "(or you have handled them all).")
QUESTION_CLOSED = ("That question is no longer open: it was answered, added to a topic or "
                   "dismissed already.")
QUESTION_TOO_LONG_FOR_TOPIC = ("That question is longer than a topic's question may be (300 "
                               "characters). Add a shorter topic for it with \"add a topic\".")
NO_TOPIC_TO_JOIN = "You have no topics yet, so there is none to add it to. Use *Answer it* instead."
RATE_LIMITED = ("You have asked this person's bot a lot in the last hour; please wait a while "
                "before asking or rating again.")
FEEDBACK_THANKS = "Thanks for telling me! :+1:"
FEEDBACK_UNKNOWN = ("Sorry, I no longer know which answer that was (only the person who asked "
                    "can rate an answer, within the hour). Ask again?")


def open_questions(shown: int, total: int) -> str:
    """Header of the open-question list."""
    more = f" Here are the {shown} newest." if shown < total else " Newest first:"
    return f"You have {count(total, 'open question')} your bot could not answer.{more}"


def open_question_line(question: Dict[str, Any]) -> str:
    """One open question: what was asked, by whom, and what the bot said if it was wrong."""
    line = (f"“{preview(question.get('question', ''), 300)}” asked by "
            f"<@{question.get('asker_user_id', '')}>")
    if question.get("kind") == "wrong_answer":
        line += (f"\n_Your bot answered “{preview(question.get('given_answer') or '', 300)}”; "
                 "they marked it unhelpful._")
    return line


def question_answered(question: str, askers: int) -> str:
    """A topic was made of a question."""
    who = "The person who asked" if askers == 1 else f"The {askers} people who asked"
    return (f"Saved “{preview(question, 300)}” as a new topic {PENDING}. {who} will get your "
            "answer in a DM once you publish.")


def question_attached(question: str, topic: str, askers: int) -> str:
    """A question became another phrasing of a topic."""
    who = "The person who asked" if askers == 1 else f"The {askers} people who asked"
    return (f"Added “{preview(question, 300)}” as another way to ask “{preview(topic, 300)}” "
            f"{PENDING}. {who} will get its answer in a DM once you publish.")


def question_dismissed(question: str, kind: str = "unanswered") -> str:
    """A question was dismissed; like an attached one, it reaches the bot with a publish.
    `kind`: `wrong_answer` when the bot had answered it (👎), else it had said it didn't know."""
    if kind == "wrong_answer":
        return (f"Dismissed “{preview(question, 300)}”. From your next publish, your bot will "
                "say it doesn't know questions like this one instead of giving that answer.")
    return (f"Dismissed “{preview(question, 300)}”: it is off your list, and your bot will "
            "go on saying it doesn't know questions like this one.")


def pick_topic_for(question: str) -> str:
    """Asks which topic a question should join; the numbered list follows."""
    return (f"Which topic should “{preview(question, 300)}” join? Reply with its number or a "
            "few words of its question:")


def told_owner_unhelpful(owner: str) -> str:
    """The asker marked an answer unhelpful; the owner will hear of it."""
    return f"Thanks: I've told {owner} that answer didn't help, so they can improve it."


def asked_this_week(count: int) -> str:
    """How often a topic was asked in the last 7 days, for the topic list ('' for never)."""
    if not count:
        return ""
    return " · asked once this week" if count == 1 else f" · asked {count} times this week"


# --- exporting the topics as a file in the DM (issue 13) -----------------------------------
EXPORT_NOT_SET_UP = ("Sorry, I can't share files here: the action server has no "
                     "SLACK_BOT_TOKEN. Your topics are unchanged.")
EXPORT_FAILED = ("Sorry, Slack did not take the file (the app may lack the files:write "
                 "scope). Your topics are unchanged; please try again later.")
NOTHING_TO_EXPORT = "You have no topics to export yet."


def export_title(count: int) -> str:
    """The title of the shared file."""
    return f"Your {count} topic{'' if count == 1 else 's'}"


def exported(count: int, file_format: str) -> str:
    """After the file was shared in the DM."""
    what = "Here is your topic" if count == 1 else f"Here are your {count} topics"
    return (f"{what} as a {file_format.upper()} file. Edit it and share it back in this DM "
            "to import the changes.")


# --- importing a file shared in the DM (issue 13) --------------------------------------------
# At most this many problems are listed; a file with more gets a count of the rest.
IMPORT_ERRORS_SHOWN = 10
IMPORT_TOPICS_NAMED = 10
IMPORT_BUTTONS_CANCEL = {"title": "Cancel", "payload": "/cancel"}
IMPORT_NOT_SET_UP = ("Sorry, I can't read shared files here: the action server has no "
                     "SLACK_BOT_TOKEN. Nothing was imported.")
IMPORT_UNAVAILABLE = ("Sorry, I couldn't read that file from Slack (only files you shared "
                      "yourself, in this DM, can be imported). Nothing was imported.")
IMPORT_NO_FILE = "I don't know which file to import any more. Please share it again."


def import_button(file_id: str) -> Dict[str, str]:
    """The Import button of a dry-run summary; the file id travels in its payload."""
    return {"title": "Import", "payload": f'/confirm_file_import{{"file_id": "{file_id}"}}'}


def import_unsupported(name: str) -> str:
    """A shared file that is neither CSV nor JSON."""
    return (f"I can import topics from a CSV or JSON file (as \"export\" writes it), but "
            f"“{preview(name, 200)}” is neither. Nothing was imported.")


def import_too_large(name: str, max_bytes: int) -> str:
    """A shared file above the cap."""
    return (f"“{preview(name, 200)}” is too big to import: at most {max_bytes // 1024:,} KB, "
            "please. Nothing was imported.")


def import_counts(report: Dict[str, Any]) -> str:
    """'3 topics to add, 1 to change, 0 unchanged' (or, after an import, 'added ...'): a
    report lists the topics of each kind."""
    added, changed, unchanged = (len(report.get(key) or []) for key in
                                 ("added", "changed", "unchanged"))
    noun = "topic" if added == 1 else "topics"
    if report.get("dry_run"):
        return f"{added} {noun} to add, {changed} to change, {unchanged} unchanged"
    return f"{added} {noun} added, {changed} changed, {unchanged} unchanged"


def import_preview(name: str, report: Dict[str, Any]) -> str:
    """A dry run's summary of a shared file that has no problems, naming the topics it would
    add, change or delete."""
    skipped = len(report.get("skipped") or [])
    note = f" ({skipped} deleted rows skipped)" if skipped else ""
    named = [_import_topics(heading, report.get(key) or []) for key, heading in
             (("added", "To add"), ("changed", "To change"), ("deleted", "To delete"))]
    return (f"In “{preview(name, 200)}”: {import_counts(report)}{note}."
            + "".join(part for part in named if part)
            + "\nImport it? Your other topics stay as they are.")


def _import_topics(heading: str, items: List[Dict[str, Any]]) -> str:
    """'\n*To add:* “A”, “B” … and 3 more' (the first IMPORT_TOPICS_NAMED), or nothing."""
    if not items:
        return ""
    names = ", ".join(f"“{preview(str(item.get('question') or ''), 80)}”"
                      for item in items[:IMPORT_TOPICS_NAMED])
    more = f" … and {len(items) - IMPORT_TOPICS_NAMED} more" if len(
        items) > IMPORT_TOPICS_NAMED else ""
    return f"\n*{heading}:* {names}{more}"


def import_problems(name: str, errors: List[Dict[str, Any]], count: Optional[int] = None) -> str:
    """The problems of a file that cannot be imported, each naming its row and field; `count`
    is how many there are in all (publish-api lists only the first ones)."""
    lines = [f"• {_where(error)}: {preview(str(error.get('message') or ''), 200)}"
             for error in errors[:IMPORT_ERRORS_SHOWN]]
    total = max(count or 0, len(errors))
    if total > IMPORT_ERRORS_SHOWN:
        lines.append(f"… and {total - IMPORT_ERRORS_SHOWN} more.")
    return (f"I can't import “{preview(name, 200)}”; nothing was imported. Please fix:\n"
            + "\n".join(lines))


def _where(error: Dict[str, Any]) -> str:
    where = "the file" if error.get("row") is None else f"row {error.get('row')}"
    field = error.get("field")
    return f"{where}, {preview(str(field), 60)}" if field else where


def import_unreadable(name: str, detail: str) -> str:
    """publish-api could not read the file at all (not JSON, not UTF-8 CSV, no header...)."""
    return (f"I can't read “{preview(name, 200)}” as a topics file ({preview(detail, 200)}). "
            "Nothing was imported.")


def imported(name: str, report: Dict[str, Any]) -> str:
    """The real import's result."""
    return (f"Imported “{preview(name, 200)}”: {import_counts(report)}. Say *publish* to make "
            "them live.")
