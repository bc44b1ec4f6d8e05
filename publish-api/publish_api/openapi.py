"""The OpenAPI 3.1 document of publish-api, built from the pydantic schemas."""

from __future__ import annotations

from functools import cache

from pydantic.json_schema import models_json_schema

from . import schemas as s

OWNER = "/v1/users/{team_id}/{user_id}"
JSON_ERRORS = {
    "400": "malformed JSON",
    "401": "missing or wrong token",
    "404": "unknown id",
    "409": "conflict",
    "413": "too large",
    "422": "invalid field",
}
DESCRIPTIONS = {
    **JSON_ERRORS,
    "410": "no longer kept",
    "415": "a body of another media type",
    "429": "too many asks from this person to this owner (see Retry-After)",
    "503": "the queue is unreachable",
}
# Routes that also speak CSV (services/topic_files.py): the export's answer, the import's body.
CSV = {"text/csv": {"schema": {"type": "string"}}}
CSV_RESPONSES = {("get", f"{OWNER}/topics/export")}
CSV_REQUESTS = {("post", f"{OWNER}/topics/import")}

# (method, path, summary, request body model, {status: response model or None})
OPERATIONS = [
    ("put", OWNER, "Create or update a user", s.UserIn, {"200": s.UserOut, "201": s.UserOut}),
    ("get", f"{OWNER}/topics", "List an owner's topics", None, {"200": s.TopicList}),
    ("post", f"{OWNER}/topics", "Create a topic", s.TopicIn, {"201": s.TopicOut}),
    ("delete", f"{OWNER}/topics", "Delete every topic", None, {"200": s.Deleted}),
    (
        "get",
        f"{OWNER}/topics/export",
        "Export an owner's topics with their states (JSON, or CSV with ?format=csv)",
        None,
        {"200": s.TopicsFile},
    ),
    (
        "post",
        f"{OWNER}/topics/import",
        "Import topics from a JSON or CSV file (all or nothing; ?dry_run=true reports only)",
        s.TopicsFileIn,
        {"200": s.ImportReport, "415": s.ErrorOut},
    ),
    ("get", f"{OWNER}/topics/{{topic_id}}", "Read a topic", None, {"200": s.TopicOut}),
    ("patch", f"{OWNER}/topics/{{topic_id}}", "Change a topic", s.TopicPatch, {"200": s.TopicOut}),
    ("delete", f"{OWNER}/topics/{{topic_id}}", "Delete a topic", None, {"204": None}),
    (
        "post",
        f"{OWNER}/topics/{{topic_id}}/alternatives",
        "Add an alternative phrasing",
        s.AlternativeIn,
        {"201": s.TopicOut},
    ),
    (
        "post",
        f"{OWNER}/publish",
        "Publish the owner's topics",
        None,
        {"200": s.JobEnvelope, "202": s.JobEnvelope, "503": s.ErrorOut},
    ),
    ("get", f"{OWNER}/bot", "Read the owner's bot", None, {"200": s.BotOut}),
    ("put", f"{OWNER}/bot/health", "Record the bot's health", s.BotHealthIn, {"200": s.BotOut}),
    (
        "post",
        f"{OWNER}/unanswered",
        "Record an unanswered question (200: the same person's same open question)",
        s.UnansweredIn,
        {"200": s.UnansweredOut, "201": s.UnansweredOut, "429": s.ErrorOut},
    ),
    ("get", f"{OWNER}/unanswered", "List unanswered questions", None, {"200": s.UnansweredList}),
    (
        "post",
        f"{OWNER}/unanswered/{{question_id}}/answer",
        "Make a topic of an open question",
        s.AnswerIn,
        {"200": s.ResolvedOut},
    ),
    (
        "post",
        f"{OWNER}/unanswered/{{question_id}}/attach",
        "Add an open question to a topic as another phrasing",
        s.AttachIn,
        {"200": s.ResolvedOut},
    ),
    (
        "post",
        f"{OWNER}/unanswered/{{question_id}}/dismiss",
        "Dismiss an open question",
        None,
        {"200": s.ResolvedOut},
    ),
    (
        "post",
        f"{OWNER}/unanswered/digest",
        "Claim the questions of the owner's digest (broker)",
        None,
        {"200": s.DigestOut},
    ),
    (
        "post",
        f"{OWNER}/asks",
        "Log an ask the bot answered",
        s.AskIn,
        {"201": s.AskOut, "429": s.ErrorOut},
    ),
    ("get", f"{OWNER}/asks/daily", "Asks per UTC day", None, {"200": s.DailyAsks}),
    ("get", "/v1/jobs/{job_id}", "Read a publish job", None, {"200": s.JobOut}),
    (
        "post",
        "/v1/jobs/sweep",
        "Fail jobs whose lease expired, resend stale queued ones (broker)",
        None,
        {"200": s.SweepOut},
    ),
    (
        "post",
        "/v1/jobs/{job_id}/transitions",
        "Move a job to its next state (broker)",
        s.TransitionIn,
        {"200": s.JobOut},
    ),
    (
        "get",
        "/v1/jobs/{job_id}/deliveries",
        "Answers a live job owes to askers (broker)",
        None,
        {"200": s.DeliveryList},
    ),
    (
        "post",
        "/v1/jobs/{job_id}/deliveries/{question_id}",
        "Record that an asker was sent the answer (broker)",
        None,
        {"204": None},
    ),
    (
        "get",
        "/v1/versions/{version_id}",
        "Read a published version (410 once its snapshot was pruned)",
        None,
        {"200": s.VersionOut, "410": s.ErrorOut},
    ),
]
# Query parameters, by (method, path).
QUERY_PARAMETERS = {
    ("get", f"{OWNER}/unanswered"): [
        {
            "name": "state",
            "in": "query",
            "required": False,
            "description": "only questions in this state (default: every state)",
            "schema": {"type": "string", "enum": ["open", "answered", "attached", "dismissed"]},
        },
    ],
    ("get", f"{OWNER}/asks/daily"): [
        {
            "name": "days",
            "in": "query",
            "required": False,
            "description": "how many days, ending today (UTC); default 14",
            "schema": {"type": "integer", "minimum": 1, "maximum": 90},
        },
    ],
    ("get", f"{OWNER}/topics"): [
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "description": "page size; default and maximum: MAX_TOPICS_PER_OWNER",
            "schema": {"type": "integer", "minimum": 1},
        },
        {
            "name": "cursor",
            "in": "query",
            "required": False,
            "description": "next_cursor of the previous page",
            "schema": {"type": "string", "pattern": "^[1-9][0-9]{0,8}$"},
        },
    ],
    ("get", f"{OWNER}/topics/export"): [
        {
            "name": "format",
            "in": "query",
            "required": False,
            "description": "json (default) or csv",
            "schema": {"type": "string", "enum": ["json", "csv"]},
        },
    ],
    ("post", f"{OWNER}/topics/import"): [
        {
            "name": "mode",
            "in": "query",
            "required": False,
            "description": "merge (default): topics absent from the file are kept; replace: "
            "they are deleted",
            "schema": {"type": "string", "enum": ["merge", "replace"]},
        },
        {
            "name": "dry_run",
            "in": "query",
            "required": False,
            "description": "true: report what the import would do, change nothing",
            "schema": {"type": "boolean"},
        },
    ],
}
MODELS = sorted(
    {m for op in OPERATIONS for m in [op[3], *op[4].values()] if m} | {s.ErrorOut, s.HealthOut},
    key=lambda m: m.__name__,
)


