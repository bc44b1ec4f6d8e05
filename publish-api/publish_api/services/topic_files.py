"""Topic files: an owner's topics as JSON or CSV, written for export and read back for import.

JSON: `{"topics": [{"question", "answer", "alternatives": [...], "state"}]}`. CSV: a header row
`question,answer,state,alternative_1,...,alternative_N`, then one topic per row (empty
alternative cells are ignored). Reading validates every row with the rules of topic creation and
keeps every problem it finds, so a report can name all the rows and fields at once, in words
for people (not the validation library's). A file with more rows than an owner may have topics
is refused before any row is validated: its report is one line, however large the file.

A CSV cell that a spreadsheet would run as a formula (it starts with = + - @, a tab or a carriage
return) is written with a leading apostrophe, which reading removes again: an exported file opens
safely in a spreadsheet and imports back unchanged.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field

from pydantic import ValidationError

from ..errors import MalformedRequest
from ..schemas import TopicRecord

FIXED_COLUMNS = ("question", "answer", "state")
ALTERNATIVE_COLUMN = re.compile(r"alternative_([1-9][0-9]?)")
# One or more apostrophes before a formula's first character: the written form gets one more.
_FORMULA = re.compile(r"'*[=+\-@\t\r]")


@dataclass(frozen=True)
class Problem:
    """What is wrong in a file: the row (JSON: 1-based position in `topics`; CSV: the row
    number a spreadsheet shows, the header being row 1), the field or column, and why."""

    row: int | None
    field: str | None
    message: str

    def view(self) -> dict:
        return {"row": self.row, "field": self.field, "message": self.message}


@dataclass
class TopicFile:
    """A file read for import: its valid rows as (row number, record), and its problems."""

    rows: list[tuple[int, TopicRecord]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    row_count: int = 0


def too_many_rows(row_count: int, max_rows: int) -> TopicFile:
    return TopicFile(row_count=row_count, problems=[Problem(None, "topics", (
        f"the file has {row_count} topics, and an owner can have at most {max_rows}: "
        "nothing in it was checked"))])


def to_json(records: list[dict]) -> dict:
    return {"topics": records}


def to_csv(records: list[dict]) -> str:
    """The records as CSV text, with as many alternative columns as the longest list needs."""
    width = max((len(r["alternatives"]) for r in records), default=0) or 1
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*FIXED_COLUMNS, *(f"alternative_{i}" for i in range(1, width + 1))])
    for record in records:
        cells = [record["question"], record["answer"], record["state"], *record["alternatives"]]
        writer.writerow([_guard(cell) for cell in cells])
    return out.getvalue()


def read_json(data: bytes, max_rows: int) -> TopicFile:
    """The file's rows, validated unless there are more than `max_rows`.

    Raises MalformedRequest when `data` is not a JSON object with a `topics` list.
    """
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        raise MalformedRequest("the file is not JSON", "file") from None
    if not isinstance(document, dict) or not isinstance(document.get("topics"), list):
        raise MalformedRequest('the file must be a JSON object {"topics": [...]}', "file")
    extra = sorted(set(document) - {"topics"})
    if extra:
        raise MalformedRequest(f"unknown key {extra[0]!r} beside topics", "file")
    if len(document["topics"]) > max_rows:
        return too_many_rows(len(document["topics"]), max_rows)
    return _validated((n, row, None) for n, row in enumerate(document["topics"], start=1))


def read_csv(data: bytes, max_rows: int) -> TopicFile:
    """The file's rows, validated unless there are more than `max_rows` (blank rows aside).

    Raises MalformedRequest when `data` is not UTF-8 CSV text.
    """
    try:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), strict=True))
    except UnicodeDecodeError:
        raise MalformedRequest("the CSV file is not UTF-8 text", "file") from None
    except csv.Error as exc:
        raise MalformedRequest(f"the CSV file cannot be read: {exc}", "file") from None
    if not rows:
        raise MalformedRequest("the CSV file is empty: it needs a header row", "file")
    columns, problems = _columns(rows[0])
    if problems:
        return TopicFile(problems=problems)
    numbered = [(n, cells) for n, cells in enumerate(rows, start=1)
                if n > 1 and any(cell.strip() for cell in cells)]
    if len(numbered) > max_rows:
        return too_many_rows(len(numbered), max_rows)
    return _validated(_record(columns, cells, n) for n, cells in numbered)


def _columns(header: list[str]) -> tuple[list[str], list[Problem]]:
    names = [name.strip().lower() for name in header]
    problems = [Problem(1, name, f"the header needs a {name} column")
                for name in ("question", "answer") if name not in names]
    for name in names:
        if name not in FIXED_COLUMNS and not ALTERNATIVE_COLUMN.fullmatch(name):
            problems.append(Problem(1, name or None, f"unknown column {name!r}: expected "
                                    "question, answer, state and alternative_1, alternative_2..."))
    duplicates = sorted({name for name in names if names.count(name) > 1})
    problems += [Problem(1, name, f"the column {name} appears twice") for name in duplicates]
    return names, problems


def _record(columns: list[str], cells: list[str], number: int) -> tuple[int, dict | None, list]:
    """(row number, the row as a topic, the column of each of its alternatives); None as the
    topic when the row has more cells than the header."""
    if len(cells) > len(columns):
        return number, None, []
    # A short row (a spreadsheet drops trailing empty cells) leaves its last columns empty.
    values = dict(zip(columns, (_unguard(cell) for cell in cells), strict=False))
    alternatives = sorted((int(ALTERNATIVE_COLUMN.fullmatch(c).group(1)), c) for c in values
                          if c.startswith("alternative_") and values[c].strip())
    record = {
        "question": values.get("question", ""),
        "answer": values.get("answer", ""),
        "alternatives": [values[column] for _i, column in alternatives],
    }
    if values.get("state", "").strip():
        record["state"] = values["state"].strip()
    return number, record, [column for _i, column in alternatives]


def _validated(numbered_rows) -> TopicFile:
    """Each (row number, row, alternative columns or None for JSON) validated as a topic."""
    result = TopicFile()
    for number, row, columns in numbered_rows:
        result.row_count += 1
        if row is None:
            result.problems.append(Problem(number, None, "more cells than the header has columns"))
            continue
        try:
            result.rows.append((number, TopicRecord.model_validate(row)))
        except ValidationError as exc:
            result.problems += [Problem(number, _field(error["loc"], columns), _message(error))
                                for error in exc.errors()]
    return result


def _message(error: dict) -> str:
    """What is wrong, in words for the owner reading the report."""
    what, ctx = _what(error["loc"]), error.get("ctx") or {}
    kind = error["type"]
    if kind == "model_type":
        return "a topic must be an object with question and answer"
    if kind == "missing":
        return f"{what} is missing"
    if kind == "string_too_short":
        return f"{what} is empty"
    if kind == "string_too_long":
        return f"{what} is too long: at most {ctx.get('max_length')} characters"
    if kind == "too_long":
        return f"{what} are too many: at most {ctx.get('max_length')}"
    if kind in ("string_type", "list_type"):
        return f"{what} must be {'a list of texts' if kind == 'list_type' else 'text'}"
    if kind == "literal_error":
        return f"{what} must be one of {ctx.get('expected')}"
    if kind == "extra_forbidden":
        return f"unknown field {str(error['loc'][-1])!r}: a topic has question, answer, " \
               "alternatives and state"
    if kind == "value_error":
        return f"{what} {ctx.get('error', error['msg'])}"
    return error["msg"]


def _what(loc: tuple) -> str:
    if len(loc) == 2 and loc[0] == "alternatives":
        return f"alternative {loc[1] + 1}"
    return {"question": "the question", "answer": "the answer", "alternatives": "alternatives",
            "state": "the state"}.get(loc[0] if loc else "", "the topic")


def _field(loc: tuple, columns: list[str] | None) -> str | None:
    """The field as the file names it: `alternatives.2` in JSON, its column in CSV."""
    if columns is not None and len(loc) == 2 and loc[0] == "alternatives":
        return columns[loc[1]]
    return ".".join(str(part) for part in loc) or None


def _guard(cell: str) -> str:
    return "'" + cell if _FORMULA.match(cell) else cell


def _unguard(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and _FORMULA.match(cell) else cell
