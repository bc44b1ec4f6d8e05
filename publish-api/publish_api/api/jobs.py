"""Routes for the broker: jobs, their transitions, and the versions they build."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from ..db import get_session
from ..schemas import TransitionIn
from ..services import deliveries, publishing
from .requests import body

bp = Blueprint("jobs", __name__, url_prefix="/v1")


@bp.get("/jobs/<int:job_id>")
def get_job(job_id: int):
    return jsonify(publishing.get_job(get_session(), job_id))


@bp.post("/jobs/<int:job_id>/transitions")
def transition(job_id: int):
    change = body(TransitionIn)
    policy = current_app.extensions["job_policy"]
    return jsonify(publishing.transition(get_session(), job_id, change, policy))


@bp.post("/jobs/sweep")
def sweep():
    extensions = current_app.extensions
    return jsonify(publishing.sweep(get_session(), extensions["publish_queue"],
                                    extensions["job_policy"]))


@bp.get("/versions/<int:version_id>")
def get_version(version_id: int):
    return jsonify(publishing.get_version(get_session(), version_id))


@bp.get("/jobs/<int:job_id>/deliveries")
def list_deliveries(job_id: int):
    return jsonify(deliveries.due(get_session(), job_id))


@bp.post("/jobs/<int:job_id>/deliveries/<int:question_id>")
def mark_delivered(job_id: int, question_id: int):
    deliveries.mark_delivered(get_session(), job_id, question_id)
    return "", 204