@cache
def openapi_document() -> dict:
    """The whole document (built once per process)."""
    refs, definitions = models_json_schema(
        [(m, _mode(m)) for m in MODELS], ref_template="#/components/schemas/{model}"
    )
    paths: dict = {}
    for method, path, summary, request_model, responses in OPERATIONS:
        operation = _operation(path, summary, request_model, responses, refs)
        operation["parameters"] += QUERY_PARAMETERS.get((method, path), [])
        _add_csv(operation, (method, path))
        paths.setdefault(path, {})[method] = operation
    paths["/health"] = {"get": _health_operation(refs)}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "publish-api",
            "version": "1.0.0",
            "description": "Users, topics, publish jobs and bots of the Slack FAQ assistant.",
        },
        "paths": paths,
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }


def _mode(model) -> str:
    return "validation" if model.__name__.endswith(("In", "Patch")) else "serialization"


def _operation(path, summary, request_model, responses, refs) -> dict:
    operation = {
        "summary": summary,
        "parameters": _path_parameters(path),
        "responses": {
            status: _response(model, refs, DESCRIPTIONS.get(status, "success"))
            for status, model in responses.items()
        },
    }
    for status, description in JSON_ERRORS.items():
        operation["responses"].setdefault(status, _response(s.ErrorOut, refs, description))
    if request_model is not None:
        schema = refs[(request_model, "validation")]
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": schema}},
        }
    return operation


def _add_csv(operation: dict, key: tuple[str, str]) -> None:
    if key in CSV_RESPONSES:
        operation["responses"]["200"]["content"].update(CSV)
    if key in CSV_REQUESTS:
        operation["requestBody"]["content"].update(CSV)


def _response(model, refs, description: str = "success") -> dict:
    if model is None:
        return {"description": "no content"}
    schema = refs[(model, _mode(model))]
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _path_parameters(path: str) -> list[dict]:
    parameters = []
    for name in ("team_id", "user_id"):
        if "{" + name + "}" in path:
            parameters.append(
                {
                    "name": name,
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "pattern": s.SLACK_ID_PATTERN},
                }
            )
    for name in ("topic_id", "job_id", "version_id", "question_id"):
        if "{" + name + "}" in path:
            parameters.append(
                {
                    "name": name,
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 1},
                }
            )
    return parameters


def _health_operation(refs) -> dict:
    body = {"content": {"application/json": {"schema": refs[(s.HealthOut, "serialization")]}}}
    return {
        "summary": "Database and queue reachable (no token needed)",
        "security": [],
        "responses": {
            "200": {"description": "healthy", **body},
            "503": {"description": "a dependency is unreachable", **body},
        },
    }
