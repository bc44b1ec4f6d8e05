"""How every benchmark ends: its result as JSON, shown on stdout and written where `--json` says.

Imported as `results` (a script's own folder is first on its path; the modules tests import put
bench/ there too).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

_ALL = object()


def write(result: Any, path: Path | None, *, shown: Any = _ALL, indent: int = 2) -> None:
    """Print `shown` (default: the whole result; None: nothing) as JSON, and write `result` to
    `path` (its folder made if missing) unless `path` is None. Raises OSError."""
    if shown is not None:
        print(json.dumps(result if shown is _ALL else shown, indent=2))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=indent) + "\n", encoding="utf-8")
