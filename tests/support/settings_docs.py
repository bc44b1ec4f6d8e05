"""README's settings tables ("## Configuration", one table per service) and the .env.sample
files, read as the tests that keep them true to the settings classes need them."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
_ROW = re.compile(r"^\|([^|]*)\|")
_VARIABLE = re.compile(r"`([A-Z][A-Z0-9_]*)`")


def documented_settings(section: str) -> set[str]:
    """The variables named in the first column of the table under the README heading
    `### <section>...` (in "## Configuration"). Raises LookupError if there is none."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    configuration = text.split("\n## Configuration\n", 1)[-1].split("\n## ", 1)[0]
    for block in configuration.split("\n### ")[1:]:
        title, _, body = block.partition("\n")
        if title.startswith(section):
            rows = [_ROW.match(line) for line in body.splitlines() if line.startswith("|")]
            # rows[0] and rows[1]: the header and its rule
            return {name for row in rows[2:] if row for name in _VARIABLE.findall(row[1])}
    raise LookupError(f"README has no settings table '### {section}'")


def sample_settings(path: str) -> set[str]:
    """The variables an .env.sample file sets (commented-out lines included)."""
    lines = (REPO / path).read_text(encoding="utf-8").splitlines()
    return {match[1] for line in lines if (match := re.match(r"^#? ?([A-Z][A-Z0-9_]*)=", line))}
