"""A small stacked bar chart of asks per day (answered, unanswered), drawn as inline SVG.

Only numbers come out of here; the template draws the rectangles and escapes the labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List

WIDTH, HEIGHT, LABEL_HEIGHT = 210, 70, 14


@dataclass(frozen=True)
class Bar:
    """One day: x, width, and the heights/tops of its answered and unanswered parts."""

    label: str
    x: float
    width: float
    answered: int
    unanswered: int
    answered_top: float
    answered_height: float
    unanswered_top: float
    unanswered_height: float


def bars(days: List[Dict[str, Any]]) -> List[Bar]:
    """The bars for publish-api's `days` (oldest first), scaled to the busiest day."""
    if not days:
        return []
    peak = max(max(_count(d, "answered") + _count(d, "unanswered") for d in days), 1)
    slot = WIDTH / len(days)
    out = []
    for index, day in enumerate(days):
        answered, unanswered = _count(day, "answered"), _count(day, "unanswered")
        answered_height = HEIGHT * answered / peak
        unanswered_height = HEIGHT * unanswered / peak
        answered_top = HEIGHT - answered_height
        out.append(Bar(str(day.get("date", ""))[5:], index * slot + 2, slot - 4, answered,
                       unanswered, answered_top, answered_height,
                       answered_top - unanswered_height, unanswered_height))
    return out


def _count(day: Dict[str, Any], key: str) -> int:
    value = day.get(key)
    return value if isinstance(value, int) and value >= 0 else 0
