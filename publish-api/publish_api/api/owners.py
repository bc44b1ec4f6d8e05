"""Routes under /v1/users/<team_id>/<user_id>: the user, topics, publish, bot, questions and
the ask log."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from ..db import get_session
from ..schemas import (
    AlternativeIn,
    AnswerIn,
    AskIn,
    AttachIn,
    BotHealthIn,
    DailyQuery,
    ExportQuery,
    ImportQuery,
    TopicIn,
    TopicPage,
    TopicPatch,
    UnansweredIn,
    UnansweredQuery,
    UserIn,
)
from ..services import (
    asks,
    bots,
    digests,
    owners,
    publishing,
    topic_files,
    topics,
    transfer,
    unanswered,
)
from .auth import require_admin
from .requests import body, query, slack_ids, upload

bp = Blueprint("owners", __name__, url_prefix="/v1/users/<team_id>/<user_id>")
READERS_BY_TYPE = {"application/json": topic_files.read_json, "text/csv": topic_files.read_csv}


def _owner(team_id: str, user_id: str):
    return owners.get_owner(get_session(), *slack_ids(team_id, user_id))


def _settings():
    return current_app.config["SETTINGS"]


@bp.put("")
def put_user(team_id: str, user_id: str):
    data = body(UserIn)
    user, created = owners.upsert_user(
        get_session(), *slack_ids(team_id, user_id), data.display_name
    )
    return jsonify(user), 201 if created else 200


@bp.get("/topics")
def list_topics(team_id: str, user_id: str):
    page, owner = query(TopicPage), _owner(team_id, user_id)
    # The default page holds every topic an owner can have: clients that ignore paging see all.
    cap = _settings().MAX_TOPICS_PER_OWNER
    limit = min(page.limit or cap, cap)
    return jsonify(topics.list_topics(get_session(), owner, limit, page.cursor))


@bp.post("/topics")
def create_topic(team_id: str, user_id: str):
    data, owner = body(TopicIn), _owner(team_id, user_id)
    cap = _settings().MAX_TOPICS_PER_OWNER
    return jsonify(topics.create_topic(get_session(), owner, data, cap)), 201


@bp.delete("/topics")
def delete_all_topics(team_id: str, user_id: str):
    return jsonify({"deleted": topics.delete_all(get_session(), _owner(team_id, user_id))})


@bp.get("/topics/export")
def export_topics(team_id: str, user_id: str):
    options, owner = query(ExportQuery), _owner(team_id, user_id)
    records = transfer.export_topics(get_session(), owner)
    if options.format == "json":
        return jsonify(topic_files.to_json(records))
    filename = f"topics-{team_id}-{user_id}.csv"
    return Response(topic_files.to_csv(records), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.post("/topics/import")
def import_topics(team_id: str, user_id: str):
    options, owner = query(ImportQuery), _owner(team_id, user_id)
    if options.mode == "replace":
        require_admin("replace an owner's topics (mode=replace; mode=merge adds and changes)",
                      "mode")
    media_type, data = upload(_settings().MAX_IMPORT_BYTES, tuple(READERS_BY_TYPE))
    cap = _settings().MAX_TOPICS_PER_OWNER
    file = READERS_BY_TYPE[media_type](data, cap)
    return jsonify(transfer.import_topics(get_session(), owner, file, options, cap))


@bp.get("/topics/<int:topic_id>")
def get_topic(team_id: str, user_id: str, topic_id: int):
    return jsonify(topics.get_topic(get_session(), _owner(team_id, user_id), topic_id))


@bp.patch("/topics/<int:topic_id>")
def update_topic(team_id: str, user_id: str, topic_id: int):
    patch, owner = body(TopicPatch), _owner(team_id, user_id)
    return jsonify(topics.update_topic(get_session(), owner, topic_id, patch))


@bp.delete("/topics/<int:topic_id>")
def delete_topic(team_id: str, user_id: str, topic_id: int):
    topics.delete_topic(get_session(), _owner(team_id, user_id), topic_id)
    return "", 204


@bp.post("/topics/<int:topic_id>/alternatives")
def add_alternative(team_id: str, user_id: str, topic_id: int):
    data, owner = body(AlternativeIn), _owner(team_id, user_id)
    return jsonify(topics.add_alternative(get_session(), owner, topic_id, data.text)), 201


@bp.post("/publish")
def publish(team_id: str, user_id: str):
    queue, policy = current_app.extensions["publish_queue"], current_app.extensions["job_policy"]
    job, created = publishing.publish(get_session(), _owner(team_id, user_id), queue, policy)
    return jsonify({"job": job}), 202 if created else 200


@bp.get("/bot")
def get_bot(team_id: str, user_id: str):
    return jsonify(bots.get_bot(get_session(), _owner(team_id, user_id)))


@bp.put("/bot/health")
def put_bot_health(team_id: str, user_id: str):
    data, owner = body(BotHealthIn), _owner(team_id, user_id)
    return jsonify(bots.set_health(get_session(), owner, data.health, data.error))


@bp.post("/unanswered")
def record_unanswered(team_id: str, user_id: str):
    data, owner, config = body(UnansweredIn), _owner(team_id, user_id), _settings()
    item, created = unanswered.record(get_session(), owner, data,
                                      config.MAX_OPEN_QUESTIONS_PER_OWNER,
                                      config.ASKS_PER_ASKER_PER_HOUR)
    if created:
        digests.announce(get_session(), owner, current_app.extensions["publish_queue"],
                         current_app.extensions["digest_policy"])
    return jsonify(item), 201 if created else 200


@bp.get("/unanswered")
def list_unanswered(team_id: str, user_id: str):
    state, owner = query(UnansweredQuery).state, _owner(team_id, user_id)
    return jsonify(unanswered.list_for(get_session(), owner, state))


@bp.post("/unanswered/<int:question_id>/answer")
def answer_question(team_id: str, user_id: str, question_id: int):
    data, owner = body(AnswerIn), _owner(team_id, user_id)
    cap = _settings().MAX_TOPICS_PER_OWNER
    return jsonify(unanswered.answer(get_session(), owner, question_id, data.answer, cap))


@bp.post("/unanswered/<int:question_id>/attach")
def attach_question(team_id: str, user_id: str, question_id: int):
    data, owner = body(AttachIn), _owner(team_id, user_id)
    return jsonify(unanswered.attach(get_session(), owner, question_id, data.topic_id))


@bp.post("/unanswered/<int:question_id>/dismiss")
def dismiss_question(team_id: str, user_id: str, question_id: int):
    return jsonify(unanswered.dismiss(get_session(), _owner(team_id, user_id), question_id))


@bp.post("/unanswered/digest")
def claim_digest(team_id: str, user_id: str):
    policy = current_app.extensions["digest_policy"]
    return jsonify(digests.claim(get_session(), _owner(team_id, user_id), policy))


@bp.post("/asks")
def record_ask(team_id: str, user_id: str):
    data, owner = body(AskIn), _owner(team_id, user_id)
    per_hour = _settings().ASKS_PER_ASKER_PER_HOUR
    return jsonify(asks.record_answered(get_session(), owner, data, per_hour)), 201


@bp.get("/asks/daily")
def daily_asks(team_id: str, user_id: str):
    days, owner = query(DailyQuery).days, _owner(team_id, user_id)
    return jsonify(asks.daily(get_session(), owner, days))
