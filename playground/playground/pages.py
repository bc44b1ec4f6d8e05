"""The page: one person's view of the workspace (`/as/<user>/<channel>`), and its htmx parts.

Handlers stay thin: chat.py turns typing and clicks into Slack requests, owners.py reads
publish-api, render.py and chart.py shape what the templates show. A refused request (empty
text, a name taken...) answers 422 with a message the page shows in its notice area.
"""

from __future__ import annotations

import io

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_file,
)
from werkzeug.wrappers import Response as WerkzeugResponse

from . import chart, chat, render
from .owners import OwnersError
from .workspace import GENERAL, Person, Workspace, WorkspaceError

bp = Blueprint("pages", __name__)


def _ws() -> Workspace:
    return current_app.extensions["workspace"]


def _person(user_id: str) -> Person:
    try:
        return _ws().person(user_id)
    except WorkspaceError:
        abort(404, f"No one has the id {user_id}.")


def _channel(person: Person, channel: str) -> str:
    if channel not in (person.dm, GENERAL):
        abort(404, "You see your DM with the concierge and #general.")
    return channel


@bp.errorhandler(WorkspaceError)
def _refused(exc: WorkspaceError):
    # htmx shows a 422 in the notice area (the page's htmx-config swaps 422, retargeted here).
    return Response(render_template("_notice.html", text=str(exc)), status=422,
                    headers={"HX-Retarget": "#notice", "HX-Reswap": "innerHTML"})


@bp.get("/")
def home() -> WerkzeugResponse:
    first = next(iter(_ws().people.values()), None)
    if first is None:
        return redirect("/welcome")
    return redirect(f"/as/{first.user_id}/{first.dm}")


@bp.get("/welcome")
def welcome() -> str:
    return render_template("welcome.html")


@bp.get("/as/<user_id>")
def person_home(user_id: str) -> WerkzeugResponse:
    return redirect(f"/as/{user_id}/{_person(user_id).dm}")


@bp.get("/as/<user_id>/<channel>")
def workspace(user_id: str, channel: str) -> str:
    person = _person(user_id)
    return render_template("workspace.html", **_channel_context(person, _channel(person, channel)))


@bp.get("/as/<user_id>/<channel>/messages")
def messages(user_id: str, channel: str):
    person = _person(user_id)
    channel = _channel(person, channel)
    if request.args.get("seen") == str(_ws().version):
        return Response(status=204)  # nothing new: htmx keeps what it shows
    return render_template("_messages.html", **_channel_context(person, channel))


@bp.post("/as/<user_id>/<channel>/messages")
def say(user_id: str, channel: str) -> str:
    person = _person(user_id)
    channel = _channel(person, channel)
    chat.say(_ws(), current_app.extensions["concierge"], person, channel,
             request.form.get("text", ""))
    return render_template("_messages.html", **_channel_context(person, channel))


@bp.post("/as/<user_id>/<channel>/click")
def click(user_id: str, channel: str) -> str:
    person = _person(user_id)
    channel = _channel(person, channel)
    chat.click(_ws(), current_app.extensions["concierge"], person, channel,
               request.form.get("ts", ""), request.form.get("block_id", ""),
               request.form.get("action_id", ""))
    return render_template("_messages.html", **_channel_context(person, channel))


@bp.post("/people")
def add_person() -> Response:
    person = _ws().add_person(request.form.get("name", ""))
    # A full page load as the new person (htmx follows HX-Redirect).
    return Response(status=204, headers={"HX-Redirect": f"/as/{person.user_id}/{person.dm}"})


@bp.get("/as/<user_id>/panel")
def panel(user_id: str) -> str:
    viewer, ws = _person(user_id), _ws()
    owners, error = [], None
    for person in list(ws.people.values()):
        try:
            view = current_app.extensions["owners"].view(ws.team_id, person.user_id)
        except OwnersError as exc:
            error = str(exc)
            break
        owners.append({"person": person, "view": view,
                       "bars": chart.bars(view.days or [])})
    return render_template("_panel.html", viewer=viewer, owners=owners, error=error,
                           chart_width=chart.WIDTH, chart_height=chart.HEIGHT,
                           label_height=chart.LABEL_HEIGHT)


@bp.get("/as/<user_id>/topics.<file_format>")
def export_topics(user_id: str, file_format: str) -> Response:
    person = _person(user_id)
    if file_format not in ("json", "csv"):
        abort(404, "Topics export as .json or .csv.")
    try:
        exported = current_app.extensions["owners"].export(_ws().team_id, person.user_id,
                                                           file_format)
    except OwnersError as exc:
        abort(502, str(exc))
    name = f"topics-{person.handle}.{file_format}"
    return Response(exported.content, mimetype=exported.headers.get("Content-Type"),
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/as/<user_id>/files/<file_id>")
def shared_file(user_id: str, file_id: str) -> Response:
    """A file the concierge shared where this person can see it (an export in their DM)."""
    try:
        upload = _ws().shared_file(file_id, _person(user_id).user_id)
    except WorkspaceError as exc:
        abort(404, str(exc))
    return send_file(io.BytesIO(upload.content or b""), as_attachment=True,
                     download_name=upload.name, mimetype="application/octet-stream")


@bp.post("/as/<user_id>/topics/import")
def import_topics(user_id: str) -> str:
    """The file's dry run ("Preview") or its import ("Import"), as publish-api reports it."""
    person, upload = _person(user_id), request.files.get("file")
    if upload is None or not upload.filename:
        raise WorkspaceError("no_file", "Choose a topic file (.csv or .json) first.")
    dry_run = request.form.get("action") != "import"
    try:
        report = current_app.extensions["owners"].import_file(
            _ws().team_id, person.user_id, upload.read(), upload.filename, dry_run)
    except OwnersError as exc:
        raise WorkspaceError("import_failed", str(exc)) from None
    return render_template("_import_report.html", report=report, file_name=upload.filename)


def _channel_context(person: Person, channel: str) -> dict:
    ws = _ws()
    return {"ws": ws, "me": person, "channel": channel, "version": ws.version,
            "messages": ws.visible(channel, person.user_id), "people": list(ws.people.values()),
            "mrkdwn": lambda text: render.mrkdwn(ws, text), "parts": render.parts,
            "general": GENERAL, "max_typed": chat.MAX_TYPED}
